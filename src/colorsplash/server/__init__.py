"""The web page and HTTP API (``colorsplash serve``): app.py (routes), guard.py (Host allow-list, Origin check),
limits.py (upload size, memory budget of the work in flight), fair.py (turns by client for the photos waiting for a
worker or the budget), connections.py (the time limit on a request's headers, in uvicorn's protocol class;
protocol_check.py checks that class at start; send_deadline.py: a client that reads nothing of its answer),
work.py (reading uploads, making results), workers.py (the worker
threads, the model session each request uses), errors.py (JSON errors), openapi.py (the API's description),
settings.py (limits and allow-lists), web/ (page).
The default limits and a job's memory estimate are defined here, beside no heavy import, so that ``serve --help``
states the server's own defaults."""

from colorsplash.runtime.wording import printable as printable  # re-exported: the server's modules import it here

# Where ``colorsplash serve`` listens by default: this computer only (the server has no authentication). Defined
# here, beside no heavy import, so the CLI can show it without loading FastAPI.
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000

# The default limits of one server (used by ``settings.ServerSettings``; here so ``serve --help`` states them).
DEFAULT_MAX_UPLOAD_BYTES = 25 * 1024 * 1024
# Requests served at once (``limits.RequestLimitMiddleware``); more are answered 503 busy with ``Retry-After``, as
# JSON. Uploads are held in memory while they arrive, before the memory budget sees them: without a cap, many slow
# or parallel uploads from a network (``--host 0.0.0.0``) could hold any amount (32 x the upload limit: 800 MB by
# default).
MAX_REQUESTS = 32


def connection_limit(max_requests: int) -> int:
    """Open connections uvicorn keeps (``limit_concurrency``), a backstop for idle keep-alive ones: above it uvicorn
    answers its own plain-text 503. Twice the requests, so that requests meet the app's limit first."""
    return 2 * max_requests


MAX_CONNECTIONS = connection_limit(MAX_REQUESTS)


def per_client_default(max_requests: int) -> int:
    """Requests served at once from one client address by default (``limits.RequestLimitMiddleware``): half of
    ``max_requests``, at least 1, so that one address never takes every slot. Not 2, the most one person's page asks
    at once (a preview and a full-size download): the page loads its own files side by side (browsers open up to 6
    connections), a preview the page abandoned holds its slot until the server notices, and people behind one
    router (a home, an office) share an address."""
    return max(1, max_requests // 2)


MAX_PER_CLIENT = per_client_default(MAX_REQUESTS)
# Longest time a request's body may take to arrive, counted from its headers (``limits.BodyLimitMiddleware``); past
# it the request is answered 408 and its slot freed: a client sending a byte a second (slowloris) otherwise held one
# of the MAX_REQUESTS slots for as long as it liked, and that many of them locked everyone out. A 10 MB photo
# arrives in 60 s from 1.4 Mbit/s up; the 25 MB limit needs 3.5 Mbit/s.
DEFAULT_UPLOAD_TIMEOUT_S = 60.0
# Longest time a request's line and headers may take to arrive, counted from the connection's opening (or, kept
# alive, from the next request's first byte); past it the connection is closed (``connections.HeaderDeadline``):
# uvicorn has no such limit, and 64 clients sending their headers a byte a second held every connection. A
# request's headers are under 2 KB: 10 s is ample on any link.
DEFAULT_HEADER_TIMEOUT_S = 10.0
# Most bytes of a request's line and headers (``head_limit.HeadLimit``; nginx's default is 32 KB too): past it the
# client gets 431 and the connection is closed; a chunked body's sizes and trailers get as much beyond its own bytes.
# uvicorn's httptools protocol kept every header byte until the headers ended (h11 stops at 16 KB): 600 MB of
# headers sent in 6 s took 600 MB of the server's memory, 9 MB of tiny headers 230 MB, beside the memory budget. A
# browser's request, cookies included, is a few KB.
MAX_HEADER_BYTES = 32 * 1024
SERVER_MAX_PIXELS = 50_000_000  # per request: a 48 MP phone photo passes; lower than the CLI's DEFAULT_MAX_PIXELS
# Peak bytes per pixel of one splash (decode, model, refined alpha, effect, encode), the unit of the memory budget
# (``limits.py``). Measured with ru_maxrss on 4000x3000 photos with the bundled model: 14-17 B/px for
# grey/transparent, 20 B/px for blur on a photo with a subject (edge refinement at full size). Since the server
# decontaminates matte edges as the CLI does (effects.composite), its blend step peaks higher by 4.2 (grey), 6.0
# (blur) and 3.0 (transparent) B/px (tracemalloc on a 12 MP photo, 2026-12-01): about 21 and 26 B/px; 28 leaves
# room for changes.
BYTES_PER_PIXEL = 28
# Peak bytes per counted pixel of a viewable copy (``POST /api/view``: decode upright, encode JPEG; no model, no
# alpha). ru_maxrss over the resident size on 12 MP pictures (2026-12-01): 10.5 B/px for an iPhone-like HEIC
# (orientation 6), 12.4 for a JPEG, 19.2 per counted pixel for an RGBA PNG (27 per pixel; it counts as 1.42 x its
# pixels); 20 covers them.
VIEW_BYTES_PER_PIXEL = 20


def estimate_bytes(pixels: int | None, data_bytes: int, per_pixel: int = BYTES_PER_PIXEL) -> int:
    """Peak memory of one job on a photo counted as ``pixels`` (``limits.PhotoSize.counted``; ``None``: unreadable,
    it fails at decoding) whose upload is ``data_bytes`` long (held until the job ends), at ``per_pixel`` bytes
    per pixel (a splash's; :data:`VIEW_BYTES_PER_PIXEL` for a viewable copy). The model's own buffers do not grow
    with the photo; they are bounded by the number of workers, not by this budget."""
    return (pixels or 0) * per_pixel + data_bytes


def required_budget(max_pixels: int, max_upload_bytes: int) -> int:
    """The smallest budget that still admits the largest photo the other limits allow."""
    return estimate_bytes(max_pixels, max_upload_bytes)


def peer_name(client: tuple[str, int] | None) -> str:
    """A connection's client (uvicorn's ``client``: address, port) as the log lines name it, :func:`printable`."""
    return printable(f"{client[0]}:{client[1]}") if client else "a client"
