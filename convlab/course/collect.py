"""Collect what students hand in (LMS or Colab downloads) into nbgrader's ``submitted/`` layout.

Input is a folder or a zip file. Names seen in the wild, all understood here::

    alice_ex01_conv1d.ipynb                        student id before the assignment id
    alice/ex01_conv1d (1).ipynb                    per-student folder, browser's copy number
    alice/Copy of ex01_conv1d.ipynb                Colab's "Save a copy in Drive"
    Alice Smith_1234_assignsubmission_file_/ex01_conv1d.ipynb     Moodle
    alice_12345_67890_ex01_conv1d.ipynb            Canvas (login, user id, submission id)
    bob/homework.ipynb                             the only notebook in a student's folder

Each notebook goes to ``submitted/<student>/<assignment>/<assignment>.ipynb`` with a
``timestamp.txt`` (UTC); the LMS it came from (Canvas or Moodle, read off its name) is recorded
in ``collected/<assignment>.json`` (see :mod:`convlab.course.lms`).
The newest hand-in wins, by the zip entry's time or the file's mtime
(ties go to the higher browser copy number): an older file never replaces a newer submission,
neither within one download nor against what ``submitted/`` already holds. What cannot be placed
is reported, never guessed.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath

from .layout import Course
from .lms import lms_origin, record_origins

__all__ = ["Candidate", "CollectReport", "collect", "parse_submission_name", "newest"]

_COPY = re.compile(r"^(?:copy of\s+)+", re.IGNORECASE)
_NUMBER = re.compile(r"(?:\s*\((\d+)\)|-(\d+))$")
_MOODLE = re.compile(r"_\d+_assignsubmission_file_?$")
_CANVAS = re.compile(r"^(?P<login>.+?)(?:_late)?_\d+_\d+$")
_UNSAFE = re.compile(r"[^A-Za-z0-9_.@-]+")
_SKIP_PARTS = {"__MACOSX", ".ipynb_checkpoints"}


@dataclass(frozen=True)
class Candidate:
    """One notebook found in the hand-in: who, when, where from."""

    student: str
    name: str
    timestamp: datetime
    copy_number: int
    load: object = field(compare=False, repr=False)


@dataclass
class CollectReport:
    """What :func:`collect` did: ``placed`` rows ``(student, name, action)`` and ``unplaced``
    rows ``(name, why)``."""

    placed: list[tuple[str, str, str]] = field(default_factory=list)
    unplaced: list[tuple[str, str]] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"  {student:<20} {action:<28} {name}" for student, name, action in self.placed]
        out += [f"  could not place {name}: {why}" for name, why in self.unplaced]
        return out


def _clean_id(text: str) -> str:
    return _UNSAFE.sub("_", text.strip()).strip("_.-")


def _strip_decorations(stem: str) -> tuple[str, int]:
    """``Copy of ex01 (2)`` -> ``("ex01", 2)``."""
    stem = _COPY.sub("", stem.strip())
    number = 0
    while (match := _NUMBER.search(stem)) is not None:
        number = max(number, int(match.group(1) or match.group(2)))
        stem = stem[: match.start()].rstrip()
    return stem, number


def parse_submission_name(
    relpath: str, assignment: str, others: tuple[str, ...] = (), single_in_folder: bool = False
) -> tuple[str | None, int, str]:
    """Work out whose notebook ``relpath`` is.

    Parameters
    ----------
    relpath : str
        The path inside the hand-in, with ``/`` separators (e.g. ``"alice/ex01_conv1d (1).ipynb"``).
    assignment : str
        The assignment being collected.
    others : tuple of str
        The course's other assignment ids: a notebook named for one of them is not placed.
    single_in_folder : bool
        Whether this is the only notebook in its student folder (then any name is accepted).

    Returns
    -------
    student : str or None
        The student id, or None when the name does not say.
    copy_number : int
        The browser's copy number, ``(1)`` -> 1, 0 when there is none.
    why : str
        Why the notebook could not be placed, or a note on how it was (empty when plain).

    Examples
    --------
    >>> parse_submission_name("alice_ex01_conv1d.ipynb", "ex01_conv1d")
    ('alice', 0, '')
    >>> parse_submission_name("bob/Copy of ex01_conv1d (2).ipynb", "ex01_conv1d")
    ('bob', 2, '')
    """
    parts = [p for p in PurePosixPath(relpath).parts if p not in ("", ".")]
    stem, number = _strip_decorations(PurePosixPath(parts[-1]).stem)
    folder = _clean_id(_MOODLE.sub("", parts[-2])) if len(parts) > 1 else ""
    lowered = stem.lower()
    at = lowered.find(assignment.lower())
    if at < 0:
        named_other = next((o for o in others if o.lower() in lowered), None)
        if named_other is not None:
            return None, number, f"named for another assignment ({named_other})"
        if folder and single_in_folder:
            return folder, number, f"renamed notebook accepted as the only one in folder {parts[-2]!r}"
        return None, number, f"the name does not contain {assignment!r}"
    rest = _clean_id(stem[:at] + " " + stem[at + len(assignment) :])
    if rest:
        canvas = _CANVAS.match(rest)
        return _clean_id(canvas.group("login")) if canvas else rest, number, ""
    if folder:
        return folder, number, ""
    return None, number, "no student id in the name and no per-student folder"


def newest(candidates: list[Candidate]) -> Candidate:
    """The candidate handed in last: latest timestamp, then highest browser copy number."""
    return max(candidates, key=lambda c: (c.timestamp, c.copy_number))


def _entries(path: Path):
    """Yield ``(relpath, timestamp, loader)`` for every notebook in a folder or zip file."""
    if path.is_dir():
        for file in sorted(path.rglob("*.ipynb")):
            rel = file.relative_to(path).as_posix()
            stamp = datetime.fromtimestamp(file.stat().st_mtime, tz=timezone.utc)
            yield rel, stamp, file.read_bytes
    elif zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                if info.is_dir() or not info.filename.endswith(".ipynb"):
                    continue
                # zip times carry no zone: they are the local time of the machine that zipped
                stamp = datetime(*info.date_time).astimezone(timezone.utc)
                data = archive.read(info)
                yield info.filename, stamp, (lambda data=data: data)
    else:
        raise ValueError(f"`path` must be a folder or a zip file; got path={str(path)!r}")


def _read_timestamp(folder: Path) -> datetime | None:
    from nbgrader.utils import parse_utc

    try:
        text = (folder / "timestamp.txt").read_text().strip()
        return parse_utc(text).replace(tzinfo=timezone.utc) if text else None
    except (OSError, ValueError):
        return None


def collect(course: Course, assignment: str, path: str | Path) -> CollectReport:
    """Place every notebook of ``path`` (folder or zip) into ``submitted/``; newest wins.

    Parameters
    ----------
    course : Course
    assignment : str
    path : path to a folder or a zip file

    Returns
    -------
    CollectReport
    """
    if assignment not in course.assignments():
        raise ValueError(f"`assignment` must be one of {course.assignments()}; got assignment={assignment!r}")
    others = tuple(a for a in course.assignments() if a != assignment)
    entries = [
        e
        for e in _entries(Path(path))
        if not any(p in _SKIP_PARTS or p.startswith(".") for p in e[0].split("/"))
    ]
    per_folder: dict[str, int] = {}
    for rel, _, _ in entries:
        parent = rel.rsplit("/", 1)[0] if "/" in rel else ""
        per_folder[parent] = per_folder.get(parent, 0) + 1

    report = CollectReport()
    origins: dict[str, dict] = {}
    by_student: dict[str, list[Candidate]] = {}
    for rel, stamp, load in entries:
        parent = rel.rsplit("/", 1)[0] if "/" in rel else ""
        student, number, why = parse_submission_name(
            rel, assignment, others, bool(parent) and per_folder[parent] == 1
        )
        if student is None:
            report.unplaced.append((rel, why))
            continue
        by_student.setdefault(student, []).append(Candidate(student, rel, stamp, number, load))

    for student in sorted(by_student):
        candidates = by_student[student]
        pick = newest(candidates)
        for other in candidates:
            if other is not pick:
                report.unplaced.append((other.name, f"older than {pick.name} from the same student"))
        dest = course.submitted(student, assignment)
        existing = _read_timestamp(dest)
        data = pick.load()
        target = dest / f"{assignment}.ipynb"
        if existing is not None and existing > pick.timestamp:
            report.placed.append((student, pick.name, "kept newer submission"))
            continue
        origin = lms_origin(pick.name)
        if origin is not None:
            origins[student] = origin
        if existing is not None and target.exists() and target.read_bytes() == data:
            report.placed.append((student, pick.name, "unchanged"))
            continue
        action = "updated" if target.exists() else "new"
        dest.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        (dest / "timestamp.txt").write_text(pick.timestamp.isoformat(sep=" ") + "\n")
        report.placed.append((student, pick.name, action))
    if origins:
        record_origins(course, assignment, origins)
    return report
