"""Grading end to end with nbgrader's own commands, headless, on a throwaway copy of the course.

For every assignment: ``generate_assignment``, then submissions in ``submitted/`` — the release
notebook filled in with the model answers (full marks) and the release notebook untouched (zero,
without crashing the run) — then ``autograde``. For two assignments a third student with one
planted bug takes part, and the run goes on to ``generate_feedback`` and a CSV export with
nbgrader's exporter, whose rows are checked exactly.
"""

from __future__ import annotations

import csv
import json
import logging
import shutil
from pathlib import Path

import pytest

from convlab.course.layout import Course
from convlab.grading import ASSIGNMENTS

COURSE_DIR = Path(__file__).resolve().parents[1] / "exercises"

# assignment -> (function with the planted bug, text replaced in its model answer, replacement)
PLANTED = {
    "ex01_conv1d": (
        "correlate1d",
        "convolve1d(f, np.asarray(g)[::-1], mode)",
        "convolve1d(f, np.asarray(g), mode)",
    ),
    "ex05_transposed": (
        "tf_conv2d_transpose",
        "crops.append(total // 2)",
        "crops.append(total - total // 2)",
    ),
}


def copy_course(destination: Path) -> Path:
    """The course's configuration and source notebooks, copied to ``destination``."""
    shutil.copytree(COURSE_DIR / "source", destination / "source")
    shutil.copy2(COURSE_DIR / "nbgrader_config.py", destination / "nbgrader_config.py")
    return destination


def nbgrader_api(course: Path):
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    config = Course(course).config()
    config.NbGraderAPI.log_level = logging.ERROR
    return NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)


def notebook_path(assignment: str, stage: str, course: Path) -> Path:
    return getattr(Course(course), stage)(assignment)


@pytest.fixture(scope="session")
def empty_gradebook(tmp_path_factory):
    """One empty gradebook per test process: creating one runs alembic, which is slow."""
    from nbgrader.api import Gradebook

    course = Course(copy_course(tmp_path_factory.mktemp("gradebook")))
    with Gradebook(course.db_url, "convlab"):  # Course.config() has put alembic on PATH
        pass
    return course.db_path


def _filled(assignment, course, bug=None):
    """The release notebook with the model answers typed into its solution cells."""
    source = json.loads(notebook_path(assignment, "source", course).read_text())
    answers = {}
    for cell in source["cells"]:
        meta = cell["metadata"].get("nbgrader", {})
        if meta.get("solution"):
            lines = "".join(cell["source"]).splitlines()
            answers[meta["grade_id"]] = "\n".join(line for line in lines if "### " not in line)
    if bug is not None:
        name, old, new = bug
        assert old in answers[name]
        answers[name] = answers[name].replace(old, new)
    release = json.loads(notebook_path(assignment, "release", course).read_text())
    for cell in release["cells"]:
        meta = cell["metadata"].get("nbgrader", {})
        if meta.get("solution"):
            cell["source"] = answers[meta["grade_id"]]
    return release


def _submit(course, student, assignment, notebook):
    folder = course / "submitted" / student / assignment
    folder.mkdir(parents=True)
    (folder / f"{assignment}.ipynb").write_text(json.dumps(notebook))


def _scores(course, assignment):
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "convlab") as gradebook:
        return {s.student.id: (s.score, s.max_score) for s in gradebook.assignment_submissions(assignment)}


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_autograde_full_marks_zero_and_planted_bug(assignment, tmp_path, monkeypatch, empty_gradebook):
    monkeypatch.setenv("CONVLAB_GRADING_SEED", "7")  # a reproducible re-grade
    course = copy_course(tmp_path / "course")
    shutil.copy(empty_gradebook, course / "gradebook.db")
    api = nbgrader_api(course)
    result = api.generate_assignment(assignment)
    assert result["success"], result.get("error")

    students = {"correct": _filled(assignment, course)}
    students["blank"] = json.loads(notebook_path(assignment, "release", course).read_text())
    if assignment in PLANTED:
        students["bug"] = _filled(assignment, course, PLANTED[assignment])
    for student, notebook in students.items():
        _submit(course, student, assignment, notebook)
    submitted_before = {p: p.read_bytes() for p in (course / "submitted").rglob("*.ipynb")}

    for student in students:
        result = api.autograde(assignment, student)
        assert result["success"], result.get("error") or result.get("log")

    maximum = 5.0 * len(ASSIGNMENTS[assignment])
    expected = {"correct": (maximum, maximum), "blank": (0.0, maximum)}
    if assignment in PLANTED:
        expected["bug"] = (maximum - 5.0, maximum)
    assert _scores(course, assignment) == expected
    assert {p: p.read_bytes() for p in (course / "submitted").rglob("*.ipynb")} == submitted_before

    if assignment not in PLANTED:
        return
    # the rest of the round trip: feedback for every student, grades as CSV
    for student in students:
        result = api.generate_feedback(assignment, student)
        assert result["success"], result.get("error")
        html = (course / "feedback" / student / assignment / f"{assignment}.html").read_text()
        assert "Comments" in html or "Score" in html
    from nbgrader.api import Gradebook
    from nbgrader.plugins.export import CsvExportPlugin

    exported = tmp_path / "grades.csv"
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "convlab") as gradebook:
        CsvExportPlugin(to=str(exported)).export(gradebook)
    rows = {row["student_id"]: row for row in csv.DictReader(exported.open())}
    assert set(rows) == set(students)
    for student, (score, max_score) in expected.items():
        assert rows[student]["assignment"] == assignment
        assert float(rows[student]["raw_score"]) == score
        assert float(rows[student]["max_score"]) == max_score
    shutil.rmtree(course / "feedback")
