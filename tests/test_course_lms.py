"""From an LMS download to LMS-ready grades and feedback, and nothing private in what students get.

A small class of the real ``ex01_conv1d`` is handed in the way Canvas and Moodle hand it over
(Canvas: ``name_userid_submissionid_file``; Moodle: one ``Full Name_id_assignsubmission_file_``
folder per student), collected, graded with a pinned seed, given feedback and exported.
"""

from __future__ import annotations

import copy
import csv
import io
import shutil
import zipfile
from pathlib import Path

import nbformat
import pytest

from convlab.course.autograde import GradingLimits, autograde
from convlab.course.cli import main
from convlab.course.collect import collect
from convlab.course.export import CANVAS_COLUMNS, MOODLE_COLUMNS, export_canvas, export_moodle
from convlab.course.feedback import feedback, feedback_zip
from convlab.course.layout import Course
from convlab.course.lms import lms_origin
from convlab.course.release import release, release_zip, solution_code

REAL = Path(__file__).resolve().parents[1] / "exercises"
A = "ex01_conv1d"
SEED = "918273645"

# Correct on short signals, wrong on long ones: the fixed cases pass, a random case fails, so
# the failure message names the random case and its seed. While it runs it also writes the
# grading environment's seed to a file beside the notebook.
LEAKY_CONVOLVE = """
import os as _os

def convolve1d(f, g, mode="full"):
    with open("seed-copy.txt", "w") as out:
        out.write(_os.environ.get("CONVLAB_GRADING_SEED", "none"))
    f, g = np.asarray(f, dtype=float), np.asarray(g, dtype=float)
    n, m = len(f), len(g)
    full = np.zeros(n + m - 1)
    for i in range(n):
        for j in range(m):
            full[i + j] += f[i] * g[j]
    if n > 7:
        full = full * 2
    if mode == "full":
        return full
    if mode == "same":
        start = (m - 1) // 2
        return full[start : start + n]
    return full[m - 1 : n]
"""


