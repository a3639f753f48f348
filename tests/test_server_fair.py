"""Turns by client (``server/fair.py``): requests that wait for a worker thread or for the memory budget are served
round robin by peer address, oldest first within a client, so one client sending photos back to back does not make
another wait behind all of them."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")
import httpx  # noqa: E402
from test_server_clients import png  # noqa: E402

from colorsplash.server import app as server  # noqa: E402
from colorsplash.server.fair import FairLimiter, QueueFullError  # noqa: E402
from colorsplash.server.limits import MemoryBudget, ServerBusyError  # noqa: E402
from colorsplash.server.upload import Upload  # noqa: E402
from colorsplash.server.work import make_splash  # noqa: E402

BASE = "http://127.0.0.1:8000"


async def settle() -> None:
    """Let every task that can run, run (the waits here end on events set in this loop)."""
    for _ in range(20):
        await asyncio.sleep(0)


async def take_in_order(limiter: FairLimiter, asks: list[tuple[str, str, int]], first: tuple[str, int]) -> list[str]:
    """Names of ``asks`` (name, client, amount) in the order the limiter grants them: ``first`` (client, amount)
    holds the units while they all queue, in list order; each grant is given back before the next is looked at."""
    order: list[str] = []
    release = {name: asyncio.Event() for name, _, _ in asks}

    async def ask(name: str, client: str, amount: int) -> None:
        async with limiter.hold(client, amount):
            order.append(name)
            await release[name].wait()

    await limiter.acquire(*first)
    tasks = []
    for name, client, amount in asks:
        tasks.append(asyncio.create_task(ask(name, client, amount)))
        await settle()  # queued in this order
    assert order == [] and limiter.waiting == sum(a for *_, a in asks)
    limiter.release(*first)
    while len(order) < len(asks):
        await settle()
        for name in order:
            release[name].set()
    await asyncio.gather(*tasks)
    assert (limiter.used, limiter.waiting) == (0, 0)
    return order


def noted_splash(events: list[str], first_in: threading.Event, release: threading.Event) -> Any:
    """``make_splash`` noting each photo's start and end in ``events``; ``a1.png`` sets ``first_in`` and holds its
    worker until ``release`` (at most 10 s)."""

    def splash(model: Any, upload: Upload, *args: Any) -> Any:
        events.append(f"start {upload.name}")
        if upload.name == "a1.png":
            first_in.set()
            release.wait(10)
        result = make_splash(model, upload, *args)
        events.append(f"end {upload.name}")
        return result

    return splash


def test_waiting_requests_take_turns_by_client_oldest_first() -> None:
    """A holds the one slot and queues three more, then B and C one each: B and C come before A's second, then A's
    in order. A client that has had its turn goes after those that have not."""
    asks = [("a2", "A", 1), ("a3", "A", 1), ("a4", "A", 1), ("b1", "B", 1), ("c1", "C", 1)]
    order = asyncio.run(take_in_order(FairLimiter(1), asks, ("A", 1)))
    assert order == ["b1", "c1", "a2", "a3", "a4"]


def test_clients_that_each_queue_several_alternate() -> None:
    asks = [("a1", "A", 1), ("a2", "A", 1), ("b1", "B", 1), ("b2", "B", 1), ("a3", "A", 1)]
    order = asyncio.run(take_in_order(FairLimiter(1), asks, ("X", 1)))
    assert order == ["a1", "b1", "a2", "b2", "a3"]


def test_a_request_that_does_not_fit_is_passed_over_for_one_that_does() -> None:
    """Units as bytes: when half of them come free, B's request for all of them cannot fit yet and A's small one,
    which came later, runs beside the other half (the memory budget's rule); B's runs when all are free."""

    async def scenario() -> list[str]:
        limiter = FairLimiter(100)
        order: list[str] = []
        done = asyncio.Event()

        async def ask(name: str, client: str, amount: int) -> None:
            async with limiter.hold(client, amount):
                order.append(name)
                await done.wait()

        await limiter.acquire("X", 50)
        await limiter.acquire("Y", 50)
        tasks = [asyncio.create_task(ask("b1", "B", 100))]
        await settle()
        tasks.append(asyncio.create_task(ask("a1", "A", 30)))
        await settle()
        limiter.release("X", 50)
        await settle()
        assert order == ["a1"]
        done.set()
        limiter.release("Y", 50)
        await asyncio.gather(*tasks)
        assert (limiter.used, limiter.waiting) == (0, 0)
        return order

    assert asyncio.run(scenario()) == ["a1", "b1"]


def test_a_cancelled_wait_gives_up_its_turn_and_holds_nothing() -> None:
    async def scenario() -> tuple[list[str], int, int]:
        limiter = FairLimiter(1)
        got: list[str] = []
        await limiter.acquire("A", 1)

        async def ask(name: str, client: str) -> None:
            async with limiter.hold(client):
                got.append(name)

        gone = asyncio.create_task(ask("b1", "B"))
        stays = asyncio.create_task(ask("c1", "C"))
        await settle()
        gone.cancel()
        await settle()
        limiter.release("A", 1)
        await stays
        return got, limiter.used, limiter.waiting

    assert asyncio.run(scenario()) == (["c1"], 0, 0)


def test_the_memory_budget_gives_freed_bytes_to_the_client_whose_turn_it_is() -> None:
    """Two of A's photos hold the budget; A's third, then B's first wait for the bytes of one: when one of A's
    ends, B's is admitted (before: A's third, which came first)."""

    async def scenario() -> list[str]:
        budget = MemoryBudget(100, max_wait_s=10)
        admitted: list[str] = []
        release = {name: asyncio.Event() for name in ("a1", "a2", "a3", "b1")}

        async def photo(name: str, client: str) -> None:
            async with budget.reserve(50, client):
                admitted.append(name)
                await release[name].wait()

        tasks = []
        for name in ("a1", "a2", "a3", "b1"):
            tasks.append(asyncio.create_task(photo(name, name[0].upper())))
            await settle()
        assert admitted == ["a1", "a2"] and budget.state.waiting == 100
        release["a1"].set()
        await settle()
        for name in ("a2", "a3", "b1"):
            release[name].set()
        await asyncio.gather(*tasks)
        return admitted

    assert asyncio.run(scenario()) == ["a1", "a2", "b1", "a3"]


def test_a_client_queueing_four_photos_does_not_hold_up_a_client_sending_one(
    tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One worker; client A sends four photos, then client B one: B's splash is finished before A's fourth is
    started (before: after all of A's, in arrival order)."""
    events: list[str] = []
    first_in = threading.Event()
    release = threading.Event()

    monkeypatch.setattr(server, "make_splash", noted_splash(events, first_in, release))
    app = server.create_app(tiny_onnx, workers=1)
    budget, photo = app.state.budget, png()

    async def queued(count: int) -> None:
        while budget.state.used < count * one:
            await asyncio.sleep(0.01)

    async def scenario() -> list[int]:
        a_side = httpx.ASGITransport(app=app, client=("192.0.2.1", 50001))
        b_side = httpx.ASGITransport(app=app, client=("192.0.2.2", 50002))
        async with (
            httpx.AsyncClient(transport=a_side, base_url=BASE, timeout=30) as a,
            httpx.AsyncClient(transport=b_side, base_url=BASE, timeout=30) as b,
        ):
            send = lambda c, name: asyncio.create_task(c.post("/api/splash", files={"file": (name, photo)}))  # noqa: E731
            tasks = [send(a, "a1.png")]
            while not first_in.is_set():
                await asyncio.sleep(0.01)
            for i, name in enumerate(("a2.png", "a3.png", "a4.png", "b1.png"), start=2):
                tasks.append(send(b if name[0] == "b" else a, name))
                await queued(i)  # each admitted to the budget, so waiting for the worker, in this order
            release.set()
            return [r.status_code for r in await asyncio.gather(*tasks)]

    one = 32 * 32 * server.BYTES_PER_PIXEL + len(photo)
    assert asyncio.run(scenario()) == [200] * 5
    assert events.index("end b1.png") < events.index("start a4.png"), events


