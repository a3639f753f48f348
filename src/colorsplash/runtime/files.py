"""Writing files safely: the one owner of "write to a temporary name, check, then rename".

Every file colorsplash writes (pictures, masks, videos, checkpoints, ONNX models, CSV/JSON reports, plots) goes
through :func:`atomic_path` or :func:`atomic_write`: the bytes land in a hidden temporary file in the destination
folder, an optional ``verify`` callback re-opens it, and only then does ``os.replace`` give it its final name. An
interrupted or failed write never leaves a half-written file under the final name, and the temporary file is
removed on every error, Ctrl-C included.

:func:`not_a_file` is the one wording of why a path given as an input cannot be read (a folder, a web address, none).
"""

from __future__ import annotations

import errno
import os
import re
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from urllib.parse import urlsplit

from colorsplash.runtime.temp_names import NAME_MAX, name_fits, temp_path_for

# link() fails with these where the file system has no hard links (FAT, some network shares): check, then rename.
# ``scheme:/`` (``pathlib`` keeps one slash of ``https://``); two letters at least, so ``C:/`` stays a drive.
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:/")
_FILE_URL = re.compile(r"^file:/", re.IGNORECASE)  # a local file named as a URL: the path is in it
_NO_LINKS = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK, errno.ENOSYS, errno.EACCES}


# What a path that leads from link to link and never to a file is, said the same wherever one is met.
LINK_LOOP = "a symbolic link in a loop of links (each leads to another, none to a file); fix or remove the link"
# What a name over the limit is, said the same wherever one is met (each place adds its own advice).
TOO_LONG = f"longer than the {NAME_MAX} bytes the system allows in one file or folder name"
# An output that appeared after this run planned its names (another run, a user): never replaced.
NOT_OURS = "already exists and was not made by this run; not replaced"
# A file that reads back other than it was written (atomic_write, checkpoints): what happened and what to do
LOST_WRITES = "nothing was written (a full or failing disk?); free some space or check the disk, then try again"
# For "File too large" (EFBIG), which says neither whose limit nor what to do
TOO_LARGE_FILE = "over this system's file size limit (`ulimit -f`, or FAT32's 4 GB); raise the limit or write elsewhere"


def extension_only(path: str | Path, known: Callable[[str], bool]) -> bool:
    """Whether ``path``'s name is an extension alone that ``known`` takes (``-o .png``, ``-o .mp4``): to Python a
    hidden name without an extension, which was made a folder (``splash``) or refused as having none (``video``).
    Say it with :data:`EXTENSION_ONLY`."""
    name = Path(path).name
    return name.startswith(".") and not Path(path).suffix and known(name)


EXTENSION_ONLY = "is an extension without a name"


def names_folder(text: str) -> bool:
    """Whether a path as typed ends in a separator (``-o shots.jpg/``), so names a folder whatever its name looks
    like: ``Path`` drops that ``/``, so ask this of the text the user gave. The one owner of that rule."""
    return text.endswith(("/", os.sep))


