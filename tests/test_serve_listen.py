"""``colorsplash serve`` refuses what it cannot listen on in one line naming the option, before it announces an
address (no traceback)."""

from __future__ import annotations

import socket

import pytest

from colorsplash import cli


@pytest.mark.parametrize("port", ["99999", "-1", "0"])
def test_a_port_out_of_range_is_refused_naming_the_option(port: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["serve", "--port", port]) == 2
    err = capsys.readouterr().err
    assert "--port" in err and "1 to 65535" in err and "Traceback" not in err and "open http" not in err


def test_a_port_in_use_is_refused_before_the_address_is_announced(
    tiny_onnx: object, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("uvicorn")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert cli.main(["serve", "--port", str(port), "--model", str(tiny_onnx)]) == 2
    err = capsys.readouterr().err
    assert f"port {port}" in err and "in use" in err and "--port" in err, err
    assert "open http" not in err and "Traceback" not in err


def test_a_port_taken_while_the_model_loads_is_refused_before_the_address_is_announced(
    tiny_onnx: object, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The port was checked before the model's load (seconds), and another process took it meanwhile: uvicorn's own
    bind error came after the start-up lines that announced the address."""
    pytest.importorskip("uvicorn")
    from colorsplash.server import app as server_app

    with socket.socket() as probe:  # a port free now
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    taker = socket.socket()
    real = server_app.create_app

    def load_then_lose_the_port(**kwargs: object) -> object:
        made = real(**kwargs)  # type: ignore[arg-type]
        taker.bind(("127.0.0.1", port))
        taker.listen()
        return made

    monkeypatch.setattr(server_app, "create_app", load_then_lose_the_port)
    with taker:
        assert cli.main(["serve", "--port", str(port), "--model", str(tiny_onnx)]) == 2
    err = capsys.readouterr().err
    assert f"port {port}" in err and "in use" in err and "open http" not in err and "Traceback" not in err, err


def test_an_unknown_host_is_refused_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("uvicorn")
    assert cli.main(["serve", "--host", "999.1.1.1", "--port", "8123"]) == 2
    err = capsys.readouterr().err
    assert "--host 999.1.1.1" in err and "open http" not in err and "Traceback" not in err


def test_an_address_the_system_lacks_is_passed_over_while_another_binds(monkeypatch: pytest.MonkeyPatch) -> None:
    """As asyncio's server: ``localhost`` resolving to ``::1`` (IPv6 off: EADDRNOTAVAIL) and 127.0.0.1 still serves."""
    from colorsplash.cli import serve

    real = socket.getaddrinfo("127.0.0.1", 0, type=socket.SOCK_STREAM)[0]
    lacking = (socket.AF_INET, socket.SOCK_STREAM, 0, "", ("192.0.2.1", 0))  # TEST-NET: not this computer's
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: [lacking, real])
    serve.check_can_listen("localhost", 0)
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: [lacking])
    with pytest.raises(RuntimeError, match="not an address of this computer"):
        serve.check_can_listen("localhost", 0)


def test_an_empty_host_is_refused_naming_the_option(capsys: pytest.CaptureFixture[str]) -> None:
    """``--host "$HOST"`` with the variable unset said "--host : not an address or name this computer knows"."""
    assert cli.main(["serve", "--host", "", "--port", "8123"]) == 2
    err = capsys.readouterr().err
    assert "argument --host: got an empty name; give an address: 127.0.0.1" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("given", "said"),
    [
        ("photos.example.org", "give its scheme and host, e.g. https://photos.example.org"),
        ("localhost:8080", "give its scheme and host, e.g. https://localhost:8080"),
        ("https://photos.example.org/app/", "(no path): https://photos.example.org"),
    ],
)
def test_an_allowed_origin_no_browser_sends_is_refused(
    given: str, said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--allowed-origin photos.example.org`` (no scheme) was taken and never matched a browser's ``Origin``
    (``https://photos.example.org``): every page of it got 403, the server's start said nothing."""
    assert cli.main(["serve", "--allowed-origin", given, "--port", "8123"]) == 2
    err = capsys.readouterr().err
    assert "argument --allowed-origin:" in err and said in err and "Traceback" not in err, err


def test_allowed_origins_browsers_send_are_taken() -> None:
    from colorsplash.cli.serve import web_origin

    for origin in ("*", "null", "https://photos.example.org", "http://192.168.1.5:8000", "https://x.org/"):
        assert web_origin(origin) == origin


def test_a_null_origin_in_capitals_is_said_in_the_way_browsers_send_it() -> None:
    """``--allowed-origin NULL`` was "not a web page's origin; give its scheme and host, e.g. https://NULL"."""
    from colorsplash.cli.serve import web_origin

    with pytest.raises(ValueError, match="is written null") as said:
        web_origin("NULL")
    assert "https://" not in str(said.value)
