"""Load test of ``colorsplash serve``: N concurrent clients POST a photo for M seconds; prints throughput,
p50/p95 latency and errors.

Loopback only and bounded (at most 64 clients, 600 seconds, one request in flight per client). Without
``--url`` it starts its own server (``python -m colorsplash serve`` on a free 127.0.0.1 port, in a separate
process so client and server do not share one interpreter), reports its peak memory (``VmHWM``) and stops it.

``--large-clients N`` adds N clients that keep sending a large PNG (``--large-size``, default 7000x7000): the
memory-bomb scenario of issue 16. Their answers (200, or 503 "busy" whose ``Retry-After`` they honour for at most
a second) are reported apart; the normal clients' latency shows whether large photos slow ordinary ones down.

Usage::

    python bench/serve_load.py [--model M.onnx | --url http://127.0.0.1:8000] [--clients 8] [--seconds 20]
        [--image photo.jpg | --size 1024x768] [--endpoint splash|mask] [--query effect=blur] [--json out.json]
        [--large-clients 10 --large-size 7000x7000]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import ipaddress
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
from PIL import Image
from shared_data import extra_needed
from splash_speed import real_photo

with extra_needed("dev", __name__):
    import httpx

MAX_CLIENTS = 64
MAX_SECONDS = 600.0
REQUEST_TIMEOUT_S = 120.0


@dataclass
class LoadResult:
    """What the clients saw: one latency (seconds) per completed request, and errors by kind."""

    clients: int
    seconds: float
    latencies: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)

    def summary(self) -> dict[str, float | int | dict[str, int]]:
        ms = sorted(x * 1000 for x in self.latencies)

        def pct(q: float) -> float:
            return ms[min(len(ms) - 1, int(q * len(ms)))] if ms else float("nan")

        return {
            "clients": self.clients,
            "seconds": round(self.seconds, 2),
            "requests": len(ms),
            "requests_per_s": round(len(ms) / self.seconds, 2) if self.seconds else 0.0,
            "p50_ms": round(statistics.median(ms), 1) if ms else float("nan"),
            "p95_ms": round(pct(0.95), 1),
            "max_ms": round(ms[-1], 1) if ms else float("nan"),
            "errors": sum(self.errors.values()),
            "errors_by_kind": dict(self.errors),
        }


def real_photo_jpeg(width: int, height: int) -> bytes | None:
    """:func:`splash_speed.real_photo` resized to ``width x height``, as a JPEG; ``None`` without the data. A real
    pet makes the server do all its work: on a photo where the model finds no subject, the edge refinement is
    skipped and the figures flatter the server (a synthetic ellipse did that once)."""
    rgb = real_photo()
    if rgb is None:
        return None
    buf = io.BytesIO()
    Image.fromarray(rgb).resize((width, height), Image.Resampling.LANCZOS).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def synthetic_photo(width: int, height: int) -> bytes:
    """A JPEG with a smooth background and an orange ellipse (about a phone photo's compressibility)."""
    yy, xx = np.mgrid[:height, :width].astype(np.float32)
    image = np.stack([60 + 80 * xx / width, 90 + 60 * yy / height, 70 + 0 * xx], axis=-1)
    inside = ((xx - width / 2) / (width * 0.22)) ** 2 + ((yy - height / 2) / (height * 0.3)) ** 2 <= 1
    image[inside] = (225, 125, 45)
    noise = np.random.default_rng(0).normal(0, 6, image.shape)
    buf = io.BytesIO()
    Image.fromarray(np.clip(image + noise, 0, 255).astype(np.uint8)).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def large_png(width: int, height: int) -> bytes:
    """A smooth synthetic PNG of ``width x height`` (a few MB: the pixel count, not the file size, is the cost)."""
    x = np.linspace(0, 255, width, dtype=np.float32).astype(np.uint8)
    y = np.linspace(0, 255, height, dtype=np.float32).astype(np.uint8)
    image = np.empty((height, width, 3), np.uint8)
    image[..., 0] = x[None, :]
    image[..., 1] = y[:, None]
    image[..., 2] = 90
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, "PNG", compress_level=1)
    return buf.getvalue()