def in_utf8(path: str | Path) -> bool:
    """Whether ``path`` can be given as UTF-8 text to a library that takes no other (ONNX Runtime's sessions,
    PyTorch's ONNX exporter): not when a name in it is in another encoding (``caf\\xe9``, held by Python as a
    surrogate), which those refused with a ``TypeError`` naming their C++ arguments."""
    try:
        os.fspath(path).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def not_replaceable(path: str | Path, switch: str | None = None) -> str | None:
    """Why an output at ``path`` must not be replaced even with ``--overwrite`` (``is ...``, for a line naming
    ``path``), or ``None``: what is there is a folder, or a pipe, socket or device (``-o /dev/null --overwrite`` run
    as root replaced the device with a picture), or a symbolic link to one (``-o /dev/stdout``, a link to the
    terminal or a pipe, was replaced with a picture). ``--overwrite`` replaces files and symbolic links to files or
    to nothing (the link itself, never what it points to). The one owner of that rule: the planners ask it before
    any work, :func:`publish` again at the end.

    ``switch``: the caller's option that replaces files (``"--overwrite"``), named in the words ("--overwrite
    replaces files only"); without one (``train``'s run folder, the Python API, the last check at publishing) they
    only say to choose another output."""
    try:
        mode = os.lstat(path).st_mode
    except OSError:
        return None
    link = stat.S_ISLNK(mode)
    if link:
        try:
            mode = os.stat(path).st_mode
        except OSError:  # a link to nothing
            return None
    if stat.S_ISREG(mode):
        return None
    what = "a folder" if stat.S_ISDIR(mode) else "a pipe, socket or device"
    what = f"a symbolic link to {what} ({os.path.realpath(path)})" if link else what
    advice = f"{switch} replaces files only: choose another output" if switch else "choose another output"
    return f"is {what}, not a file; {advice}"


def unwritable_folder(folder: str | Path) -> str | None:
    """Why no file can be made in ``folder`` (or, where it does not exist yet, in the nearest existing folder above
    it, where it would be created): ``X is on a read-only file system``, ``no permission to write in X``, ``X is a
    file, not a folder`` (a file where a folder of the path would be made) or a folder name longer than the system
    allows (``-o LONG/out`` ran every photo's model, then failed each on "File name too long"); ``None``
    when files can be made there, as far as the system tells before trying. The one owner of that check: the
    planners ask it before any work (a read-only output folder failed every photo at its end, once the model had
    run, and ``evaluate`` once every photo was scored). POSIX only: elsewhere ``None`` (Windows' read-only attribute
    on a folder does not stop files being made in it); the write itself still reports what the check let pass."""
    if os.name != "posix":
        return None
    if not all(name_fits(name) for name in Path(folder).parts):
        return f"a folder name in it is {TOO_LONG}"
    here = Path(os.path.abspath(folder))
    # os.path.isdir, not Path.is_dir, which raises PermissionError under a folder we may not search (that folder is
    # then the one named: no file can be made in it either)
    while not os.path.isdir(here):
        if _unfollowable_link(here) and (target := Path(os.path.realpath(here))) != here:
            here = target  # a link into a folder we may not search: walk up from where it points
            continue
        if os.path.lexists(here):  # the folder would be made under it (it said "File exists" after the work)
            return _in_the_way(here)
        if here.parent == here:
            return None
        here = here.parent
    if os.access(here, os.W_OK | os.X_OK, effective_ids=os.access in os.supports_effective_ids):
        return None
    try:
        read_only = bool(os.statvfs(here).f_flag & os.ST_RDONLY)
    except OSError:
        read_only = False
    return f"{here} is on a read-only file system" if read_only else f"no permission to write in {here}"


def _in_the_way(path: Path) -> str:
    """What ``path``, there but not a folder, is, where a folder of an output's path would be made."""
    if not os.path.islink(path):
        return f"{path} is a file, not a folder"
    if os.path.exists(path):
        return f"{path} is a symbolic link to a file, not a folder"
    return f"{path} is {broken_link(path)}"


def broken_link(path: str | Path) -> str:
    """What ``path``, a symbolic link that leads to no file or folder, is: :data:`LINK_LOOP`, or a link to a name
    that does not exist, named where the chain of links ends (``a`` -> ``b`` -> ``gone``: "a symbolic link to b, a
    link in turn to gone, which does not exist"; such a chain was said to be a loop, or a link to a missing ``b``).
    The one wording of a broken link, wherever one is met."""
    try:
        os.stat(path)
    except OSError as err:
        if err.errno == errno.ELOOP:
            return LINK_LOOP
    target = os.readlink(path)
    end, here = target, os.path.join(os.path.dirname(path), target)
    while os.path.islink(here):  # no loop (stat said so): the chain ends
        end = os.readlink(here)
        here = os.path.join(os.path.dirname(here), end)
    onward = f", a link in turn to {end}" if end != target else ""
    return f"a symbolic link to {target}{onward}, which does not exist"


