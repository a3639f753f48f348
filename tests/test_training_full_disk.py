"""A checkpoint or exported model that cannot be written (a full disk, a file size limit) is said in words naming
the file: ``train`` said torch's "[enforce fail at inline_container.cc:672] . unexpected pos ...", ``export``
"[Errno 28] No space left on device"; no file of it is left."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
resource = pytest.importorskip("resource")  # POSIX: the file size limit stands in for a full disk

from colorsplash.runtime.files import TOO_LARGE_FILE, TOO_LARGE_TODO  # noqa: E402
from colorsplash.training.checkpoint import atomic_torch_save  # noqa: E402


@pytest.fixture
def file_size_limit() -> Iterator[int]:
    """Files written past 4 KiB fail with EFBIG (Python ignores SIGXFSZ), as on a full disk; then restored."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    limit = 4096  # under the tiny U-Net's ONNX file
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield limit
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))


def test_a_checkpoint_that_cannot_be_written_names_the_file(tmp_path: Path, file_size_limit: int) -> None:
    path = tmp_path / "last.pt"
    with pytest.raises(
        OSError, match=r"cannot write .*last.pt: larger than this system lets a file be \(`ulimit -f`"
    ) as caught:
        atomic_torch_save({"weights": torch.zeros(4 * file_size_limit)}, path)
    assert "enforce fail" not in str(caught.value)
    assert list(tmp_path.iterdir()) == []


def test_a_checkpoint_written_through_the_sink_loads(tmp_path: Path) -> None:
    atomic_torch_save({"weights": torch.arange(5)}, tmp_path / "best.pt")
    assert torch.equal(torch.load(tmp_path / "best.pt", weights_only=True)["weights"], torch.arange(5))


def test_an_export_that_cannot_be_written_names_the_file(
    tiny_checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], file_size_limit: int
) -> None:
    from colorsplash.cli import main

    out = tmp_path / "models" / "mine.onnx"
    assert main(["export", str(tiny_checkpoint), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"cannot write {out}: {TOO_LARGE_FILE}; {TOO_LARGE_TODO}" in err and "Errno" not in err
    assert list(tmp_path.iterdir()) == []  # neither the file nor the folder made for it


@pytest.mark.parametrize("loss", ["tail", "bytes"])
def test_a_checkpoint_that_does_not_read_back_is_not_published(
    loss: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A disk that takes the writes and loses some (the tail, or flipped bytes in a weight): the file was renamed
    into place as ``best.pt``; it is re-opened first, and refused in words naming it."""
    from colorsplash.training import checkpoint

    written = bytearray()

    def lossy(self: object, data: bytes) -> int:
        written.extend(data)
        if loss == "tail" and len(written) > 1500:
            return len(data)  # said written, never stored
        if loss == "bytes" and b"\x01\x02\x03\x04" in bytes(data):
            data = bytes(data).replace(b"\x01\x02\x03\x04", b"\x09\x09\x09\x09")
        return self._fp.write(data)  # type: ignore[attr-defined]

    monkeypatch.setattr(checkpoint._Sink, "write", lossy)
    weights = torch.tensor([1, 2, 3, 4] * 500, dtype=torch.uint8)
    path = tmp_path / "best.pt"
    with pytest.raises(
        OSError, match=f"cannot write {path}: the checkpoint written .*nothing was written.*check the disk"
    ):
        atomic_torch_save({"format": "x", "state_dict": {"w": weights}}, path)
    assert list(tmp_path.iterdir()) == []


def test_a_checkpoint_of_a_diverged_run_reads_back_as_written(tmp_path: Path) -> None:
    """A run whose loss went to NaN saves NaN weights (``last.pt`` each epoch): the read-back compared them with
    ``torch.equal``, for which NaN is not NaN, and stopped the run blaming the disk. They are the same bits."""
    weights = torch.tensor([float("nan"), 1.0, float("inf")])
    path = tmp_path / "last.pt"
    atomic_torch_save({"format": "x", "state_dict": {"w": weights, "steps": torch.tensor(3)}}, path)
    loaded = torch.load(path, weights_only=True)["state_dict"]["w"]
    assert torch.isnan(loaded[0]) and loaded[1] == 1.0 and torch.isinf(loaded[2])


def _damaged_key(self: object, data: bytes) -> int:
    """A write that changes one byte of a key's name in the pickle (a bad disk): ``torch.load`` raises
    ``UnicodeDecodeError``, not one of the errors of a file cut short."""
    return self._fp.write(bytes(data).replace(b"history", b"\xffistory"))  # type: ignore[attr-defined]


def test_a_checkpoint_whose_pickle_is_damaged_is_refused_in_words(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Some damage makes ``torch.load`` raise ``UnicodeDecodeError``, ``KeyError``, ``ValueError`` or ``TypeError``
    (about one damaged copy in ten): the read-back let them through as a traceback naming no file."""
    from colorsplash.training import checkpoint

    monkeypatch.setattr(checkpoint._Sink, "write", _damaged_key)
    path = tmp_path / "last.pt"
    with pytest.raises(OSError, match=f"cannot write {path}: the checkpoint written did not read back"):
        atomic_torch_save({"format": "x", "state_dict": {}, "history": [1]}, path)
    assert list(tmp_path.iterdir()) == []


def test_a_damaged_checkpoint_is_named_when_it_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``export`` and ``--resume`` of such a copy (the one owner of what a damaged pickle raises)."""
    from colorsplash.training import checkpoint

    path = tmp_path / "best.pt"
    with open(path, "wb") as fp:
        torch.save({"format": checkpoint.FORMAT, "state_dict": {}, "history": [1]}, fp)
    path.write_bytes(path.read_bytes().replace(b"history", b"\xffistory"))
    with pytest.raises(ValueError, match=f"{path}: "):
        checkpoint.read_checkpoint(path)


def test_a_checkpoint_that_reads_back_as_no_dict_is_not_published(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file that unpickles to something else than the dict written (a list) raised AttributeError ('list' object
    has no attribute 'get') from the read-back, naming no file."""
    from colorsplash.training import checkpoint

    monkeypatch.setattr(checkpoint.torch, "load", lambda *a, **k: [1, 2])
    path = tmp_path / "last.pt"
    with pytest.raises(OSError, match=f"cannot write {path}: the checkpoint written read back other than"):
        atomic_torch_save({"format": "x", "state_dict": {"w": torch.zeros(2)}}, path)
    assert list(tmp_path.iterdir()) == []
