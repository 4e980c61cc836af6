"""The learning-management-system side of a grading run: where a hand-in came from, and archives.

:func:`convlab.course.collect.collect` records, for each student it places, the LMS the notebook
came from, read off the download's own naming::

    Canvas  smithjohn_12345_67890_ex01_conv1d.ipynb        name, Canvas user id, submission id
    Moodle  John Smith_1234_assignsubmission_file_/...      full name, participant id

in ``collected/<assignment>.json`` of the course directory (never in ``submitted/``). The
exports and the feedback archive use it to give each LMS the identifiers it matches on: Canvas's
user ``ID`` column, Moodle's ``Participant <id>`` identifier and per-participant folders.
"""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path, PurePosixPath

from .layout import Course

__all__ = ["LMS_NAMES", "lms_origin", "read_origins", "record_origins", "write_zip"]

LMS_NAMES = ("canvas", "moodle")

_MOODLE_FOLDER = re.compile(r"^(?P<name>.+?)_(?P<participant>\d+)_assignsubmission_file_?$")
_CANVAS_FILE = re.compile(r"^(?P<name>[^_/]+?)(?P<late>_late)?_(?P<user>\d+)_(?P<submission>\d+)_")


def lms_origin(relpath: str) -> dict | None:
    """What the name of a downloaded notebook says about the LMS it came from (None: none known).

    Examples
    --------
    >>> lms_origin("smithjohn_12345_67890_ex01_conv1d.ipynb")["user_id"]
    '12345'
    >>> lms_origin("John Smith_1234_assignsubmission_file_/ex01_conv1d.ipynb")["participant"]
    '1234'
    >>> lms_origin("alice/ex01_conv1d.ipynb") is None
    True
    """
    parts = PurePosixPath(relpath).parts
    for folder in parts[:-1]:
        moodle = _MOODLE_FOLDER.match(folder)
        if moodle:
            return {
                "lms": "moodle",
                "folder": folder,
                "full_name": moodle["name"],
                "participant": moodle["participant"],
            }
    canvas = _CANVAS_FILE.match(parts[-1]) if parts else None
    if canvas:
        return {
            "lms": "canvas",
            "prefix": canvas.group(0),
            "user_id": canvas["user"],
            "submission_id": canvas["submission"],
        }
    return None


def _origins_path(course: Course, assignment: str) -> Path:
    return course.root / "collected" / f"{assignment}.json"


def read_origins(course: Course, assignment: str) -> dict[str, dict]:
    """``{student: origin}`` recorded by ``collect`` for ``assignment`` (empty when none)."""
    try:
        return json.loads(_origins_path(course, assignment).read_text())
    except (OSError, ValueError):
        return {}


def record_origins(course: Course, assignment: str, origins: dict[str, dict]) -> None:
    """Merge ``origins`` into the record of ``assignment`` (a later collect wins per student)."""
    merged = {**read_origins(course, assignment), **origins}
    path = _origins_path(course, assignment)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(merged, indent=1, sort_keys=True) + "\n")


def write_zip(path: str | Path, members: dict[str, bytes]) -> Path:
    """Write ``{archive name: data}`` to the zip file ``path`` (sorted, deflated); return its path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(members):
            archive.writestr(name, members[name])
    return path