def _unfollowable_link(path: Path) -> bool:
    """Whether ``path`` is a symbolic link the system will not follow for us (it points under a folder we may not
    search): ``-o link`` said "[Errno 13] Permission denied: 'link'", and ``-o link/out`` was taken for a file in the
    way, so the work ran before the write failed."""
    if not os.path.islink(path):
        return False
    try:
        os.stat(path)
    except PermissionError:
        return True
    except OSError:  # a link to nothing, a loop: the write's own error names it
        return False
    return False


def _publish(tmp: Path, path: Path, replace: bool) -> None:
    """Give ``tmp`` the name ``path``: ``os.replace`` (never over what :func:`not_replaceable` names), or with
    ``replace=False`` a hard link that fails when ``path`` exists (no window in which another process's new file
    could be replaced), then drop ``tmp``.

    Raises:
        FileExistsError: ``replace`` is false and ``path`` exists.
        OSError: ``replace`` is true and ``path`` is a folder, pipe, socket or device.
    """
    if replace:
        if (problem := not_replaceable(path)) is not None:
            raise OSError(errno.EINVAL, problem)
        os.replace(tmp, path)
        return
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise FileExistsError(errno.EEXIST, f"it {NOT_OURS}") from None
    except OSError as err:
        if err.errno not in _NO_LINKS:
            raise
        if os.path.lexists(path):
            raise FileExistsError(errno.EEXIST, f"it {NOT_OURS}") from None
        os.replace(tmp, path)
        return
    tmp.unlink()


def publish(tmp: Path, path: Path, replace: bool) -> None:
    """The last step of :func:`atomic_path` for a writer that makes its own temporary file beside ``path`` (the
    video writer's locked partial file): give ``tmp`` the name ``path``, replacing a file there only with
    ``replace``. The one owner of that step.

    Raises:
        FileExistsError: ``replace`` is false and ``path`` exists (made by someone else meanwhile).
    """
    _publish(tmp, path, replace)