def peak_rss_mb(pid: int) -> float | None:
    """The process's peak resident memory (``VmHWM``) in MB, or ``None`` where /proc does not tell."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def require_loopback(url: str) -> None:
    host = urlsplit(url).hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise SystemExit(f"error: {url} is not a loopback address; this benchmark only loads a local server")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def local_server(model: str | None, startup_s: float = 120.0) -> Iterator[tuple[str, int]]:
    """Run ``colorsplash serve`` on a free loopback port until the block ends; yields its base URL and pid."""
    port = free_port()
    cmd = [sys.executable, "-m", "colorsplash", "-q", "serve", "--host", "127.0.0.1", "--port", str(port)]
    if model:
        cmd += ["--model", model]
    proc = subprocess.Popen(cmd)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + startup_s
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"error: the server exited with status {proc.returncode}: {' '.join(cmd)}")
            try:
                if httpx.get(url + "/api/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"error: the server did not answer within {startup_s:.0f} s")
            time.sleep(0.25)
        yield url, proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


async def large_client(client: httpx.AsyncClient, url: str, photo: bytes, deadline: float, result: LoadResult) -> None:
    """Keeps posting a large photo; a 503 is counted as ``busy`` and retried after ``Retry-After`` (at most 1 s)."""
    while time.perf_counter() < deadline:
        start = time.perf_counter()
        try:
            resp = await client.post(url, content=photo)
        except httpx.HTTPError as err:
            result.errors[type(err).__name__] += 1
            continue
        if resp.status_code == 200:
            result.latencies.append(time.perf_counter() - start)
        elif resp.status_code == 503:
            result.errors["busy (503)"] += 1
            await asyncio.sleep(min(1.0, float(resp.headers.get("retry-after", "1"))))
        else:
            result.errors[f"HTTP {resp.status_code}"] += 1


async def run_load(
    url: str, photo: bytes, clients: int, seconds: float, large: bytes | None = None, large_clients: int = 0
) -> tuple[LoadResult, LoadResult]:
    """``clients`` loops, each posting ``photo`` and waiting for the answer, until ``seconds`` have passed, beside
    ``large_clients`` loops posting ``large``. Returns (normal clients' result, large clients' result)."""
    result = LoadResult(clients, seconds)
    large_result = LoadResult(large_clients, seconds)
    limits = httpx.Limits(max_connections=clients + large_clients, max_keepalive_connections=clients + large_clients)
    async with httpx.AsyncClient(timeout=REQUEST_TIMEOUT_S, limits=limits) as client:
        warm = await client.post(url, content=photo)  # the first request pays for lazy set-up; not counted
        if warm.status_code != 200:
            raise SystemExit(f"error: warm-up request failed with {warm.status_code}: {warm.text[:300]}")
        deadline = time.perf_counter() + seconds

        async def one_client() -> None:
            while time.perf_counter() < deadline:
                start = time.perf_counter()
                try:
                    resp = await client.post(url, content=photo)
                except httpx.HTTPError as err:
                    result.errors[type(err).__name__] += 1
                    continue
                if resp.status_code == 200 and resp.content:
                    result.latencies.append(time.perf_counter() - start)
                else:
                    result.errors[f"HTTP {resp.status_code}"] += 1

        started = time.perf_counter()
        bombs = (
            [large_client(client, url, large, deadline, large_result) for _ in range(large_clients)] if large else []
        )
        await asyncio.gather(*(one_client() for _ in range(clients)), *bombs)
        result.seconds = large_result.seconds = time.perf_counter() - started  # includes the last tails
    return result, large_result


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--url", help="a running server's base URL (loopback only); default: start one")
    p.add_argument("--model", default=None, help="ONNX model for the server this script starts")
    p.add_argument("--clients", type=int, default=8, help=f"concurrent clients, 1..{MAX_CLIENTS} (default 8)")
    p.add_argument("--seconds", type=float, default=20.0, help=f"duration, up to {MAX_SECONDS:.0f} (default 20)")
    p.add_argument(
        "--image",
        type=Path,
        help="photo to send (default: a pet photo from ../shared/data, else a synthetic JPEG, of --size)",
    )
    p.add_argument("--size", default="1024x768", help="size WxH of the default photo (default 1024x768)")
    p.add_argument("--endpoint", choices=("splash", "mask"), default="splash")
    p.add_argument("--query", default="", help="options as a query string, e.g. effect=blur&feather=3")
    p.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    p.add_argument("--large-clients", type=int, default=0, help="clients sending a large PNG at the same time")
    p.add_argument("--large-size", default="7000x7000", help="size WxH of that PNG (default 7000x7000)")
    args = p.parse_args(argv)
    if not 1 <= args.clients + args.large_clients <= MAX_CLIENTS or not 0 < args.seconds <= MAX_SECONDS:
        p.error(f"--clients plus --large-clients must be 1..{MAX_CLIENTS} and --seconds in (0, {MAX_SECONDS:.0f}]")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.image:
        photo = args.image.read_bytes()
        what = f"{args.image.name} ({len(photo) / 1e6:.2f} MB)"
    else:
        w, h = (int(v) for v in args.size.lower().split("x"))
        real = real_photo_jpeg(w, h)
        photo, what = (
            (real, f"Oxford pet photo resized to {w}x{h}, JPEG")
            if real
            else (synthetic_photo(w, h), f"synthetic {w}x{h} JPEG")
        )
    path = f"/api/{args.endpoint}" + (f"?{args.query}" if args.query else "")
    large = None
    if args.large_clients:
        lw, lh = (int(v) for v in args.large_size.lower().split("x"))
        large = large_png(lw, lh)

    def go(base: str) -> tuple[LoadResult, LoadResult]:
        require_loopback(base)
        return asyncio.run(
            run_load(base.rstrip("/") + path, photo, args.clients, args.seconds, large, args.large_clients)
        )

    peak = None
    if args.url:
        result, large_result = go(args.url)
    else:
        with local_server(args.model) as (base, pid):
            result, large_result = go(base)
            peak = peak_rss_mb(pid)
    summary = result.summary()
    print(f"POST {path}  photo: {what}  clients: {args.clients}  cpus: {os.cpu_count()}")
    print(f"requests: {summary['requests']} in {summary['seconds']} s  ->  {summary['requests_per_s']} requests/s")
    print(f"latency: p50 {summary['p50_ms']} ms  p95 {summary['p95_ms']} ms  max {summary['max_ms']} ms")
    print(f"errors: {summary['errors']} {summary['errors_by_kind'] or ''}".rstrip())
    figures: dict[str, object] = {"path": path, "photo": what, "cpus": os.cpu_count(), **summary}
    if large is not None:
        big = large_result.summary()
        print(
            f"large clients: {args.large_clients} x {args.large_size} PNG ({len(large) / 1e6:.1f} MB): "
            f"{big['requests']} done (p50 {big['p50_ms']} ms), answers {big['errors_by_kind'] or 'all 200'}"
        )
        figures["large"] = {"size": args.large_size, **big}
    if peak is not None:
        print(f"server peak memory (VmHWM): {peak:.0f} MB")
        figures["server_peak_mb"] = round(peak)
    if args.json:
        tmp = args.json.with_name(args.json.name + ".tmp")
        tmp.write_text(json.dumps(figures, indent=2))
        os.replace(tmp, args.json)  # atomic: no half-written file if interrupted
    return 1 if summary["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
