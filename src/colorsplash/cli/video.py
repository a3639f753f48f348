"""``colorsplash video INPUT -o OUTPUT [splash options] [--no-smooth] [--model PATH]``.

Parses arguments and calls :func:`colorsplash.runtime.video.clip.splash_video`; errors reach the user as one line via
:func:`colorsplash.cli`. Exit status: 0 done, 1 written from a damaged input (lost frames filled, a warning says so),
2 error (nothing written), 130 interrupted by Ctrl-C, 143 stopped by SIGTERM, 129 by SIGHUP (nothing written).
"""

from __future__ import annotations

import argparse
import logging
from typing import Any

from colorsplash.cli.common import (
    add_max_pixels_argument,
    add_model_argument,
    add_output_argument,
    add_overwrite_argument,
    add_runtime_arguments,
    show_progress,
    sigterm_as_interrupt,
)
from colorsplash.cli.option_flags import add_arguments, options_from_namespace
from colorsplash.runtime.flags import arg_type, non_empty_name
from colorsplash.runtime.options import EFFECT_HELP
from colorsplash.runtime.video.video_io import DEFAULT_MAX_VIDEO_PIXELS

log = logging.getLogger(__name__)

DESCRIPTION = (
    "Splash every frame of a clip: same size, pixel aspect ratio, frame rate and timeline (a variable-rate "
    "clip: below); the audio and "
    "subtitle tracks are copied (audio re-encoded where the output cannot hold it: AAC into .webm becomes Opus, "
    "Opus into .mov AAC, into .avi MP3; subtitles converted to the output's text format where needed, left out "
    "with a warning in .avi), attached files such as the fonts of styled subtitles into .mkv, cover art into .mkv and "
    ".mp4/.m4v "
    "(a warning names what the output cannot hold). Output formats: .mp4 .m4v .mov .mkv (H.264), .webm (VP9), "
    ".avi (MPEG-4); colours are converted "
    "with BT.601 below 720p and BT.709 from 720p up, and tagged so (an untagged input is read by the same "
    "rule, as players show it); HDR (PQ, HLG) and BT.2020 inputs are converted to SDR BT.709, tone-mapped, "
    "with a warning. The picture is written 8-bit 4:2:0 (4:4:4 only for an odd size, below) whatever the input's "
    "bit depth and chroma (10-bit, 4:2:2 and ProRes become 8-bit 4:2:0). Interlaced inputs are deinterlaced "
    "(bwdif) at their frame rate, with a note. A "
    "variable-rate clip is written at a constant rate chosen from its timestamps, each frame shown from its own "
    "time until the next one's (slow stretches repeat frames). "
    "An odd width or height is kept exactly: "
    "H.264 can hold it only as 4:4:4, which many players (Safari, iOS, TVs) cannot play, so a warning says so; "
    ".webm keeps odd sizes in the common 4:2:0. A damaged input is written with "
    "each lost frame replaced by the previous one (sound kept in sync), with a warning and exit status "
    "1; --strict refuses it instead."
)

VIDEO_ON_EMPTY_HELP = (
    "frames without a subject: all grey, or in full colour (skip is refused for a clip: it would drop frames)"
)
# The photo's words listed transparent (refused for a clip) and spoke of "the photo"
VIDEO_EFFECT_HELP = "background effect: " + EFFECT_HELP.replace(
    ", transparent (PNG cut-out)", "; transparent (a photo's PNG cut-out) is refused for a clip"
)
VIDEO_POINT_HELP = (
    "keep only the subject under this pixel in every frame, or the nearest one when it is on the background (X, Y "
    "of the upright frame, as players show it; default: every subject); also colours frames the model judged to "
    "hold no subject"
)
VIDEO_QUALITY_HELP = (
    "video quality 1..100, higher is better and larger: the encoder's constant quality (H.264 95 -> CRF 18, "
    "visually lossless; 75 -> CRF 23; VP9 alike; MPEG-4 q-scale 2..31)"
)


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "video", help="colour splash for a video clip (audio kept, alpha smoothed over time)", description=DESCRIPTION
    )
    parser.add_argument(
        "input",
        type=arg_type(non_empty_name("name the video file to read")),
        metavar="INPUT",
        help="video file to read (never modified)",
    )
    add_output_argument(
        parser,
        "video file to write (must differ from INPUT; an existing file needs --overwrite)",
        required=True,
        metavar="OUTPUT",
        advice="name the video file to write, e.g. -o holiday.splash.mp4",
    )
    add_overwrite_argument(parser, "an existing OUTPUT file")
    add_model_argument(parser)
    parser.add_argument(
        "--no-smooth",
        dest="smooth",
        action="store_false",
        help="no temporal smoothing: each frame's alpha on its own (flickers more)",
    )
    add_max_pixels_argument(
        parser,
        DEFAULT_MAX_VIDEO_PIXELS,
        "frame size, DCI 8K by default; guards memory: a video frame costs far more than a photo's pixels",
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="refuse a damaged input (decoding errors) instead of filling its lost frames",
    )
    add_runtime_arguments(parser)
    helps = {"quality": VIDEO_QUALITY_HELP, "on_empty": VIDEO_ON_EMPTY_HELP}
    add_arguments(parser, helps={**helps, "effect": VIDEO_EFFECT_HELP, "point": VIDEO_POINT_HELP})
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # Imported here so `colorsplash --help` stays fast and works without the video extra installed.
    from colorsplash.runtime.model.onnx_model import load_model
    from colorsplash.runtime.video.clip import splash_video

    model = load_model(args.model, precision=args.precision, device=args.device)
    with sigterm_as_interrupt():
        result = splash_video(
            args.input,
            args.output,
            model=model,
            options=options_from_namespace(args),
            smooth=args.smooth,
            progress=show_progress(args),
            max_pixels=args.max_pixels,
            strict=args.strict,
            overwrite=args.overwrite,
        )
    log.info(
        "%s: %d frame%s %dx%d at %s fps%s, in %.1f s (%.1f frames/s); %s",
        result.output,
        result.frames,
        "" if result.frames == 1 else "s",  # "1 frames"
        result.width,
        result.height,
        _fps_text(result.fps),
        " with its sound" if result.audio else "",  # "audio kept in 1.2 s" read as the sound's own time
        result.seconds,
        result.frames_per_second,
        model.label,
    )
    return 1 if result.damaged else 0  # the damage itself was logged as a warning by splash_video


def _fps_text(fps: Any) -> str:
    value = float(fps)
    return f"{value:.3f}".rstrip("0").rstrip(".")
