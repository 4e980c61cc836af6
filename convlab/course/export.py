"""Scores as CSV: one row per student and assignment, with how the grading went.

Columns: ``student, assignment, score, max_score, status, reason``. Scores come from nbgrader's
gradebook (so manual grades and late penalties count); status and reason from ``grading.json``.
A student with no submission gets status ``missing`` and score 0; a submission handed in after it
was last graded gets ``stale``: it must be graded again before its score means anything.
Rows are sorted, so two exports of the same grades are byte-identical.

Two LMS layouts are written from the same rows, with the LMS's own column names:

- :func:`export_canvas`: a Canvas gradebook import, ``Student, ID, SIS User ID, SIS Login ID,
  Section`` and one column per assignment, with Canvas's ``Points Possible`` row; ``ID`` is the
  Canvas user id read off the students' Canvas downloads (see :mod:`convlab.course.lms`);
- :func:`export_moodle`: Moodle's offline grading worksheet of one assignment (``Identifier`` =
  ``Participant <id>`` from the Moodle download, ``Grade``, ``Maximum Grade``,
  ``Feedback comments``, ...), for *Upload grading worksheet*.

A score that is not final (``missing``, ``ungraded``, ``stale``) is left blank in both, so an
import never overwrites the LMS's own record with a number the grader did not give.
"""

from __future__ import annotations

import csv
import io

from .layout import Course

__all__ = ["COLUMNS", "FORMATS", "export_rows", "export_csv", "export_canvas", "export_moodle"]

COLUMNS = ("student", "assignment", "score", "max_score", "status", "reason")
FORMATS = ("csv", "canvas", "moodle")
CANVAS_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
MOODLE_COLUMNS = (
    "Identifier",
    "Full name",
    "Email address",
    "Status",
    "Grade",
    "Maximum Grade",
    "Grade can be changed",
    "Last modified (submission)",
    "Last modified (grade)",
    "Feedback comments",
)
_NOT_FINAL = ("missing", "ungraded", "stale")


def _submitted_at(course: Course, student: str, assignment: str):
    from nbgrader.utils import parse_utc

    stamp = course.submitted(student, assignment) / "timestamp.txt"
    text = stamp.read_text().strip() if stamp.exists() else ""
    return parse_utc(text).isoformat() if text else None


def export_rows(course: Course, assignments: list[str] | None = None) -> list[dict]:
    """The rows of the export, sorted by student then assignment."""
    from nbgrader.api import Gradebook, MissingEntry

    rows = []
    with Gradebook(course.db_url) as gb:
        names = assignments or sorted(a.name for a in gb.assignments)
        students = {s.id for s in gb.students}
        for name in names:
            students |= set(course.students(name))
        for name in names:
            max_score = gb.find_assignment(name).max_score
            for student in sorted(students):
                record = course.read_status(student, name)
                row = {"student": student, "assignment": name, "max_score": f"{max_score:g}"}
                try:
                    score = gb.find_submission(name, student).score
                except MissingEntry:
                    score = None
                has_files = course.submitted(student, name).is_dir()
                if not has_files and score is None:
                    row.update(score="0", status="missing", reason="no submission")
                elif record is None or score is None:
                    row.update(score="0", status="ungraded", reason="submitted but not graded yet")
                else:
                    row.update(score=f"{score:g}", status=record["status"], reason=record["reason"])
                    if has_files and _submitted_at(course, student, name) != record.get("submitted_at"):
                        row.update(status="stale", reason="handed in again after grading: grade it again")
                rows.append(row)
    return sorted(rows, key=lambda r: (r["student"], r["assignment"]))


def _write(rows: list, path) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    text = buffer.getvalue()
    if path is not None:
        with open(path, "w", newline="") as out:
            out.write(text)
    return text


def export_csv(course: Course, path=None, assignments: list[str] | None = None) -> str:
    """Write the export to ``path`` (if given) and return the CSV text."""
    rows = export_rows(course, assignments)
    return _write([COLUMNS, *([r[c] for c in COLUMNS] for r in rows)], path)


def _final_score(row: dict) -> str:
    return "" if row["status"] in _NOT_FINAL else row["score"]


def export_canvas(course: Course, path=None, assignments: list[str] | None = None) -> str:
    """A Canvas gradebook import: one row per student, one column per assignment.

    Returns the CSV text (also written to ``path`` when given).
    """
    from .lms import read_origins

    rows = export_rows(course, assignments)
    names = sorted({r["assignment"] for r in rows})
    user_ids: dict[str, str] = {}
    for name in names:
        for student, origin in read_origins(course, name).items():
            if origin.get("lms") == "canvas":
                user_ids[student] = origin["user_id"]
    scores = {(r["student"], r["assignment"]): r for r in rows}
    maxima = {r["assignment"]: r["max_score"] for r in rows}
    table = [
        [*CANVAS_COLUMNS, *names],
        ["Points Possible", "", "", "", "", *(maxima[n] for n in names)],
    ]
    for student in sorted({r["student"] for r in rows}):
        cells = [_final_score(scores[student, n]) if (student, n) in scores else "" for n in names]
        table.append([student, user_ids.get(student, ""), "", "", "", *cells])
    return _write(table, path)


def export_moodle(course: Course, assignment: str, path=None) -> tuple[str, list[str]]:
    """Moodle's offline grading worksheet for ``assignment``.

    Returns ``(csv_text, unmatched)``: ``unmatched`` lists the students that have no Moodle
    participant id (not collected from a Moodle download), who cannot be in the worksheet.
    """
    from .lms import read_origins

    origins = read_origins(course, assignment)
    table, unmatched = [list(MOODLE_COLUMNS)], []
    for row in export_rows(course, [assignment]):
        origin = origins.get(row["student"], {})
        if origin.get("lms") != "moodle":
            unmatched.append(row["student"])
            continue
        comment = "" if row["status"] == "ok" else f"{row['status']}: {row['reason']}"
        table.append(
            [
                f"Participant {origin['participant']}",
                origin["full_name"],
                "",
                "",
                _final_score(row),
                row["max_score"],
                "Yes",
                "",
                "",
                comment,
            ]
        )
    return _write(table, path), unmatched
