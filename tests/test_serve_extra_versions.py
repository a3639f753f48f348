"""``serve`` with the server extra's packages present but older than the extra asks (a FastAPI project's
environment): one line naming them and the install command, not a server answering 500 to every request."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
try:
    importlib.metadata.requires("colorsplash")
except importlib.metadata.PackageNotFoundError:
    pytest.skip("colorsplash is not installed: its extras' minimums are unknown", allow_module_level=True)


REAL_VERSION = importlib.metadata.version


def _installed_with(monkeypatch: pytest.MonkeyPatch, **versions: str) -> None:
    monkeypatch.setattr(importlib.metadata, "version", lambda name: versions.get(name, REAL_VERSION(name)))


def test_serve_refuses_a_starlette_older_than_the_server_extra_asks(
    tiny_onnx: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Audit (packaging): with starlette 0.38 (fastapi 0.115) and --allowed-origin, serve started and every
    request answered 500 (CORSMiddleware got an unexpected keyword argument 'allow_private_network')."""
    import uvicorn

    from colorsplash import cli

    ran: list[Any] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: ran.append(kw))
    _installed_with(monkeypatch, starlette="0.38.6")
    assert cli.main(["serve", "--model", str(tiny_onnx)]) == 2
    err = capsys.readouterr().err
    assert not ran
    assert "serve needs newer packages of the server extra (starlette 0.38.6, at least 0.51)" in err
    assert "pip install 'colorsplash[server]'" in err and len(err.strip().splitlines()) == 1


def test_the_extra_check_reads_the_minimums_from_the_installed_metadata(monkeypatch: pytest.MonkeyPatch) -> None:
    """pyproject.toml owns the minimums: a release at or above one passes, below it is named, a package the extra
    does not list is not looked at."""
    from colorsplash.cli.common import outdated_extra

    assert outdated_extra("server") == []
    _installed_with(monkeypatch, starlette="0.51", uvicorn="0.28.1", fastapi="0.128.3")
    assert outdated_extra("server") == ["uvicorn 0.28.1, at least 0.29"]
    _installed_with(monkeypatch, **{"python-multipart": "0.0.9", "imageio-ffmpeg": "0.5.1"})
    assert outdated_extra("server") == ["python-multipart 0.0.9, at least 0.0.13"]


def test_a_missing_server_package_is_one_line_naming_the_verb_once(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """It read "colorsplash serve: error: colorsplash serve needs the server extra ...": the verb said twice, where
    train and video say "train needs PyTorch ..." after the prefix."""
    import sys

    from colorsplash import cli

    monkeypatch.setitem(sys.modules, "uvicorn", None)  # what an environment without the extra gives the import
    assert cli.main(["serve"]) == 2
    err = capsys.readouterr().err
    assert err == (
        "colorsplash serve: error: serve needs the server extra (uvicorn is missing): "
        "pip install 'colorsplash[server]'\n"
    )
