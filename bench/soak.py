"""Long runs: does memory, open files, threads or time per item grow? Prints one line per window.

``api``: ``load_model()`` once, then ``splash()``/``predict_alpha()`` on ``--items`` photos of the shared data sets in
turn as paths, file objects, ``BytesIO``, Pillow images and arrays of other sizes, with ``max_pixels=`` refusals,
``effect``s and inputs that raise (not a picture, a cut-off JPEG, a float array, a text-mode file, a bad option).
Per window: this process's RSS (``VmRSS``), open files, threads, median seconds per call, outcomes.

``serve``: ``colorsplash serve`` in a child process on a free loopback port, ``--seconds`` of requests from 1, 2, 4,
then 3 clients (a quarter of the time each): ``/api/splash`` and ``/api/mask``, effects, ``format=``,
``on-empty=skip``, transparent PNGs, a 12 MP JPEG now and then, unreadable and cut-off photos, uploads cut off
mid-body and clients that hang up before their answer. Per window: the server's RSS, open files, threads, its memory
budget in use (``app.state.budget``: bytes held and waiting; 0 when idle), requests by status, median seconds of the
200s. The last line is read after the clients stopped: the budget must be back to 0.

Usage (Linux: reads ``/proc``; needs ``../shared/data``)::

    python bench/soak.py api [--items 300]
    python bench/soak.py serve [--seconds 600] [--pause 1.5]
"""

from __future__ import annotations

import argparse
import io
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from shared_data import SHARED_DATA, extra_needed

with extra_needed("dev", __name__):
    import httpx
    from serve_load import free_port

DATA = SHARED_DATA
WINDOW_ITEMS = 25


def proc_figures(pid: int | str = "self") -> str:
    """``RSS MB, open files, threads`` of a process, from /proc."""
    status = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    rss = int(status["VmRSS"].split()[0]) / 1024
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    return f"rss {rss:7.1f} MB  fds {fds:3d}  threads {int(status['Threads']):3d}"


def photos() -> list[Path]:
    found = sorted((DATA / "oxford-pets" / "images").glob("*.jpg")) + sorted(
        (DATA / "coco-scenes" / "images").glob("*")
    )
    if not found:
        raise SystemExit(f"error: no photos under {DATA}; this benchmark needs the shared data sets")
    return found


