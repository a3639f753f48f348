"""Slow and departing clients over uvicorn itself: a body that takes longer than ``upload_timeout_s`` to arrive is
answered 408 (the API's JSON, the connection closed), which frees the request slot it held; a body that arrived in
time is not cut by the same deadline while its photo waits or is worked on; a client that leaves while its photo is
worked on has the rest of that work skipped; ``serve`` sets both limits from its flags."""

from __future__ import annotations

import io
import json
import logging
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("fastapi")
pytest.importorskip("httpx")
import httpx  # noqa: E402
from test_server_memory import uvicorn_server, wait_until  # noqa: E402

from colorsplash.runtime import effects  # noqa: E402
from colorsplash.server import app as server  # noqa: E402
from colorsplash.server import upload, work  # noqa: E402
from colorsplash.server.work import make_splash  # noqa: E402

PHOTO_BYTES = 2000  # announced by the slow client, which never sends them all


def png() -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def slow_upload_head(port: int, multipart: bool, path: str = "/api/splash") -> bytes:
    kind = "multipart/form-data; boundary=B" if multipart else "image/png"
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: {kind}\r\n"
        f"Content-Length: {PHOTO_BYTES}\r\n\r\n"
    ).encode() + (b'--B\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n\r\n' if multipart else b"")


def trickle(sock: socket.socket, stop: threading.Event) -> None:
    """A byte every 20 ms (a slowloris: every read gets data, so only a deadline for the whole body stops it)."""
    while not stop.wait(0.02):
        try:
            sock.sendall(b"x")
        except OSError:  # the server closed the connection
            return


def read_answer(sock: socket.socket) -> bytes:
    """What the server sent until it closed the connection. A client still sending (:func:`trickle`) may get a
    reset instead of the close: the server closed its socket with some of those bytes unread (on a loaded machine
    its loop is slow to close; 20 ms was enough). What came before the reset is still read first and is the
    answer; a reset before any answer still fails."""
    sock.settimeout(15)
    answer = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            if not answer:
                raise
            return answer
        if not chunk:  # the server closed the connection
            return answer
        answer += chunk


@pytest.mark.parametrize("multipart", [False, True])
def test_a_slow_upload_is_answered_408_and_frees_its_request_slot(
    tiny_onnx: Path, caplog: pytest.LogCaptureFixture, multipart: bool
) -> None:
    """With one request slot, a client trickling its body holds it (the next request gets 503 busy); once the
    body has not all arrived after ``upload_timeout_s`` the slow client gets 408 with the API's JSON error, its
    connection is closed, one line is logged, and the next request is served."""
    app = server.create_app(tiny_onnx, max_requests=1, upload_timeout_s=0.5)
    with caplog.at_level(logging.WARNING, logger="colorsplash.server"), uvicorn_server(app) as (port, _):
        url = f"http://127.0.0.1:{port}/api/splash"
        slow, stop = socket.create_connection(("127.0.0.1", port)), threading.Event()
        slow.sendall(slow_upload_head(port, multipart))
        sender = threading.Thread(target=trickle, args=(slow, stop), daemon=True)
        sender.start()
        started = time.monotonic()
        try:
            busy = httpx.post(url, content=png(), timeout=10)  # the slot is the slow client's
            answer = read_answer(slow)
        finally:
            stop.set()
            sender.join(5)
            slow.close()
        waited = time.monotonic() - started
        after = httpx.post(url, content=png(), timeout=10)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert busy.status_code == 503 and after.status_code == 200, (busy.text, after.text)
    assert head.startswith(b"HTTP/1.1 408") and b"connection: close" in head.lower(), head
    assert b"content-type: application/json" in head.lower() and b"x-content-type-options: nosniff" in head.lower()
    error = json.loads(body)["error"]
    assert "did not arrive within the server's upload time limit of 0.5 s" in error and "--upload-timeout" in error
    assert f"of {PHOTO_BYTES:,} bytes came" in error
    assert waited < 10  # cut at the deadline, not when the trickle would have ended (never)
    lines = [r.getMessage() for r in caplog.records if "did not arrive in time" in r.getMessage()]
    assert len(lines) == 1 and lines[0].startswith("POST /api/splash: the request body did not arrive in time ("), lines
    assert lines[0].endswith("bytes in 0.5 s); answered 408 and closed the connection")


