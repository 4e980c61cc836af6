"""Per-student HTML feedback that shows what failed without showing the hidden tests.

nbgrader's ``generate_feedback`` renders the autograded notebook as it ran, hidden tests
included. Here its ``GenerateFeedback`` converter runs with one more preprocessor,
:class:`HideHiddenTests`, ahead of its own: the ``BEGIN HIDDEN TESTS`` regions are cut from every
test cell (nbgrader's ``ClearHiddenTests``), and the traceback of a cell that had hidden tests is
cut down to its last line, the check's own message ("off by one: ceil instead of floor"), since
the traceback would quote the hidden code.
"""

from __future__ import annotations

from nbgrader.preprocessors import ClearHiddenTests, GetGrades

from .layout import Course

__all__ = ["HideHiddenTests", "feedback"]


class HideHiddenTests(ClearHiddenTests):
    """Remove hidden test code from test cells, and the tracebacks that would quote it."""

    enforce_metadata = False

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        if self._remove_hidden_test_region(cell):
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    output["traceback"] = [f"{output.get('ename')}: {output.get('evalue')}"]
        return cell, resources


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
    return results
