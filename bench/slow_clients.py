"""Slow clients (slowloris) against ``colorsplash serve``: how long until an ordinary photo is served again.

Starts ``python -m colorsplash serve`` on a free 127.0.0.1 port (extra arguments after ``--`` go to it), opens N
slow connections, then sends an ordinary photo every second (a new connection each, 10 s timeout) and reports
when it is first served, and what the slow clients got back and when. Loopback only, bounded (at most 256
clients, 600 seconds).

Modes:
  headers    each client sends its request line and headers a byte a second, never finishing them
  keepalive  each client makes one request, then sends its next request's headers a byte a second (uvicorn answers
             503 past its connection cap, 64 by default, the new connection counted: 63 clients fill it)
  body       each client sends its headers at once (Content-Length 1 MB), then its body a byte a second

Usage::

    python bench/slow_clients.py headers --clients 64 [--limit 150] [--photo P.jpg] [-- --header-timeout 10]
"""

from __future__ import annotations

import argparse
import io
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image
from shared_data import SHARED_DATA, extra_needed

with extra_needed("dev", __name__):
    import httpx

PETS = SHARED_DATA / "oxford-pets" / "images"


@dataclass
class Outcome:
    """What the slow clients got: (seconds after they connected, first bytes or ``<closed>``/``<Error>``)."""

    started: float = field(default_factory=time.monotonic)
    got: list[tuple[float, bytes]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def note(self, what: bytes) -> None:
        self.got.append((time.monotonic() - self.started, what))


def photo(path: str | None) -> bytes:
    """The ordinary photo: ``path``, the first Oxford pet photo of the shared data, or a synthetic 1024x768 JPEG."""
    if path:
        return Path(path).read_bytes()
    if PETS.is_dir():
        return (PETS / sorted(os.listdir(PETS))[0]).read_bytes()
    rng = np.random.default_rng(0)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (768, 1024, 3), np.uint8)).save(buf, "JPEG")
    return buf.getvalue()


def start_server(flags: Sequence[str]) -> tuple[subprocess.Popen[str], str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, "-m", "colorsplash", "serve", "--port", str(port), *flags]
    srv = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            httpx.get(url + "/api/health", timeout=1)
            return srv, url
        except httpx.HTTPError:
            time.sleep(0.2)
    srv.kill()
    raise RuntimeError(f"the server did not start: {srv.communicate()[0][-2000:]}")


def slow_client(port: int, mode: str, out: Outcome) -> None:
    """One slow connection: the first thing the server sends back (or its closing) ends it."""
    head = (
        f"POST /api/splash HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: image/jpeg\r\n"
        f"Content-Length: {1 << 20}\r\n\r\n"
    ).encode()
    try:
        sock = socket.create_connection(("127.0.0.1", port))
        if mode == "keepalive":
            sock.sendall(f"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
            if not (status := read_answer(sock)).startswith(b"HTTP/1.1 200"):
                out.note(b"first request: " + status)
                return
        if mode == "body":
            sock.sendall(head)
        dribble(sock, head if mode != "body" else None, out)
    except OSError as err:
        out.note(f"<{type(err).__name__}>".encode())


def read_answer(sock: socket.socket) -> bytes:
    """Read one answer to its end (the connection stays open when it has a ``Content-Length``); its status line."""
    sock.settimeout(10)
    data = b""
    while b"\r\n\r\n" not in data and (chunk := sock.recv(65536)):
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    fields = {k.strip().lower(): v.strip() for k, _, v in (h.partition(b":") for h in head.split(b"\r\n")[1:])}
    while len(body) < int(fields.get(b"content-length", b"0")):
        body += sock.recv(65536)
    return head.split(b"\r\n")[0]


def dribble(sock: socket.socket, head: bytes | None, out: Outcome) -> None:
    """A byte a second: of ``head`` (its end never reached within the run), or body bytes."""
    sock.settimeout(1.0)
    sent = 0
    with sock:
        while not out.stop.is_set():
            try:
                data = sock.recv(65536)
                out.note(data[:12] if data else b"<closed>")
                return
            except TimeoutError:
                pass
            sock.sendall(head[sent : sent + 1] if head else b"x")
            sent += 1


def ordinary_tries(url: str, body: bytes, limit: float, out: Outcome) -> tuple[float | None, float, list[str]]:
    """A photo every second until one is served: (when, seconds it took, the answers before)."""
    tries: list[str] = []
    while time.monotonic() - out.started < limit:
        t = time.monotonic()
        try:
            answer = httpx.post(url + "/api/splash", content=body, timeout=10)
            if answer.status_code == 200:
                return t - out.started, time.monotonic() - t, tries
            tries.append(str(answer.status_code))
        except httpx.HTTPError as err:
            tries.append(type(err).__name__)
        time.sleep(max(0.0, 1.0 - (time.monotonic() - t)))
    return None, 0.0, tries


def report(args: argparse.Namespace, served: tuple[float | None, float, list[str]], out: Outcome, log: str) -> None:
    when, took, tries = served
    print(f"{args.clients} slow clients ({args.mode}), serve {' '.join(args.serve) or '(defaults)'}:")
    if when is None:
        print(
            f"  ordinary photo NOT served within {args.limit:g} s ({len(tries)} tries: {', '.join(sorted(set(tries)))})"
        )
    else:
        before = ", ".join(sorted(set(tries))) or "-"
        print(
            f"  ordinary photo first served {when:.1f} s after the slow clients connected (took {took * 1000:.0f} ms)"
        )
        print(f"  tries before: {len(tries)} ({before})")
    answers: dict[bytes, list[float]] = {}
    for at, what in out.got:
        answers.setdefault(what, []).append(at)
    for what, ats in answers.items():
        print(f"  slow clients answered {what!r}: {len(ats)}, at {min(ats):.1f}-{max(ats):.1f} s")
    print(f"  slow clients with no answer by the end: {args.clients - len(out.got)}")
    late = [line for line in log.splitlines() if "did not arrive in time" in line]
    print(
        f"  server log lines about late headers or bodies: {len(late)}" + (f"; first: {late[0][-150:]}" if late else "")
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=["headers", "keepalive", "body"])
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--limit", type=float, default=150.0, help="seconds to try the ordinary photo for")
    parser.add_argument("--photo", help="the ordinary photo (default: an Oxford pet of ../shared/data)")
    argv = list(sys.argv[1:] if argv is None else argv)
    cut = argv.index("--") if "--" in argv else len(argv)
    args = parser.parse_args(argv[:cut])
    args.serve = argv[cut + 1 :]  # for colorsplash serve
    if not (1 <= args.clients <= 256 and 0 < args.limit <= 600):
        parser.error("--clients 1-256, --limit up to 600 s")
    body = photo(args.photo)
    srv, url = start_server(args.serve)
    port = int(url.rsplit(":", 1)[1])
    out = Outcome()
    threads = [
        threading.Thread(target=slow_client, args=(port, args.mode, out), daemon=True) for _ in range(args.clients)
    ]
    for thread in threads:
        thread.start()
    time.sleep(1.5)
    served = ordinary_tries(url, body, args.limit, out)
    out.stop.set()
    for thread in threads:
        thread.join(3)
    srv.terminate()
    report(args, served, out, srv.communicate(timeout=20)[0])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