async def queue_up(limiter: FairLimiter, asks: list[tuple[str, str, int]]) -> dict[str, asyncio.Task[None]]:
    """Tasks that each wait for (name, client, amount) of ``limiter`` and give it back at once, queued in order."""

    async def ask(client: str, amount: int) -> None:
        async with limiter.hold(client, amount):
            pass

    tasks = {}
    for name, client, amount in asks:
        tasks[name] = asyncio.create_task(ask(client, amount))
        await settle()
    return tasks


def outcome(task: asyncio.Task[None]) -> str:
    """ "waiting", "granted", "taken" (its place given to another client) or "full" (no room in the queue)."""
    if not task.done():
        return "waiting"
    err = task.exception()
    assert err is None or isinstance(err, QueueFullError), err
    return "granted" if err is None else "taken" if err.taken else "full"


def test_a_client_filling_the_queue_gives_its_newest_place_to_a_newcomer() -> None:
    """Units as bytes, a queue of one budget (100): A holds it all and has 100 waiting; B's 50 takes the place of
    A's newest (A still holds 200 to B's 50) and is granted first (before: refused, the queue being full)."""

    async def scenario() -> dict[str, str]:
        limiter = FairLimiter(100, queue_room=100)
        await limiter.acquire("A", 100)
        tasks = await queue_up(limiter, [("a2", "A", 50), ("a3", "A", 50), ("b1", "B", 50)])
        shown = {name: outcome(task) for name, task in tasks.items()}
        assert limiter.waiting == 100
        limiter.release("A", 100)
        await settle()
        shown["then"] = ",".join(n for n, t in tasks.items() if outcome(t) == "granted")
        await asyncio.gather(*tasks.values(), return_exceptions=True)
        assert (limiter.used, limiter.waiting) == (0, 0)
        return shown

    assert asyncio.run(scenario()) == {"a2": "waiting", "a3": "taken", "b1": "waiting", "then": "a2,b1"}