@contextmanager
def atomic_path(path: str | Path, verify: Callable[[Path], None] | None = None, replace: bool = True) -> Iterator[Path]:
    """Context manager yielding a temporary path to write; on a clean exit ``verify(tmp)`` runs, then the file is
    renamed to ``path``. On any exception the temporary file is removed and ``path`` is untouched.

    ``replace=False`` never replaces an existing ``path`` (OSError ``cannot write PATH: it already exists...``),
    even one created while this write ran. The folder is created if needed. Raises OSError naming ``path`` when
    it cannot be written; whatever ``verify`` raises (it should name the problem) propagates after the clean-up.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:  # a file in the way said "File exists": name it (unwritable_folder's words)
        raise OSError(f"cannot write {path}: {unwritable_folder(path.parent) or err.strerror or err}") from err
    tmp = temp_path_for(path)
    try:
        yield tmp
        if verify is not None:
            verify(tmp)
        _publish(tmp, path, replace)
    except OSError as err:
        _discard(tmp)
        raise OSError(
            f"cannot write {path}: {TOO_LARGE_FILE if err.errno == errno.EFBIG else err.strerror or err}"
        ) from err
    except BaseException:  # also Ctrl-C: never leave the temporary file behind
        _discard(tmp)
        raise


@contextmanager
def made_folders_tidied(folder: str | Path) -> Iterator[list[Path]]:
    """When the block ends, remove the folders of ``folder`` and above it that did not exist as it began and are
    empty then (a train or export stopped before writing anything leaves none it made); never one holding anything,
    nor a folder that was there before. Yields that list of folders: a block that makes more (the same folder made
    again after another process removed it) adds them with :func:`missing_folders`."""
    made = missing_folders(folder)
    try:
        yield made
    finally:
        for gone in sorted(set(made), key=lambda f: len(f.parts), reverse=True):  # each before the one above it
            try:
                gone.rmdir()  # the system removes only an empty folder
            except OSError:  # it holds something (a result, another process's lock file) or is gone: keep the rest
                break


def missing_folders(folder: str | Path) -> list[Path]:
    """``folder`` and the folders above it that do not exist (yet), ``folder`` first."""
    missing: list[Path] = []
    folder = Path(folder)
    while not os.path.lexists(folder) and folder.parent != folder:
        missing.append(folder)
        folder = folder.parent
    return missing


def _discard(tmp: Path) -> None:
    """Remove the temporary file if it is there. A read-only folder refuses even the removal of a file that was
    never made (EROFS): that must not replace the error that says which output could not be written."""
    with suppress(OSError):
        tmp.unlink(missing_ok=True)


def atomic_write(
    path: str | Path, data: bytes | str, check: Callable[[bytes], None] | None = None, replace: bool = True
) -> None:
    """Write ``data`` (``str`` as UTF-8) to ``path`` atomically; see :func:`atomic_path`. The file is read back
    once before it is published: the same bytes (else ``OSError``: a disk that lost writes), then ``check(bytes read
    back)``, which raises to refuse them (e.g. a picture that does not decode)."""
    payload = data.encode() if isinstance(data, str) else data

    def read_back(tmp: Path) -> None:
        again = tmp.read_bytes()
        if again != payload:
            raise OSError(f"the file written read back other than it was written; {LOST_WRITES}")
        if check is not None:
            check(again)

    with atomic_path(path, read_back, replace) as tmp:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # mode honours the umask
        with os.fdopen(fd, "wb") as fp:
            fp.write(payload)


def same_file(given: str | Path, output: str | Path) -> bool:
    """Whether writing ``output`` would replace the input file ``given``: the same name once links are followed, or
    another name of the same file (a hard link). The one owner of that question for one input (``video``,
    ``export``); the planners of many photos ask it of every input at once, by their identities."""
    if Path(given).resolve() == Path(output).resolve():
        return True
    with suppress(OSError):
        return os.path.exists(output) and os.path.samefile(given, output)
    return False


def not_a_file(path: str | Path, missing: str = "no such file", advice: str = "") -> str:
    """Why ``path``, given as an input file, is not one (call it when ``Path.is_file()`` is false): it is a folder,
    a pipe, socket or device, a ``file://`` address (the path it holds is named, not opened), a web address (never
    fetched), a symbolic link to nothing (:func:`broken_link`), or ``missing`` (nothing there). The pipe and
    address cases say what to do themselves; ``advice`` (e.g. ``"give a video file"``) ends the folder, link and
    ``missing`` cases, which do not."""
    p = Path(path)
    end = f"; {advice}" if advice else ""
    if p.is_dir():
        return f"is a folder, not a file{end}"
    if p.exists():
        return "is a pipe, socket or device, not a file; save what it holds to a file and name that"
    text = os.fspath(path)
    if _FILE_URL.match(text):
        from urllib.request import url2pathname  # only here: it loads http.client

        local = url2pathname(urlsplit(text).path)
        return f"is a file:// address, not a path; give the file's path itself ({local})"
    if _URL.match(text):
        return "is a web address (URL), not a file: colorsplash reads local files only; download it and give its path"
    if os.path.islink(p):  # ``ls`` shows it: "model file not found" left the user looking at it
        return f"is {broken_link(p)}{end}"
    return f"{missing}{end}"


def file_version(path: str | Path) -> tuple[int, int, int] | None:
    """Which version of the file ``path`` is on disk: its inode, size and modification time (ns), which a file
    written again (:func:`atomic_path` gives it a new inode) changes; ``None`` when it cannot be read (gone)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_ino, st.st_size, st.st_mtime_ns
