"""Training under ``torchrun``: which process this is, and the process group's life.

``torchrun`` starts one process per rank with ``WORLD_SIZE`` (and the rendezvous) in the environment; without it a
run is one process and nothing here touches :mod:`torch.distributed`.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass
class Dist:
    """This process's place in the run: ``rank`` of ``world`` processes (0 of 1 without torchrun)."""

    rank: int = 0
    world: int = 1

    @property
    def main(self) -> bool:
        """Whether this is rank 0, the one process that logs and writes the run's files."""
        return self.rank == 0


def setup_distributed() -> Dist:
    """This process's :class:`Dist`; under torchrun the first call joins the process group (gloo on CPU, nccl on
    GPU), later calls return the same answer."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Dist()
    if not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return Dist(dist.get_rank(), world)


@contextlib.contextmanager
def process_group_closed() -> Iterator[None]:
    """Leave the process group (if one was joined) when the block ends, however it ends.

    Why: a gloo group still open when the interpreter shuts down may abort the process ("terminate called without an
    active exception", SIGABRT) after its work is done, so torchrun reports a finished run as failed.
    """
    try:
        yield
    finally:
        if dist.is_available() and dist.is_initialized():
            dist.destroy_process_group()