def test_a_lone_client_sees_the_queue_as_before() -> None:
    """One client (one user of their own server), the memory budget's queue of one budget (100): queued while the
    queue has room, refused (503's error) once it is full, and none of its waiting photos refused for its own: as
    before the places could be taken (this passes on that code too)."""

    async def scenario() -> list[str]:
        budget = MemoryBudget(100, max_wait_s=10)
        release = asyncio.Event()
        shown: dict[str, str] = {}

        async def photo(name: str, nbytes: int) -> None:
            try:
                async with budget.reserve(nbytes, "A"):
                    shown[name] = "admitted"
                    await release.wait()
            except ServerBusyError as err:
                shown[name] = str(err)

        tasks = []
        for name, nbytes in (("a1", 100), ("a2", 60), ("a3", 40), ("a4", 10)):
            tasks.append(asyncio.create_task(photo(name, nbytes)))
            await settle()
        before = [shown.get(name, "waiting") for name in ("a1", "a2", "a3", "a4")]
        release.set()
        await asyncio.gather(*tasks)
        return before + [shown[name] for name in ("a2", "a3")]

    a1, a2, a3, a4, *then = asyncio.run(scenario())
    assert [a1, a2, a3, then] == ["admitted", "waiting", "waiting", ["admitted", "admitted"]]
    assert a4.startswith("the server is busy with other photos (0 MB of its 0 MB memory budget in use")


