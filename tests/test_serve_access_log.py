"""``serve --access-log``: one line per answered request on standard output (an operator could not tell from the
log whether anyone was served, or who got 404/503: uvicorn ran at warning level, its access lines silenced)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from helpers.ports import free_port

pytest.importorskip("uvicorn")


def _serve_and_ask(model: Path, flags: list[str]) -> tuple[str, str]:
    """Start ``serve`` with ``flags``, ask for /api/health and /nothing, stop it with Ctrl-C; its stdout and
    stderr."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    cmd = [sys.executable, "-m", "colorsplash", "serve", "--model", str(model), "--port", str(port), *flags]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:  # until it answers
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=30).read()
                break
            except urllib.error.URLError:
                assert proc.poll() is None and time.monotonic() < deadline, "serve did not start"
                time.sleep(0.3)
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/nothing", timeout=30)
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    return out, err


def test_access_log_gives_a_line_per_answered_request_with_its_time_and_status(tiny_onnx: Path) -> None:
    out, err = _serve_and_ask(tiny_onnx, ["--access-log"])
    stamp = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4} 127\.0\.0\.1:\d+ "
    assert re.search(stamp + r'"GET /api/health HTTP/1\.1" 200', out), out
    assert re.search(stamp + r'"GET /nothing HTTP/1\.1" 404', out), out
    assert "HTTP/1.1" not in err


def test_without_access_log_nothing_is_logged_per_request(tiny_onnx: Path) -> None:
    out, err = _serve_and_ask(tiny_onnx, [])
    assert "HTTP/1.1" not in out + err
