"""Scores as CSV: one row per student and assignment, with how the grading went.

Columns: ``student, assignment, score, max_score, status, reason, isolation``. Scores come from
nbgrader's gradebook (so manual grades and late penalties count); status, reason and isolation
(``full``, ``partial`` or ``none``: what the grading kernel was confined by) from ``grading.json``.
A student with no submission gets status ``missing`` and score 0; a submission handed in after it
was last graded gets ``stale``: it must be graded again before its score means anything.
Rows are sorted, so two exports of the same grades are byte-identical.
"""

from __future__ import annotations

import csv
import io

from .layout import Course

__all__ = ["COLUMNS", "export_rows", "export_csv"]

COLUMNS = ("student", "assignment", "score", "max_score", "status", "reason", "isolation")


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
                row["isolation"] = (record or {}).get("isolation", "none" if record else "")
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


def export_csv(course: Course, path=None, assignments: list[str] | None = None) -> str:
    """Write the export to ``path`` (if given) and return the CSV text."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(export_rows(course, assignments))
    text = buffer.getvalue()
    if path is not None:
        with open(path, "w", newline="") as out:
            out.write(text)
    return text
