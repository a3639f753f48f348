"""Which files a run reads and where each result goes, all decided before anything is written.

Inputs are files, folders (``--recursive``) and glob patterns; each result's name comes from its input's content
format (a PNG named ``.jpg`` gives a ``.png`` result) and is checked against every input and every other output
of the run. A result never replaces an input, nor an existing file this run did not create unless
``overwrite`` (``--overwrite``); such files are one error line each, or skipped with ``skip_existing``.
"""

from __future__ import annotations

import glob
import logging
import os
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from colorsplash.runtime.files import NOT_OURS, TOO_LONG, broken_link, not_a_file, not_replaceable, unwritable_folder
from colorsplash.runtime.pictures.photo_io import (
    DEFAULT_MAX_PIXELS,
    ImageReadError,
    is_image_name,
    is_picture_file,
    probe_picture,
)
from colorsplash.runtime.pictures.photo_write import format_for_suffix, output_format, side_problem
from colorsplash.runtime.scan_notes import (
    MASK_TAG,
    RESULTS,
    SPLASH_TAG,
    say_left_out,
    say_output_partials,
    say_partial,
)
from colorsplash.runtime.temp_names import is_temp_name, name_fits
from colorsplash.runtime.wording import listed

log = logging.getLogger(__name__)

STDIO = Path("-")  # standard input as a source, standard output as an output
_GLOB_CHARS = "*?["
# Clips a folder of phone pictures holds (an iPhone's Live Photo is IMG_0001.HEIC beside IMG_0001.MOV): not
# pictures, left out of a folder's scan with one line that says so and names the verb that splashes them.
VIDEO_EXTENSIONS = (".mov", ".mp4", ".m4v", ".mkv", ".webm", ".avi", ".3gp")


@dataclass(frozen=True)
class Task:
    """One input and where its result goes, decided before anything is written.

    Attributes:
        source: the input file (:data:`STDIO` for standard input, then ``data`` holds its bytes).
        output: the result file (:data:`STDIO` for standard output).
        format: Pillow format of the result (``JPEG``, ``PNG``...).
        source_format: the input's format when planned; a file whose content changed since fails.
    """

    source: Path
    output: Path
    format: str = "PNG"
    source_format: str | None = None
    data: bytes | None = field(default=None, repr=False)

    @property
    def label(self) -> str:
        return "standard input" if self.source == STDIO else str(self.source)


def _is_previous_output(path: Path) -> bool:
    """``cat.splash.jpg`` or ``cat.mask.png``: our own results, not inputs for a rerun."""
    return path.stem.endswith((SPLASH_TAG, MASK_TAG))


def _folder_files(folder: Path, recursive: bool, exclude: Path | None) -> list[Path]:
    found = folder.rglob("*") if recursive else folder.iterdir()
    # The output folder is left out only when it lies inside the scanned one (`photos -r -o photos/out`):
    # `splash . -o .` must still find the pictures in `.`.
    exclude = exclude if exclude is not None and folder.resolve() in exclude.parents else None
    files, earlier, partial, videos, links = [], 0, [], [], []
    for p in found:
        if is_temp_name(p.name):
            partial.append(p)
        if recursive and p.is_symlink() and p.is_dir() and not p.resolve().is_relative_to(folder.resolve()):
            links.append(str(p.relative_to(folder)))  # a link within the scanned tree leaves out nothing
        if not is_picture_file(p):
            if p.suffix.lower() in VIDEO_EXTENSIONS and not p.name.startswith(".") and p.is_file():
                videos.append(str(p.relative_to(folder)))  # -r: 2019/IMG_1.MOV, a path `video` finds
            continue
        if exclude is not None and exclude in p.resolve().parents:
            continue
        if _is_previous_output(p):
            earlier += 1
            continue
        files.append(p)
    say_partial(folder, [str(p.relative_to(folder)) for p in partial])  # -r: photos/2019/.colorsplash-... too
    say_left_out(str(folder), earlier, videos, links)
    return sorted(files)