def test_a_photo_that_arrived_in_time_is_not_cut_while_it_waits_or_is_worked_on(
    tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The deadline is for the body only. With one worker, two photos sent together: the one that waits for the
    worker (1 s, against a 0.3 s limit) asks whether its client is still there when its turn comes, which reads
    the connection after the deadline; it still gets its splash, as does the one worked on for 1 s."""

    def slow_splash(*args: Any) -> Any:
        time.sleep(1.0)
        return make_splash(*args)

    monkeypatch.setattr(server, "make_splash", slow_splash)
    app = server.create_app(tiny_onnx, upload_timeout_s=0.3, workers=1)
    answers: list[httpx.Response] = []
    with uvicorn_server(app) as (port, _):
        url = f"http://127.0.0.1:{port}/api/splash"
        post = lambda: answers.append(httpx.post(url, files={"file": ("a.png", png())}, timeout=30))  # noqa: E731
        both = [threading.Thread(target=post) for _ in range(2)]
        for thread in both:
            thread.start()
        for thread in both:
            thread.join(30)
    assert [a.status_code for a in answers] == [200, 200], [a.text for a in answers]


@pytest.mark.parametrize("leaves", [True, False])
def test_a_photo_whose_client_leaves_while_it_is_worked_on_is_stopped_at_its_next_step(
    tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, leaves: bool
) -> None:
    """The subject is being found when the client hangs up (a page reloaded, a client that timed out): the effect
    and the encoding are skipped (one log line), the budget is given back, and the worker is free for the next
    photo. A client that stays gets its splash. uvicorn stops reading a connection once 64 KB of body wait for
    the app (here 1 byte: every upload ends that way) and sees a hang-up only when the app reads again, which the
    job does while it runs."""
    uvicorn_auto = pytest.importorskip("uvicorn.protocols.http.auto")
    monkeypatch.setattr(sys.modules[uvicorn_auto.AutoHTTPProtocol.__module__], "HIGH_WATER_LIMIT", 1)
    finding, release, left = threading.Event(), threading.Event(), threading.Event()
    subject_alpha, composite, leave = work.subject_alpha, work.composite, work.Departure.leave
    effects: list[int] = []

    def held_subject_alpha(*args: Any) -> Any:
        finding.set()
        release.wait(10)
        return subject_alpha(*args)

    def noted_leave(self: work.Departure) -> None:
        leave(self)
        left.set()

    monkeypatch.setattr(work, "subject_alpha", held_subject_alpha)
    monkeypatch.setattr(work, "composite", lambda *a, **k: effects.append(1) or composite(*a, **k))
    monkeypatch.setattr(work.Departure, "leave", noted_leave)
    app = server.create_app(tiny_onnx, workers=1)
    photo = png()
    with caplog.at_level(logging.INFO, logger="colorsplash.server"), uvicorn_server(app) as (port, _):
        client = socket.create_connection(("127.0.0.1", port))
        head = f"POST /api/splash HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: {len(photo)}\r\n"
        client.sendall(f"{head}Connection: close\r\n\r\n".encode() + photo)  # the answer read to its end
        assert wait_until(finding.is_set, "the photo in the worker")
        if leaves:
            client.close()
            wait_until(left.is_set, "the hang-up seen")  # not without the fix: then the test fails below
        release.set()
        reply = b"" if leaves else read_answer(client)
        client.close()
        assert wait_until(lambda: app.state.budget.state.used == 0, "the budget given back")
        after = httpx.post(f"http://127.0.0.1:{port}/api/splash", content=photo, timeout=30)
    stopped = [r.getMessage() for r in caplog.records if "was worked on" in r.getMessage()]
    assert all(r.levelno == logging.INFO for r in caplog.records if "was worked on" in r.getMessage())
    assert after.status_code == 200  # the worker is free again
    if leaves:
        assert effects == [1]  # the next photo's only
        assert stopped == [
            "POST /api/splash: the client disconnected while its photo (upload) was worked on; "
            "stopped it after finding the subject"
        ]
    else:
        assert effects == [1, 1] and reply.startswith(b"HTTP/1.1 200") and not stopped


def test_serve_sets_the_request_limit_and_upload_timeout_from_its_flags(
    tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--max-requests`` and ``--upload-timeout`` reach the app's settings; uvicorn's connection cap follows the
    request limit (twice it), so that requests still meet the app's JSON busy answer first."""
    from colorsplash import cli

    uvicorn = pytest.importorskip("uvicorn")
    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(kw, app=app))
    argv = ["serve", "--model", str(tiny_onnx), "--max-requests", "100", "--upload-timeout", "7.5"]
    assert cli.main(argv) == 0
    settings = seen["app"].state.settings
    assert (settings.max_requests, settings.upload_timeout_s, seen["limit_concurrency"]) == (100, 7.5, 200)
    assert settings.per_client_limit == 50  # half of the requests by default
    assert cli.main([*argv, "--max-per-client", "3"]) == 0
    assert seen["app"].state.settings.per_client_limit == 3


