"""``serve`` stopped (Ctrl+C, SIGTERM) while it works on requests: it answers them first, and says so."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from helpers.ports import free_port
from helpers.splash_cli import blob_file

pytest.importorskip("uvicorn")

SLOW_PHOTO = """
import sys, time
from colorsplash.cli import main
from colorsplash.server import work
real = work.plan_upload
def slow(*args, **kwargs):  # a photo that takes its time: the request is in flight when the signal comes
    print("working", flush=True)
    time.sleep(2.0)
    return real(*args, **kwargs)
work.plan_upload = slow
sys.exit(main(sys.argv[1:]))
"""


def _ask(port: int, photo: bytes, answers: list[object]) -> None:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/splash", data=photo, method="POST")
    request.add_header("Content-Type", "image/png")
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            answers.append(answer.status)
    except (urllib.error.URLError, OSError) as err:
        answers.append(err)


def _started(proc: subprocess.Popen[str], port: int) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=30).read()
            return
        except urllib.error.URLError:
            assert proc.poll() is None and time.monotonic() < deadline, "serve did not start"
            time.sleep(0.3)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_server_stopped_with_a_request_in_flight_says_it_answers_it_first(
    signum: int, tiny_onnx: Path, tmp_path: Path
) -> None:
    """Ctrl+C (or SIGTERM) with a photo in flight waited until it was answered (seconds, minutes for a large photo)
    without a word, uvicorn's own line silenced: a user pressed Ctrl+C again, which stopped it at once, the
    photos failed with a bare "Internal Server Error" and the log filled with tracebacks. It says that it stops once
    the requests in flight are answered, and that Ctrl+C again stops it at once."""
    port = free_port()
    blob_file(tmp_path / "p.png", 0)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    cmd = [sys.executable, "-c", SLOW_PHOTO, "serve", "--model", str(tiny_onnx), "--port", str(port)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    answers: list[object] = []
    try:
        _started(proc, port)
        asking = threading.Thread(target=_ask, args=(port, (tmp_path / "p.png").read_bytes(), answers))
        asking.start()
        assert proc.stdout is not None and proc.stdout.readline() == "working\n"
    finally:
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=60)
    asking.join(60)
    assert answers == [200], (answers, err)
    assert "stopping once the requests in flight are answered; Ctrl+C again stops at once" in err, err
    assert "Traceback" not in err and "INFO" not in err, err