def _pattern_files(raw: str, recursive: bool) -> tuple[list[Path], str | None]:
    """The pictures glob pattern ``raw`` matches, and the error line when there are none. Earlier results and
    videos it matches are left out with a line, as a folder's are: a pattern of results alone is named so, not as
    one that matches no picture."""
    matches = sorted(Path(m) for m in glob.glob(raw, recursive=recursive))
    pictures = [m for m in matches if m.is_file() and is_image_name(m)]
    files = [m for m in pictures if not _is_previous_output(m)]
    if pictures and not files:
        return [], f"{raw}: matches only earlier results ({RESULTS}), which are left out; name one to include it"
    videos = [m.name for m in matches if m.suffix.lower() in VIDEO_EXTENSIONS and m.is_file()]
    say_left_out(raw, len(pictures) - len(files), videos)
    return files, None if files else f"{raw}: no picture matches this pattern"


def expand_inputs(
    inputs: Sequence[str], recursive: bool = False, exclude: Path | None = None
) -> tuple[list[tuple[Path, Path | None]], list[str]]:
    """Files, folders and glob patterns -> ``(file, folder it was found under or None)`` pairs and error lines.

    Folders give their picture files (by extension; ``--recursive`` descends), skipping hidden files, earlier
    results (``*.splash.*``, ``*.mask.*``) and anything under ``exclude`` (the output folder); patterns skip
    earlier results too (each said in a line).
    """
    items: list[tuple[Path, Path | None]] = []
    errors: list[str] = []
    for raw in inputs:
        path = Path(raw)
        if path.is_dir():
            items.extend((f, path) for f in _folder_files(path, recursive, exclude))
        elif path.is_file():
            items.append((path, None))
        elif any(c in raw for c in _GLOB_CHARS):
            files, error = _pattern_files(raw, recursive)
            errors += [error] if error else []
            items.extend((f, None) for f in files)
        else:
            errors.append(_missing_input(path, raw))
    return _once_each(items), errors


def _once_each(items: list[tuple[Path, Path | None]]) -> list[tuple[Path, Path | None]]:
    """The same file named twice (a folder and a glob, a symbolic link beside its target) is done once, under
    its first name; the names left out are said in one line."""
    first: dict[Path, Path] = {}
    unique, dropped = [], []
    for f, root in items:
        key = f.resolve()
        if key in first:
            dropped.append(f"{f} (named twice)" if f == first[key] else f"{f} (= {first[key]})")
        else:
            first[key] = f
            unique.append((f, root))
    if dropped:
        shown = listed(dropped)
        log.info("left out %d name(s) of a file already in this run (each file is done once): %s", len(dropped), shown)
    return unique


def _missing_input(path: Path, raw: str) -> str:
    """The error line for an INPUT that is neither a file, a folder nor a pattern: say what it is instead."""
    if path.is_symlink() and not path.exists():
        return f"{raw}: {broken_link(path)}"
    return f"{raw}: {not_a_file(path, 'no such file or folder')}"


@dataclass(frozen=True)
class OutputPlan:
    """Where results go and what may be replaced.

    Attributes:
        out_dir: a folder for the results (``-o DIR``), mirroring folder inputs; ``None``: beside each input.
        out_file: the one result file (``-o FILE``, its extension picks the format) or :data:`STDIO`.
        mask: masks (8-bit PNG alpha) instead of splashes.
        alpha: the result has transparency (PNG, WebP or TIFF only).
        overwrite: replace existing files (never an input); else they are errors, or skipped with ``skip_existing``.
    """

    out_dir: Path | None = None
    out_file: Path | None = None
    mask: bool = False
    alpha: bool = False
    overwrite: bool = False
    skip_existing: bool = False


def _result_name(src: Path, fmt: str, ext: str, plan: OutputPlan, folder: Path) -> str:
    if not plan.mask:
        return f"{src.stem}{SPLASH_TAG}{ext}"
    # In a folder of its own a mask takes the photo's stem (DIR/cat.png); beside photos it is tagged.
    other_folder = plan.out_dir is not None and folder.resolve() != src.parent.resolve()
    return f"{src.stem}.png" if other_folder else f"{src.stem}{MASK_TAG}.png"