def _notebook(course, replace_first=None) -> bytes:
    nb = nbformat.read(course.release(A), as_version=4)
    nb = copy.deepcopy(nb)
    solutions = solution_code(course, A)
    for k, cell in enumerate(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")):
        cell.source = solutions[cell.metadata["nbgrader"]["grade_id"]]
        if k == 0 and replace_first is not None:
            cell.source += "\n" + replace_first
    return nbformat.writes(nb).encode()


@pytest.fixture(scope="module")
def lms_class(tmp_path_factory):
    if not (REAL / "source" / A).is_dir():
        pytest.skip("the course's ex01_conv1d is not here")
    root = tmp_path_factory.mktemp("lms") / "course"
    (root / "source").mkdir(parents=True)
    shutil.copy(REAL / "nbgrader_config.py", root / "nbgrader_config.py")
    shutil.copytree(REAL / "source" / A, root / "source" / A)
    course = Course(root)
    assert release(course, [A])[0].problems == []

    download = tmp_path_factory.mktemp("download") / "submissions.zip"
    with zipfile.ZipFile(download, "w") as archive:
        archive.writestr(f"smithjohn_12345_67890_{A}.ipynb", _notebook(course))
        archive.writestr(
            f"Ada Lovelace_4711_assignsubmission_file_/{A}.ipynb", _notebook(course, LEAKY_CONVOLVE)
        )
    report = collect(course, A, download)
    assert sorted(student for student, _, _ in report.placed) == ["Ada_Lovelace", "smithjohn"]

    import os

    os.environ["CONVLAB_GRADING_SEED"] = SEED
    try:
        records = autograde(
            course, A, jobs=2, limits=GradingLimits(timeout=60, memory_mb=2048), progress=False
        )
    finally:
        del os.environ["CONVLAB_GRADING_SEED"]
    fed = feedback(course, A)
    return {"course": course, "records": records, "feedback": fed}


def test_lms_origin_reads_canvas_and_moodle_names():
    assert lms_origin(f"smithjohn_late_12345_67890_{A}.ipynb")["user_id"] == "12345"
    moodle = lms_origin(f"Ada Lovelace_4711_assignsubmission_file_/{A}.ipynb")
    assert (moodle["participant"], moodle["full_name"]) == ("4711", "Ada Lovelace")
    assert lms_origin(f"alice_{A}.ipynb") is None


def test_the_class_is_graded_as_intended(lms_class):
    records = lms_class["records"]
    assert records["smithjohn"]["status"] == "ok"
    assert all(r["seed"] == SEED for r in records.values())
    assert lms_class["feedback"] == {"Ada_Lovelace": True, "smithjohn": True}


def test_no_feedback_file_carries_the_seed_hidden_tests_or_grading_records(lms_class):
    course = lms_class["course"]
    page = (course.feedback("Ada_Lovelace", A) / f"{A}.html").read_text()
    assert "random case" in page  # the failure is still explained
    assert "seed &lt;withheld&gt;" in page or "seed <withheld>" in page
    files = [p for p in (course.root / "feedback").rglob("*") if p.is_file()]
    assert files
    for path in files:
        data = path.read_bytes()
        assert SEED.encode() not in data, path
        assert b"BEGIN HIDDEN TESTS" not in data, path
    names = {p.name for p in files}
    assert "grading.json" not in names
    assert "seed-copy.txt" not in names  # written by the student's code while graded
    assert (course.autograded("Ada_Lovelace", A) / "seed-copy.txt").exists()  # it did write it


def test_feedback_zip_is_named_as_each_lms_matches_it(lms_class, tmp_path):
    path, count = feedback_zip(lms_class["course"], A, tmp_path / "fb.zip")
    assert count == 2
    with zipfile.ZipFile(path) as archive:
        names = sorted(archive.namelist())
        assert names == [
            f"Ada Lovelace_4711_assignsubmission_file_/{A}-feedback.html",
            f"smithjohn_12345_67890_{A}-feedback.html",
        ]
        assert all(SEED.encode() not in archive.read(n) for n in names)


def _table(text):
    return list(csv.reader(io.StringIO(text)))


def test_canvas_export_uses_canvas_columns_and_user_ids(lms_class):
    course = lms_class["course"]
    rows = _table(export_canvas(course))
    assert rows[0] == [*CANVAS_COLUMNS, A]
    assert rows[1][0] == "Points Possible" and float(rows[1][-1]) > 0
    by_student = {r[0]: r for r in rows[2:]}
    assert by_student["smithjohn"][1] == "12345"
    assert float(by_student["smithjohn"][-1]) == float(rows[1][-1])  # full marks
    assert by_student["Ada_Lovelace"][1] == ""  # a Moodle student has no Canvas id
    assert float(by_student["Ada_Lovelace"][-1]) < float(rows[1][-1])


def test_moodle_worksheet_uses_participant_identifiers(lms_class):
    text, unmatched = export_moodle(lms_class["course"], A)
    rows = _table(text)
    assert rows[0] == list(MOODLE_COLUMNS)
    assert unmatched == ["smithjohn"]
    (row,) = rows[1:]
    record = dict(zip(MOODLE_COLUMNS, row, strict=True))
    assert record["Identifier"] == "Participant 4711"
    assert record["Full name"] == "Ada Lovelace"
    assert float(record["Grade"]) < float(record["Maximum Grade"])


def test_command_line_round_trip(lms_class, tmp_path, capsys):
    course_dir = str(lms_class["course"].root)
    assert (
        main(["--course-dir", course_dir, "export", "--format", "canvas", "--to", str(tmp_path / "c.csv")])
        == 0
    )
    assert (tmp_path / "c.csv").read_text().startswith("Student,ID,SIS User ID")
    assert (
        main(["--course-dir", course_dir, "export", "--format", "moodle", "--to", str(tmp_path / "m")]) == 0
    )
    assert (tmp_path / "m" / f"{A}.csv").read_text().startswith("Identifier,Full name")
    assert "no Moodle participant id" in capsys.readouterr().out
    assert main(["--course-dir", course_dir, "feedback", A, "--zip"]) == 0
    assert (lms_class["course"].root / "lms" / f"{A}-feedback.zip").is_file()


def test_release_zip_holds_the_student_notebook_only(lms_class):
    path = release_zip(lms_class["course"], A)
    with zipfile.ZipFile(path) as archive:
        assert archive.namelist() == [f"{A}/{A}.ipynb"]
        text = archive.read(f"{A}/{A}.ipynb").decode()
    assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text
