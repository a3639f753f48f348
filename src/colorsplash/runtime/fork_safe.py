"""Module locks and forked children (``multiprocessing``'s fork, ``ProcessPoolExecutor`` on Linux before Python 3.14,
``os.fork``): a child has only the thread that forked, so a lock another thread of the parent held at that moment
stayed held in the child for ever, and the child's first use of it hung (a child forked while a parent thread read a
photo's header waited for ever in its own first read). The one owner of that rule: module locks are made here."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any


class ForkSafeLock:
    """A ``threading.Lock`` (``factory``: or ``RLock``) used as ``with lock:``, that a forked child gets free.

    Without ``wait_at_fork`` the child gets a new lock: what a parent thread was doing under it is not done in the
    child, which does it again if it needs it (a model load, a decode); held where the forking thread itself was in
    a block, which the child goes on to leave. With it, a fork waits until no thread holds
    the lock, and the child finds it free: for a lock guarding process-wide state that its holder changes and then
    restores (``warnings.catch_warnings``), which a child must not inherit half-changed. Keep such blocks short.
    """

    def __init__(self, factory: Callable[[], Any] = threading.Lock, wait_at_fork: bool = False) -> None:
        self._factory = factory
        self._lock = factory()
        self._owner: int | None = None  # the thread inside a block, and how deep: changed only by it, holding the lock
        self._depth = 0
        if not hasattr(os, "register_at_fork"):  # Windows: no fork
            return
        if wait_at_fork:
            os.register_at_fork(before=self._acquire, after_in_parent=self._release, after_in_child=self._release)
        else:
            os.register_at_fork(after_in_child=self._renew)

    def _acquire(self) -> None:
        self._lock.acquire()

    def _release(self) -> None:
        self._lock.release()

    def _renew(self) -> None:
        """In a child: a new lock, free, or held as deep as the old one where the forking thread itself is inside a
        block, which it goes on to leave (given a free one, leaving raised "release unlocked lock")."""
        lock = self._factory()
        if self._owner == threading.get_ident():
            for _ in range(self._depth):
                lock.acquire()
        else:
            self._owner, self._depth = None, 0
        self._lock = lock

    def __enter__(self) -> bool:
        self._lock.acquire()
        me = threading.get_ident()
        self._depth = self._depth + 1 if self._owner == me else 1
        self._owner = me
        return True

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self._depth -= 1
        if not self._depth:
            self._owner = None
        self._lock.release()