def _planned_output(src: Path, root: Path | None, source_format: str | None, plan: OutputPlan) -> tuple[Path, str]:
    """(output path, its Pillow format) for one input, from its content format."""
    fmt, ext = ("PNG", ".png") if plan.mask else output_format(source_format, src.suffix, plan.alpha)
    if plan.out_file == STDIO:
        return STDIO, fmt
    if plan.out_file is not None:  # -o FILE: its extension picks the format (checked by the caller)
        return plan.out_file, format_for_suffix(plan.out_file.suffix) or fmt
    if plan.out_dir is None:
        folder = src.parent
    else:
        folder = plan.out_dir / src.parent.relative_to(root) if root is not None else plan.out_dir
    return folder / _result_name(src, fmt, ext, plan, folder), fmt


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_dev, st.st_ino


def plan_tasks(
    items: Iterable[tuple[Path, Path | None]],
    plan: OutputPlan,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    stdin: bytes | None = None,
) -> tuple[list[Task], list[str]]:
    """Decide every output before anything is written: one :class:`Task` per input, or one error line.

    Each input's header is read (its content format names the result; unreadable and over-limit files fail
    here). An output that is an input, the output of an earlier input, too long a name or an existing file
    (unless ``plan.overwrite`` / ``plan.skip_existing``) is an error line naming the input, never a write.
    ``stdin`` holds standard input's bytes when ``items`` has :data:`STDIO`.

    Raises:
        ValueError: ``-o`` names a place where no file can be made (one refusal of the run, not a line a photo).
    """
    items = list(items)
    inputs = {f.resolve() for f, _ in items if f != STDIO}
    identities = {i for f, _ in items if f != STDIO and (i := _identity(f)) is not None}
    hint = "rename one of them" if plan.out_dir or plan.out_file else "rename one of them or use -o DIR"
    tasks: list[Task] = []
    errors: list[str] = []
    taken: dict[str, str] = {}  # by _one_file_key: on macOS A.png and a.png, café in NFC and NFD, are one file
    blocked = 0  # outputs in a folder where no file can be made
    _refuse_long_name(plan)
    for src, root in items:
        label = "standard input" if src == STDIO else str(src)
        try:
            info = probe_picture(stdin if src == STDIO and stdin is not None else src, label, max_pixels)
        except ImageReadError as err:
            errors.append(str(err))
            continue
        out, fmt = _planned_output(src, root, info.format, plan)
        problem = _output_problem(out, inputs, identities, taken, plan, hint)
        problem = side_problem(info.width, info.height, fmt) or problem  # from the header: before any decoding
        if problem is None and (problem := _unwritable_output(out, plan)) is not None:
            blocked += 1
        if problem:
            errors.append(f"{label}: {problem}{_apart_hint(src, out, taken, plan)}")
            continue
        if out != STDIO:
            taken[_one_file_key(out)] = label
        tasks.append(Task(src, out, fmt, info.format, stdin if src == STDIO else None))
    if blocked:
        _refuse_destination(plan)
    say_output_partials(
        {t.output.parent for t in tasks if t.output != STDIO}, {f.parent.resolve() for f, root in items if root}
    )
    return tasks, errors


def _one_file_key(out: Path) -> str:
    """The key under which two outputs of a run are one file somewhere: on macOS and Windows ``A.png`` and
    ``a.png``, and on macOS ``café`` with its accent composed (NFC) or apart (NFD). The one owner of that rule:
    Unicode's canonical caseless match of the resolved path."""
    return unicodedata.normalize("NFD", unicodedata.normalize("NFD", str(out.resolve())).casefold())


def _apart_hint(src: Path, out: Path, taken: dict[str, str], plan: OutputPlan) -> str:
    """What to add when ``out`` is already the output of a photo of the same name in another folder (a glob's
    ``g/*/x.png`` with ``-o DIR``): their common folder as INPUT keeps them apart, its sub-folders mirrored."""
    earlier = taken.get(_one_file_key(out)) if out != STDIO and plan.out_dir else None
    if earlier is None or src == STDIO or Path(earlier).parent == src.parent:
        return ""
    return "; photos of one name from different folders stay apart when their common folder is the INPUT (with -r)"


