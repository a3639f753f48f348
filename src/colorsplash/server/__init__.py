"""The web page and HTTP API (``colorsplash serve``): app.py (routes), guard.py (Host allow-list, Origin check),
limits.py (upload size, memory budget of the work in flight), work.py (reading uploads, making results),
errors.py (JSON errors), openapi.py (the API's description), settings.py (limits and allow-lists), web/ (page)."""

# Where ``colorsplash serve`` listens by default: this computer only (the server has no authentication). Defined
# here, beside no heavy import, so the CLI can show it without loading FastAPI.
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