@pytest.mark.parametrize("flag", ["--max-requests", "--max-per-client", "--upload-timeout", "--header-timeout"])
def test_serve_refuses_a_limit_that_is_not_positive(flag: str, capsys: pytest.CaptureFixture[str]) -> None:
    from colorsplash import cli

    assert cli.main(["serve", flag, "0"]) == 2
    assert f"argument {flag}: must be " in capsys.readouterr().err


def test_a_model_run_in_progress_is_stopped_when_the_client_leaves(
    tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The client leaves while the photo's model run is in progress: the run is stopped (ONNX Runtime's
    ``RunOptions.terminate``, set by the departure) and the photo ends there, without its alpha, effect or encoding
    (before: the model run finished for nobody and the photo stopped at the check after it). The run is held
    until the departure, then made by ONNX Runtime itself with the options it was given."""
    model = server.load_model(tiny_onnx)
    real = model.session
    in_run, left = threading.Event(), threading.Event()
    ran: list[bool] = []

    class HeldSession:
        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

        def run(self, names: Any, feeds: Any, options: Any = None) -> Any:
            in_run.set()
            left.wait(10)
            ran.append(options is not None and options.terminate)
            return real.run(names, feeds, options)

    monkeypatch.setattr(model, "session", HeldSession())
    finished: list[str] = []
    monkeypatch.setattr(work, "subject_alpha", lambda *a: finished.append("alpha"))
    gone = work.Departure("cat.png")
    outcome: list[BaseException] = []

    def job() -> None:
        try:
            make_splash(model, upload.Upload(png(), {}, "cat.png"), work.SplashOptions(), None, 10_000, gone)
        except work.ClientGoneError as err:
            outcome.append(err)

    worker = threading.Thread(target=job)
    worker.start()
    assert in_run.wait(10)
    gone.leave()
    left.set()
    worker.join(10)
    assert ran == [True] and not finished
    assert len(outcome) == 1 and outcome[0].done == work.STOPPED_IN_MODEL  # type: ignore[attr-defined]


def test_a_client_leaving_during_the_edge_colours_skips_the_effect(
    tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The client leaves while the splash's edge colours are estimated (the first half of the effect step, about
    half of its 125 ms on 12 MP): the photo stops there, naming that step, without the effect's blend or the
    encoding (before: noticed only after the blend, "stopped it after the effect")."""
    model = server.load_model(tiny_onnx)
    gone = work.Departure("cat.png")
    estimate, blended = effects.estimate_colours, []

    def leaving_estimate(*args: Any, **kwargs: Any) -> Any:
        gone.leave()  # the event loop's watcher, while the estimates run in the worker thread
        return estimate(*args, **kwargs)

    monkeypatch.setattr(effects, "estimate_colours", leaving_estimate)
    monkeypatch.setattr(effects, "apply_effect", lambda *a: blended.append(1))
    with pytest.raises(work.ClientGoneError) as stopped:
        make_splash(model, upload.Upload(png(), {}, "cat.png"), work.SplashOptions(), None, 10_000, gone)
    assert (stopped.value.done, blended) == ("estimating the edge colours", [])


def test_composite_without_a_check_is_unchanged() -> None:
    """The CLI's and the Python API's call (no ``check``) gives the same pixels as with a check that passes."""
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)
    alpha = np.clip(rng.random((24, 32), dtype=np.float32) * 2 - 0.5, 0, 1).astype(np.float32)
    steps: list[str] = []
    plain = effects.composite(image, alpha, work.SplashOptions())
    checked = effects.composite(image, alpha, work.SplashOptions(), check=steps.append)
    assert np.array_equal(plain, checked) and steps == [effects.EDGE_COLOURS_STEP]