def _output_problem(
    out: Path, inputs: set[Path], identities: set[tuple[int, int]], taken: dict[str, str], plan: OutputPlan, hint: str
) -> str | None:
    """Why ``out`` must not be written (one line), or ``None``."""
    if out == STDIO:
        return None
    if not name_fits(out):  # a name made from the input's (a long -o FILE is refused first: _refuse_long_name)
        return f"its output name {out.name!r} is {TOO_LONG}; rename the input"
    if out.resolve() in inputs or (os.path.lexists(out) and _identity(out) in identities):
        return f"its output {out} is an input file; refusing to overwrite it ({hint})"
    if (same := _one_file_key(out)) in taken:
        return f"its output {out} is already the output of {taken[same]}; not written ({hint})"
    if (
        not plan.skip_existing and (problem := not_replaceable(out, "--overwrite")) is not None
    ):  # before --overwrite is named
        return f"its output {out} {problem}"
    if made_by_others(out, plan.overwrite, plan.skip_existing):
        return f"its output {out} {NOT_OURS} (--overwrite replaces it, --skip-existing keeps it)"
    return None


def kept_existing(output: Path, skip_existing: bool) -> bool:
    """Whether ``skip_existing`` (``--skip-existing``) leaves ``output`` as it is, there already: the one owner of
    that rule, asked when planning (such an output needs no writable folder; a run that would skip every photo
    loads no model) and again just before each photo is read."""
    return skip_existing and output != STDIO and os.path.lexists(output)


def made_by_others(output: Path, overwrite: bool, skip_existing: bool) -> bool:
    """Whether ``output`` is there and neither ``overwrite`` replaces it nor ``skip_existing`` keeps it: it is never
    replaced (:data:`~colorsplash.runtime.files.NOT_OURS`). The one owner of that rule, asked when planning and
    again just before each photo is read (another run may have written it since)."""
    return not (overwrite or skip_existing) and output != STDIO and os.path.lexists(output)


def _unwritable_output(out: Path, plan: OutputPlan) -> str | None:
    """Why ``out`` cannot be made (its folder is read-only, or not ours to write in), or ``None``; an output
    ``skip_existing`` keeps is never written, so it needs no such folder."""
    if out == STDIO or kept_existing(out, plan.skip_existing):
        return None
    if (folder := unwritable_folder(out.parent)) is None:
        return None
    return f"cannot write its output {out}: {folder}; choose another place for it with -o"


def _refuse_long_name(plan: OutputPlan) -> None:
    """Refuse ``-o FILE`` whose own name is longer than a file's can be, once: each photo said "its output name ...
    is longer than 255 bytes; rename the input", of an input whose name is not the one at fault.

    Raises:
        ValueError: naming ``-o`` and what to do.
    """
    if plan.out_file is not None and plan.out_file != STDIO and not name_fits(plan.out_file):
        raise ValueError(f"-o {plan.out_file}: its name is {TOO_LONG}; choose a shorter -o")


def _refuse_destination(plan: OutputPlan) -> None:
    """Refuse the run once when ``-o`` itself names a place where no file can be made: every photo's line said
    the same of the same folder (three photos, three lines, then "failed 3"). Outputs beside their inputs, or
    in a sub-folder of a writable ``-o``, stay one line each: their folders differ.

    Raises:
        ValueError: naming ``-o``, the folder where no file can be made, and what to do.
    """
    if plan.out_dir is not None:
        target, folder, what = plan.out_dir, plan.out_dir, "the results there"
    elif plan.out_file is not None and plan.out_file != STDIO:
        target, folder, what = plan.out_file, plan.out_file.parent, "it"
    else:
        return
    if (problem := unwritable_folder(folder)) is not None:
        raise ValueError(f"-o {target}: cannot write {what} ({problem}); choose another place with -o")


def plan_files(sources: Sequence[Path], plan: OutputPlan) -> list[Task]:
    """Tasks for the picture files ``sources``, planned as the CLI plans them (for scripts and benchmarks).

    Raises:
        ValueError: any source that cannot be planned (the error lines, joined).
    """
    tasks, errors = plan_tasks([(Path(src), None) for src in sources], plan)
    if errors:
        raise ValueError("; ".join(errors))
    return tasks