def made_inputs(folder: Path, base: Path) -> dict[str, Path]:
    """A 12 MP JPEG, a PNG with transparency, a cut-off JPEG and a file that is not a picture, made from ``base``."""
    rgb = Image.open(base).convert("RGB")
    out = {"big": folder / "big.jpg", "rgba": folder / "rgba.png", "cut": folder / "cut.jpg", "bad": folder / "bad.txt"}
    rgb.resize((4000, 3000), Image.Resampling.LANCZOS).save(out["big"], quality=90)
    alpha = np.full((rgb.height, rgb.width), 255, np.uint8)
    alpha[: rgb.height // 4] = 0
    rgba = rgb.copy()
    rgba.putalpha(Image.fromarray(alpha))
    rgba.save(out["rgba"])
    out["cut"].write_bytes(base.read_bytes()[: base.stat().st_size // 3])
    out["bad"].write_bytes(b"not a picture\n" * 20)
    return out


# ------------------------------------------------------------------------------------------------------ api


def api_input(r: random.Random, path: Path, made: dict[str, Path]) -> tuple[str, Any, dict[str, Any]]:
    """One call's (kind, image argument, keyword options)."""
    x = r.random()
    kw: dict[str, Any] = {"max_pixels": r.choice([50_000, 2_000_000])} if r.random() < 0.15 else {}
    if x < 0.35:
        return "path", path, kw
    if x < 0.55:
        return "file", path.open("rb"), kw
    if x < 0.65:
        return "bytesio", io.BytesIO(path.read_bytes()), kw
    if x < 0.77:
        img = Image.open(path).convert("RGB")
        scale = r.uniform(0.3, 2.5)
        return "array", np.asarray(img.resize((int(img.width * scale) + 8, int(img.height * scale) + 8))), kw
    if x < 0.82:
        return "pillow", Image.open(path), kw
    if x < 0.85:
        return "12mp", made["big"], kw
    if x < 0.88:
        return "rgba", made["rgba"], kw
    if x < 0.92:
        return "bad", made[r.choice(["bad", "cut"])], kw
    if x < 0.95:
        return "float-array", np.full((10, 10, 3), 3.7), kw
    if x < 0.97:
        return "text-mode", path.open(), kw
    return "bad-option", path, {**kw, "feather": "abc"}


def run_api(items: int, seed: int) -> None:
    from colorsplash import load_model, predict_alpha, splash

    model = load_model()
    r = random.Random(seed)
    pool = photos()
    with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
        made = made_inputs(Path(tmp), pool[0])
        print(f"after load_model: {proc_figures()}")
        times: list[float] = []
        outcomes: Counter[str] = Counter()
        for i in range(1, items + 1):
            kind, arg, kw = api_input(r, r.choice(pool), made)
            func: Callable[..., np.ndarray] = splash if r.random() < 0.5 else predict_alpha
            if func is splash and r.random() < 0.3:
                kw["effect"] = r.choice(["blur", "transparent", "sepia"])
            start = time.perf_counter()
            try:
                func(arg, model, **kw)
                outcomes["ok"] += 1
            except (ValueError, TypeError) as err:
                outcomes[type(err).__name__] += 1
            times.append(time.perf_counter() - start)
            if hasattr(arg, "close"):
                arg.close()
            if i % WINDOW_ITEMS == 0 or i == items:  # the last window too when --items is not a multiple
                ms = statistics.median(times) * 1000
                print(f"calls {i:5d}  {proc_figures()}  median {ms:6.1f} ms  {dict(outcomes)}", flush=True)
                times, outcomes = [], Counter()


# ---------------------------------------------------------------------------------------------------- serve

SERVER = """
import sys, threading, time, uvicorn
from colorsplash.server.app import create_app
app = create_app()
def log():
    while True:
        state = app.state.budget.state
        with open(sys.argv[2] + ".tmp", "w") as f:
            f.write(f"{state.used} {state.waiting}")
        import os; os.replace(sys.argv[2] + ".tmp", sys.argv[2])
        time.sleep(0.5)
threading.Thread(target=log, daemon=True).start()
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="error")
"""


@contextmanager
def server(budget_file: Path) -> Iterator[tuple[str, int]]:
    """The server in a child process (its memory apart from the clients'); yields its URL and pid."""
    port = free_port()
    log = budget_file.with_name("server.log")
    with log.open("wb") as err:  # its one line per cut-off upload would interleave with ours
        proc = subprocess.Popen([sys.executable, "-c", SERVER, str(port), str(budget_file)], stderr=err)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while not budget_file.exists() or not _answers(url):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"error: the server did not start (exit status {proc.poll()}): {log.read_text()}")
            time.sleep(0.25)
        yield url, proc.pid
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url + "/api/health", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def raw_post(url: str, data: bytes, cut_at: float | None) -> None:
    """POST ``data`` and hang up: after ``cut_at`` of the body (a cut-off upload), or after all of it, before the
    answer (``None``: a client that gave up)."""
    host, port = url.rsplit("/", 1)[1].split(":")
    body = data if cut_at is None else data[: int(len(data) * cut_at)]
    with socket.create_connection((host, int(port))) as s:
        s.sendall(
            f"POST /api/splash HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: image/jpeg\r\n"
            f"Content-Length: {len(data)}\r\n\r\n".encode()
            + body
        )
        time.sleep(0.1)


def one_request(client: httpx.Client, url: str, r: random.Random, path: Path, made: dict[str, Path]) -> str:
    """One request of the mix; returns its outcome (status code, or what the client did)."""
    x = r.random()
    if x < 0.05:
        raw_post(url, path.read_bytes(), r.uniform(0.1, 0.9))
        return "cut-off"
    if x < 0.09:
        raw_post(url, made["big"].read_bytes(), None)
        return "gone"
    photo = made[r.choice(["big", "rgba", "rgba", "bad", "cut"])] if x < 0.30 else path
    endpoint = "mask" if r.random() < 0.25 else "splash"
    params: dict[str, str] = {"on-empty": "skip"} if r.random() < 0.3 else {}
    if endpoint == "splash" and r.random() < 0.5:
        params["effect"] = r.choice(["grey", "blur", "dim", "sepia", "color:#ff8000", "transparent"])
    if endpoint == "splash" and r.random() < 0.3:
        params["format"] = "png" if params.get("effect") == "transparent" else r.choice(["png", "jpeg", "webp"])
    if r.random() < 0.3:
        resp = client.post(f"{url}/api/{endpoint}", params=params, content=photo.read_bytes())
    else:
        files = {"file": (photo.name, photo.read_bytes())}
        resp = client.post(f"{url}/api/{endpoint}", params=params, files=files)
    return str(resp.status_code)


def run_serve(seconds: float, pause: float, window: float, seed: int) -> None:
    pool = photos()
    with tempfile.TemporaryDirectory(prefix="soak-") as tmp, server(Path(tmp) / "budget") as (url, pid):
        made = made_inputs(Path(tmp), pool[0])
        print(f"server started: {proc_figures(pid)}")
        log: list[tuple[float, str, float]] = []
        start = time.monotonic()
        for n in (1, 2, 4, 3):
            stop = min(start + seconds, time.monotonic() + seconds / 4)
            clients = [
                threading.Thread(target=_client, args=(url, seed + n * 10 + k, stop, pause, pool, made, log))
                for k in range(n)
            ]
            for c in clients:
                c.start()
            _report_until(stop, window, pid, Path(tmp) / "budget", log, f"{n} client(s)")
            for c in clients:
                c.join()
        time.sleep(2)
        used, waiting = (Path(tmp) / "budget").read_text().split()
        print(f"idle after {len(log)} requests: {proc_figures(pid)}  budget used {used} B, waiting {waiting} B")
        lines = (Path(tmp) / "server.log").read_text().splitlines()
        print(f"server log: {len(lines)} lines, {sum('disconnected' in x for x in lines)} of them cut-off uploads")


def _client(
    url: str,
    seed: int,
    stop: float,
    pause: float,
    pool: list[Path],
    made: dict[str, Path],
    log: list[tuple[float, str, float]],
) -> None:
    r = random.Random(seed)
    with httpx.Client(timeout=300) as client:
        while time.monotonic() < stop:
            begin = time.perf_counter()
            outcome = one_request(client, url, r, r.choice(pool), made)
            log.append((time.monotonic(), outcome, time.perf_counter() - begin))
            time.sleep(r.uniform(0, pause))


def _report_until(
    stop: float, window: float, pid: int, budget: Path, log: list[tuple[float, str, float]], label: str
) -> None:
    while time.monotonic() < stop:
        since = time.monotonic()
        time.sleep(min(window, max(0.1, stop - since)))
        recent = [e for e in list(log) if e[0] >= since]
        ok = [s for _, outcome, s in recent if outcome == "200"]
        ms = statistics.median(ok) * 1000 if ok else float("nan")
        used, waiting = budget.read_text().split()
        print(
            f"{label}  {proc_figures(pid)}  budget {int(used) / 2**20:6.1f}/{int(waiting) / 2**20:.1f} MB  "
            f"200s median {ms:6.1f} ms  {dict(Counter(o for _, o, _ in recent))}",
            flush=True,
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    api = sub.add_parser("api", help="the Python API in a loop")
    api.add_argument("--items", type=int, default=300)
    serve = sub.add_parser("serve", help="colorsplash serve under a mix of requests")
    serve.add_argument("--seconds", type=float, default=600.0)
    serve.add_argument("--pause", type=float, default=1.5, help="each client waits up to this long between requests")
    serve.add_argument("--window", type=float, default=30.0, help="seconds per printed line")
    for p in (api, serve):
        p.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    if args.what == "api":
        run_api(args.items, args.seed)
    else:
        run_serve(min(args.seconds, 3600.0), args.pause, args.window, args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
