"""Give a segmentation checkpoint the presence head of an exported pet model (or of a checkpoint with one, such as
the presence stage's best.pt) (:func:`colorsplash.training.transplant.add_presence_head`), ready for
``scripts/eval_candidate.sh``.

usage: python scripts/presence_head_from_onnx.py ONNX CHECKPOINT OUT
   e.g. python scripts/presence_head_from_onnx.py src/colorsplash/models/pets.fp32.onnx runs/guided/best.pt head.pt
"""

from __future__ import annotations

import argparse
from pathlib import Path

from colorsplash.training.transplant import add_presence_head


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "onnx", type=Path, help="float ONNX file with a presence head (e.g. pets.fp32.onnx), or a checkpoint with one"
    )
    parser.add_argument("checkpoint", type=Path, help="segmentation checkpoint of the same architecture")
    parser.add_argument("out", type=Path, help="checkpoint to write (must not exist)")
    args = parser.parse_args()
    add_presence_head(args.onnx, args.checkpoint, args.out)
    print(f"wrote {args.out}: {args.checkpoint} with the presence head of {args.onnx}")


if __name__ == "__main__":
    main()
