"""Module locks a forked child gets free (runtime/fork_safe.py), from the side of the thread that forks."""

from __future__ import annotations

import contextlib
import os
import select
import signal
import threading
from collections.abc import Callable
from typing import Any

import pytest

from colorsplash.runtime.fork_safe import ForkSafeLock


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
@pytest.mark.filterwarnings("ignore:.*use of fork\\(\\) may lead to deadlocks:DeprecationWarning")  # 3.12+: the point
@pytest.mark.parametrize("factory", [threading.Lock, threading.RLock])
def test_a_thread_that_forks_inside_the_block_leaves_it_in_the_child(factory: Callable[[], Any]) -> None:
    """The child is the thread that forked, still inside its block: it was given a new, free lock, and leaving the
    block raised "RuntimeError: release unlocked lock" (a user's file object read under the decode lock, or a
    logging handler under the model cache's, forking). It now leaves the block (both blocks of a reentrant lock),
    and the lock is free after it."""
    lock = ForkSafeLock(factory)
    inner = lock if factory is threading.RLock else contextlib.nullcontext()
    answer, tell = os.pipe()
    pid = -1
    try:
        with lock, inner:
            pid = os.fork()
        if pid == 0:
            with lock:  # free again once the block is left
                pass
            os.write(tell, b"left")
    except Exception as err:  # noqa: BLE001 - the child's, reported to the parent; the parent's raised
        if pid != 0:
            raise
        os.write(tell, repr(err).encode())
    finally:
        if pid == 0:
            os._exit(0)
    os.close(tell)
    try:
        ready, _, _ = select.select([answer], [], [], 30)
        said = os.read(answer, 200).decode() if ready else "nothing: the child hung"
    finally:
        os.close(answer)
        if not ready:
            os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    assert said == "left", said
