"""Per-student HTML feedback that shows what failed without showing the hidden tests.

nbgrader's ``generate_feedback`` renders the autograded notebook as it ran, hidden tests
included. Here its ``GenerateFeedback`` converter runs with one more preprocessor,
:class:`HideHiddenTests`, ahead of its own: the ``BEGIN HIDDEN TESTS`` regions are cut from every
test cell (nbgrader's ``ClearHiddenTests``), and the traceback of a cell that had hidden tests is
cut down to its last line, the check's own message ("off by one: ceil instead of floor"), since
the traceback would quote the hidden code; so would the message's ``reproduce it with
check_...(...)`` line, which is left out there too. The grading seed (which a pinned re-grade reuses, so
it would let a student predict the hidden random cases) is withheld wherever an output names it.

nbgrader also copies every file of the autograded folder into ``feedback/``, the grading record
``grading.json`` (which holds the seed) and whatever the student's code wrote while it was graded
among them. Afterwards only the HTML and the files the student handed in are kept.

:func:`feedback_zip` packs the HTML of a whole class into one archive for the LMS's bulk upload of
feedback files, named as that LMS matches them (see :func:`feedback_zip`).
"""

from __future__ import annotations

import re
from pathlib import Path

from nbgrader.preprocessors import ClearHiddenTests, GetGrades

from .layout import Course

__all__ = ["HideHiddenTests", "feedback", "feedback_zip", "withhold_seed"]

_SEED = re.compile(r"(\bseed\s*[=:]?\s*)(\d+)", re.IGNORECASE)


def withhold_seed(text: str) -> str:
    """``text`` with every number that follows the word ``seed`` replaced by ``<withheld>``.

    Examples
    --------
    >>> withhold_seed("random case 2 of 20 (seed 81; reproduce with check(f, seed=81))")
    'random case 2 of 20 (seed <withheld>; reproduce with check(f, seed=<withheld>))'
    """
    return _SEED.sub(lambda m: m.group(1) + "<withheld>", text)


_HIDDEN_CALL = re.compile(r"^[ \t]*reproduce it with check_\w+\(.*\)[ \t]*\n?", re.MULTILINE)


def _withhold_in_output(output: dict) -> None:
    if "text" in output:
        text = output["text"]
        output["text"] = withhold_seed(text if isinstance(text, str) else "".join(text))
    if "evalue" in output:
        output["evalue"] = withhold_seed(output["evalue"])
    if "traceback" in output:
        output["traceback"] = [withhold_seed(line) for line in output["traceback"]]
    for mime, value in output.get("data", {}).items():
        if mime.startswith("text/"):
            output["data"][mime] = withhold_seed(value if isinstance(value, str) else "".join(value))


class HideHiddenTests(ClearHiddenTests):
    """Remove hidden test code from test cells, and the tracebacks that would quote it."""

    enforce_metadata = False

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        if self._remove_hidden_test_region(cell):
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    output["evalue"] = _HIDDEN_CALL.sub("", output.get("evalue", ""))
                    output["traceback"] = [f"{output.get('ename')}: {output.get('evalue')}"]
        for output in cell.get("outputs", []):
            _withhold_in_output(output)
        return cell, resources


def _keep_only_html_and_hand_in(course: Course, student: str, assignment: str) -> None:
    """Remove from ``feedback/<student>/<assignment>/`` all but the HTML and the handed-in files."""
    handed_in = course.submitted(student, assignment)
    folder = course.feedback(student, assignment)
    for path in sorted(folder.rglob("*"), reverse=True):  # files before their folders
        rel = path.relative_to(folder)
        if path.is_dir():
            if not any(path.iterdir()):
                path.rmdir()
            continue
        own = handed_in / rel
        if path.suffix == ".html" or (own.is_file() and own.read_bytes() == path.read_bytes()):
            continue
        path.unlink()


def feedback(course: Course, assignment: str, students: list[str] | None = None) -> dict[str, bool]:
    """Write ``feedback/<student>/<assignment>/<assignment>.html`` for each graded student.

    Returns ``{student: success}``.
    """
    from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    graded = sorted(p.parent.name for p in (course.root / "autograded").glob(f"*/{assignment}") if p.is_dir())
    config = course.config()
    config.GenerateFeedback.preprocessors = [HideHiddenTests, GetGrades, CSSHTMLHeaderPreprocessor]
    api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
    results = {}
    for student in students if students is not None else graded:
        status = course.read_status(student, assignment) or {}
        if student not in graded or status.get("status") in ("error", "invalid"):
            results[student] = False
            continue
        results[student] = bool(api.generate_feedback(assignment, student, force=True)["success"])
        if course.feedback(student, assignment).is_dir():
            _keep_only_html_and_hand_in(course, student, assignment)
    return results


def _zip_name(student: str, assignment: str, origin: dict | None) -> str:
    html = f"{assignment}-feedback.html"
    if origin and origin.get("lms") == "canvas":
        return origin["prefix"] + html  # Canvas matches on its user and submission ids
    if origin and origin.get("lms") == "moodle":
        return f"{origin['folder']}/{html}"  # Moodle matches on the participant folder
    return f"{student}/{html}"


def feedback_zip(course: Course, assignment: str, path: str | Path | None = None) -> tuple[Path, int]:
    """One archive of every student's feedback HTML, named as the student's LMS matches it.

    Canvas downloads are named ``<name>_<user id>_<submission id>_<file>``: the feedback file keeps
    that prefix. Moodle downloads hold one folder ``<Full name>_<participant id>_assignsubmission_
    file_`` per student: the feedback goes in that folder, as Moodle's *Upload multiple feedback
    files in a zip* expects. Other students get ``<student>/<assignment>-feedback.html``.

    Returns ``(archive path, number of students)``; default path ``lms/<assignment>-feedback.zip``
    of the course directory. Run :func:`feedback` first.
    """
    from .lms import read_origins, write_zip

    origins = read_origins(course, assignment)
    members = {}
    for html in sorted((course.root / "feedback").glob(f"*/{assignment}/{assignment}.html")):
        student = html.parent.parent.name
        members[_zip_name(student, assignment, origins.get(student))] = html.read_bytes()
    target = Path(path) if path is not None else course.root / "lms" / f"{assignment}-feedback.zip"
    return write_zip(target, members), len(members)
