"""Whether ``serve``'s time limit on a request's headers (``server/connections.py``) fits the installed uvicorn:
``serve`` refuses to start on a uvicorn whose protocol classes do not behave as the timer needs, and gives uvicorn
the protocol class with the timer of its ``--header-timeout``. The timer itself, over uvicorn:
``test_server_headers.py``."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from helpers.header_timeout import DRAIN, TIMEOUT

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
from uvicorn.protocols.http.h11_impl import H11Protocol  # noqa: E402

from colorsplash.server import connections  # noqa: E402
from colorsplash.server.connections import HeaderDeadline, header_timeout_protocol  # noqa: E402


class RenamedCycle(H11Protocol):
    """A uvicorn that keeps its request cycle under another name (what a later version might do)."""

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self.request_cycle, self.cycle = self.cycle, None


class NewSignature(H11Protocol):
    def __init__(self, config: Any, server_state: Any, app_state: Any, pool: Any) -> None:
        super().__init__(config, server_state, app_state)


class ClosesWithAbort(H11Protocol):
    """A uvicorn that ends a connection with ``abort`` (a reset), not ``close``: no lingering close is possible."""

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self.transport.close = self.transport.abort  # type: ignore[method-assign]


CHANGED = [
    (RenamedCycle, "once a request's headers are complete, the connection waits against the clock for headers"),
    (
        ClosesWithAbort,
        "after an answer with Connection: close sent before the body was read, the connection waits against the "
        "clock for nothing instead of linger",
    ),
    (NewSignature, "serving a test request failed (TypeError: "),
]


@pytest.mark.parametrize(("changed", "problem"), CHANGED)
def test_the_header_timeout_refuses_protocol_classes_it_does_not_fit(
    changed: type[asyncio.Protocol], problem: str
) -> None:
    """The check behind ``serve``'s start (no model needed: it runs on the oldest supported uvicorn in CI too)."""
    with pytest.raises(connections.UnsupportedUvicornError, match="does not work with uvicorn") as caught:
        header_timeout_protocol(TIMEOUT, DRAIN, changed)
    assert problem in str(caught.value)


@pytest.mark.parametrize(("changed", "problem"), CHANGED)
def test_serve_refuses_to_start_on_a_uvicorn_whose_protocol_the_timeout_does_not_fit(
    tiny_onnx: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    changed: type[asyncio.Protocol],
    problem: str,
) -> None:
    """Rather than serve without the header timeout: an error naming the installed and the tested versions."""
    from colorsplash import cli

    uvicorn = pytest.importorskip("uvicorn")
    ran: list[Any] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: ran.append(kw))
    monkeypatch.setattr(connections, "auto_protocol", lambda: changed)
    assert cli.main(["serve", "--model", str(tiny_onnx)]) == 2
    err = capsys.readouterr().err
    assert not ran
    assert f"the request header timeout does not work with uvicorn {uvicorn.__version__}: {problem}" in err
    low, high = connections.TESTED_UVICORN
    assert f"It is tested with uvicorn {low} to {high}" in err


def test_serve_runs_uvicorn_with_the_header_timeout_of_its_flag(
    tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--header-timeout`` reaches the protocol class ``serve`` gives uvicorn (the one ``http="auto"`` picks,
    with the timer)."""
    from colorsplash import cli

    uvicorn = pytest.importorskip("uvicorn")
    from uvicorn.protocols.http.auto import AutoHTTPProtocol

    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.update(kw, app=app))
    assert cli.main(["serve", "--model", str(tiny_onnx), "--header-timeout", "2.5"]) == 0
    protocol = seen["http"]
    assert issubclass(protocol, HeaderDeadline) and issubclass(protocol, AutoHTTPProtocol)
    assert protocol.header_timeout_s == seen["app"].state.settings.header_timeout_s == 2.5


def test_the_header_size_limit_refuses_a_uvicorn_whose_parser_ends_headers_elsewhere() -> None:
    """The 431 for headers over ``MAX_HEADER_BYTES`` (httptools only: h11 stops at 16 KB itself) follows the
    parser's callbacks. A uvicorn whose parser told the end of a request's headers to another method would have
    its uploads over 32 KB refused as headers: ``serve`` refuses to start instead."""
    httptools = pytest.importorskip("httptools")
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    class Callbacks:
        """The parser's callbacks: the protocol's own, but the end of the headers uvicorn's alone."""

        def __init__(self, conn: Any) -> None:
            self.conn = conn

        def __getattr__(self, name: str) -> Any:
            owner = HttpToolsProtocol if name == "on_headers_complete" else type(self.conn)
            return getattr(owner, name).__get__(self.conn)

    class OwnHeadersEnd(HttpToolsProtocol):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.parser = httptools.HttpRequestParser(Callbacks(self))

    header_timeout_protocol(TIMEOUT, DRAIN, HttpToolsProtocol)  # uvicorn's own class passes
    with pytest.raises(connections.UnsupportedUvicornError, match="does not work with uvicorn") as caught:
        header_timeout_protocol(TIMEOUT, DRAIN, OwnHeadersEnd)
    assert "over the header size limit was refused as one whose headers are" in str(caught.value)
