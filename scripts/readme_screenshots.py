"""Make the README's screenshots of ``colorsplash serve``: docs/img/serve.png (laptop) and serve-phone.png (phone).

Not a test: it starts ``python -m colorsplash serve`` with the default model on a free loopback port, opens the
page in Debian's headless Chromium through Playwright, splashes examples/chelsea.jpg and saves full-page
screenshots. Needs the server and dev extras and ``apt-get install -y chromium``::

    python scripts/readme_screenshots.py [--out docs/img]
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
VIEWS = {
    "serve.png": {"viewport": {"width": 1280, "height": 800}},
    "serve-phone.png": {
        "viewport": {"width": 390, "height": 844},
        "device_scale_factor": 2,
        "is_mobile": True,
        "has_touch": True,
    },
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(port: int) -> subprocess.Popen[bytes]:
    """The server in a child process; returns once it answers on ``port`` (or raises after 60 s)."""
    proc = subprocess.Popen([sys.executable, "-m", "colorsplash", "-q", "serve", "--port", str(port)])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2)  # noqa: S310 (loopback)
            return proc
        except OSError:
            time.sleep(0.2)
    proc.terminate()
    raise RuntimeError("colorsplash serve did not answer within 60 s")


def shoot(url: str, out_dir: Path) -> None:
    from playwright.sync_api import sync_playwright

    photo = ROOT / "examples" / "chelsea.jpg"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        for name, context in VIEWS.items():
            ctx = browser.new_context(**context)  # type: ignore[arg-type]
            page = ctx.new_page()
            page.goto(url + "/")
            page.set_input_files("#file", str(photo))
            page.wait_for_function(
                "() => Number(document.getElementById('result').dataset.seq || 0) > 0", timeout=60_000
            )
            page.screenshot(path=str(out_dir / name), full_page=True)
            print(f"wrote {out_dir / name}")
            ctx.close()
        browser.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img", help="folder for the PNGs")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    port = free_port()
    server = start_server(port)
    try:
        shoot(f"http://127.0.0.1:{port}", args.out)
    finally:
        server.terminate()
        server.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