def test_a_place_is_taken_only_from_a_client_that_keeps_at_least_as_much() -> None:
    """X holds the budget. A has one photo of 100 waiting: B's 100 would leave A with less than B, so B is refused
    and A keeps its place (no taking back and forth). Then D has three of 30 waiting: C's 60 needs two of those
    places, and the second would leave D with 30 to C's 60, so nothing is taken (not even the first)."""

    async def scenario() -> list[str]:
        limiter = FairLimiter(100, queue_room=100)
        await limiter.acquire("X", 100)
        first = await queue_up(limiter, [("a1", "A", 100), ("b1", "B", 100)])
        shown = [outcome(task) for task in first.values()]
        first["a1"].cancel()
        await settle()
        second = await queue_up(limiter, [("d1", "D", 30), ("d2", "D", 30), ("d3", "D", 30), ("c1", "C", 60)])
        shown += [outcome(task) for task in second.values()]
        limiter.release("X", 100)
        await asyncio.gather(*first.values(), *second.values(), return_exceptions=True)
        assert (limiter.used, limiter.waiting) == (0, 0)
        return shown + [outcome(task) for task in second.values()]

    assert asyncio.run(scenario()) == ["waiting", "full", *["waiting"] * 3, "full", *["granted"] * 3, "full"]


def test_a_client_filling_the_budgets_queue_does_not_lock_out_another(
    tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One worker, a budget of two photos: A's first two hold it (one working, held back), its next two fill the
    queue and its fifth is refused (full, as for any lone client). B's one photo then takes the place of A's
    newest waiting one, which is answered 503 saying so, and B's is served in its turn, before A's third (before:
    B's was refused while A's filled the queue)."""
    events: list[str] = []
    first_in, release = threading.Event(), threading.Event()

    monkeypatch.setattr(server, "make_splash", noted_splash(events, first_in, release))
    photo = png()
    one = 32 * 32 * server.BYTES_PER_PIXEL + len(photo)
    app = server.create_app(tiny_onnx, workers=1, max_pixels=32 * 32, max_upload_bytes=4096, max_memory_bytes=2 * one)
    budget = app.state.budget

    async def until(test: Any) -> None:
        while not test():
            await asyncio.sleep(0.01)

    async def scenario() -> list[httpx.Response]:
        a_side = httpx.ASGITransport(app=app, client=("192.0.2.1", 50001))
        b_side = httpx.ASGITransport(app=app, client=("192.0.2.2", 50002))
        async with (
            httpx.AsyncClient(transport=a_side, base_url=BASE, timeout=30) as a,
            httpx.AsyncClient(transport=b_side, base_url=BASE, timeout=30) as b,
        ):
            send = lambda c, name: asyncio.create_task(c.post("/api/splash", files={"file": (name, photo)}))  # noqa: E731
            tasks = [send(a, "a1.png")]
            await until(first_in.is_set)
            tasks.append(send(a, "a2.png"))
            await until(lambda: budget.state.used == 2 * one)
            for i, name in enumerate(("a3.png", "a4.png"), start=1):
                tasks.append(send(a, name))
                await until(lambda i=i: budget.state.waiting == i * one)
            tasks.append(send(a, "a5.png"))
            await until(tasks[-1].done)
            tasks.append(send(b, "b1.png"))
            await until(lambda: tasks[3].done() or tasks[5].done())
            release.set()
            return list(await asyncio.gather(*tasks))

    answers = asyncio.run(scenario())
    assert [r.status_code for r in answers] == [200, 200, 200, 503, 503, 200], [r.text for r in answers]
    assert events.index("end b1.png") < events.index("start a3.png"), events
    taken, full = answers[3], answers[4]
    assert "192.0.2.1" in taken.json()["error"] and "gave it its place" in taken.json()["error"]
    assert "busy with other photos" in full.json()["error"]
    assert taken.headers["Retry-After"] == full.headers["Retry-After"] == "5"
    assert (budget.state.used, budget.state.waiting) == (0, 0)
