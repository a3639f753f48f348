"""Where a request's blocking work runs: :class:`Worker` (threads, at most so many at once) and :class:`ModelShare`
(which model session a request's model run uses: all cores for a lone request, one core each side by side)."""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import anyio

from colorsplash.runtime.batch import batch_model
from colorsplash.runtime.model.onnx_model import Model
from colorsplash.server.fair import UNKNOWN_CLIENT, FairLimiter

T = TypeVar("T")


class Worker:
    """Runs blocking work in threads, at most ``capacity`` at once; jobs that wait for a thread have their turns by
    client (:class:`~colorsplash.server.fair.FairLimiter`), not in arrival order. The thread limiter is made on
    first use, inside the event loop that serves the requests."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.slots = FairLimiter(capacity)  # ``slots.used``: jobs working; ``slots.waiting``: jobs waiting
        self._threads: anyio.CapacityLimiter | None = None

    async def run(
        self,
        func: Callable[..., T],
        *args: Any,
        client: str = UNKNOWN_CLIENT,
        before: Callable[[], Awaitable[None]] | None = None,
        beside: Callable[[], Coroutine[Any, Any, None]] | None = None,
    ) -> T:
        """``func(*args)`` in a thread once one of the ``capacity`` slots is free and it is ``client``'s turn (its
        address). ``before`` is awaited with the slot held, just before the thread starts; an exception from it
        drops the job (the slot is given back). ``beside`` is awaited while the thread runs and cancelled when it
        ends (it must not raise)."""
        if self._threads is None:
            self._threads = anyio.CapacityLimiter(self.capacity)  # never waited on: a slot above is held
        async with self.slots.hold(client):  # held here (not by the thread), so that ``before`` runs with the slot
            if before is not None:
                await before()
            if beside is None:
                return await anyio.to_thread.run_sync(func, *args, limiter=self._threads)
            return await self._run_beside(beside, func, *args)

    async def _run_beside(
        self, beside: Callable[[], Coroutine[Any, Any, None]], func: Callable[..., T], *args: Any
    ) -> T:
        done: list[T] = []
        failed: list[Exception] = []
        async with anyio.create_task_group() as group:
            group.start_soon(beside)
            try:
                done.append(await anyio.to_thread.run_sync(func, *args, limiter=self._threads))
            except Exception as err:  # raised below: the group would wrap it in an ExceptionGroup, which the
                failed.append(err)  # app's exception handlers do not match
            group.cancel_scope.cancel()
        if failed:
            raise failed[0]
        return done[0]

    async def run_light(self, func: Callable[..., T], *args: Any) -> T:
        """Short work (a header read) on anyio's default threads, not counted against ``capacity``."""
        return await anyio.to_thread.run_sync(func, *args)


class ModelShare:
    """Which session a request's model run uses: the loaded model (all its threads on one photo, inside
    :meth:`Model.exclusive`: the lowest latency) when it is the only request being worked on, else a
    single-threaded session of the same file, so requests side by side get one core each instead of contending
    for one thread pool (more photos per second; see :func:`colorsplash.runtime.batch.batch_model`). With
    ``side_by_side`` off, one worker, a GPU or a stand-in model: always the loaded model."""

    def __init__(self, model: Model, side_by_side: bool = True) -> None:
        self.model = model
        self.single = batch_model(model)[0] if side_by_side else model
        self._running = 0
        self._lock = threading.Lock()

    @contextmanager
    def take(self) -> Iterator[Model]:
        """The model for one request's work, held for as long as the block runs."""
        with self.beside() as alone:
            if not alone:
                yield self.single
            elif isinstance(self.model, Model):
                with self.model.exclusive():  # the API's one-photo path: a spinning twin session
                    yield self.model
            else:  # a stand-in
                yield self.model

    @contextmanager
    def beside(self) -> Iterator[bool]:
        """Counts the block as a request being worked on (whether it was the only one: the value); work that
        needs no model but takes the cores (a viewable copy) holds it, so that a model run starting meanwhile
        uses the single-threaded session, as beside another photo."""
        with self._lock:
            self._running += 1
            alone = self._running == 1
        try:
            yield alone
        finally:
            with self._lock:
                self._running -= 1
