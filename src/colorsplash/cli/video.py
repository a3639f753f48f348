"""``colorsplash video INPUT -o OUTPUT [splash options] [--no-smooth] [--model PATH]``.

Parses arguments and calls :func:`colorsplash.runtime.video.splash_video`; errors reach the user as one line via
:func:`colorsplash.cli`.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from colorsplash.cli.common import add_runtime_arguments
from colorsplash.runtime.options import add_arguments, options_from_namespace

log = logging.getLogger(__name__)


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "video", help="colour splash for a video clip (audio kept, alpha smoothed over time)",
        description="Splash every frame of a clip: same size, frame rate and frame count; the audio track is "
                    "copied. Output formats: .mp4 .m4v .mov .mkv (H.264), .webm (VP9), .avi (MPEG-4).")
    parser.add_argument("input", type=Path, metavar="INPUT", help="video file to read (never modified)")
    parser.add_argument("-o", "--output", type=Path, required=True, metavar="OUTPUT",
                        help="video file to write (replaced if it exists; must differ from INPUT)")
    parser.add_argument("--model", type=Path, default=None, metavar="PATH",
                        help="ONNX model file (default: $COLORSPLASH_MODEL or the bundled pet model)")
    parser.add_argument("--no-smooth", dest="smooth", action="store_false",
                        help="no temporal smoothing: each frame's alpha on its own (flickers more)")
    add_runtime_arguments(parser)
    add_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # Imported here so `colorsplash --help` stays fast and works without the video extra installed.
    from colorsplash.runtime.onnx_model import load_model
    from colorsplash.runtime.video import splash_video

    model = load_model(args.model, precision=args.precision, device=args.device)
    result = splash_video(args.input, args.output, model=model, options=options_from_namespace(args),
                          smooth=args.smooth, progress=not getattr(args, "quiet", False))
    log.info("%s: %d frames %dx%d at %s fps%s in %.1f s (%.1f frames/s)", result.output, result.frames,
             result.width, result.height, _fps_text(result.fps), ", audio kept" if result.audio else "",
             result.seconds, result.frames_per_second)
    return 0


def _fps_text(fps: Any) -> str:
    value = float(fps)
    return f"{value:.3f}".rstrip("0").rstrip(".")
