"""The class report counts exactly the misconceptions planted in a graded class.

A class of the real ``ex01_conv1d`` is handed in with known mistakes, graded for real, and
reported on. What each planted mistake should be diagnosed as is found independently, by calling
the course's visible check on the planted function in this process; the report itself reads only
the grading run's records.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
from pathlib import Path

import nbformat
import numpy as np
import pytest
from test_site_browser import browser  # noqa: F401 - the fixture, shared with the site test

import convlab.grading
from convlab.course.autograde import GradingLimits, autograde
from convlab.course.cli import main
from convlab.course.layout import Course
from convlab.course.release import release
from convlab.course.report import NO_DIAGNOSIS, NOT_ATTEMPTED, class_report, write_report

REAL = Path(__file__).resolve().parents[1] / "exercises"
A = "ex01_conv1d"

CONVOLVE = """
def convolve1d(f, g, mode="full"):
    f, g = np.asarray(f, dtype=float), np.asarray(g, dtype=float)
    n, m = len(f), len(g)
    full = np.zeros(n + m - 1)
    for k in range(m):
        full[k : k + n] += {tap} * f
    start = {start}
    if mode == "full":
        return full
    if mode == "same":
        return full[start : start + n]
    return full[m - 1 : n]
"""
CORRECT = CONVOLVE.format(tap="g[k]", start="(m - 1) // 2")
UNFLIPPED = CONVOLVE.format(tap="g[m - 1 - k]", start="(m - 1) // 2")  # correlation
LATE_SAME = CONVOLVE.format(tap="g[k]", start="m // 2")  # MATLAB's 'same' for even kernels
CORRELATE = """
def correlate1d(f, g, mode="valid"):
    return convolve1d(f, np.asarray(g)[::-1], mode)
"""
RAISES = """
def correlate1d(f, g, mode="valid"):
    raise ValueError("not today")
"""

CLASS = {  # student: (convolve1d, correlate1d); None leaves the stub
    **{f"right{i}": (CORRECT, CORRELATE) for i in range(3)},
    **{f"unflipped{i}": (UNFLIPPED, CORRELATE) for i in range(3)},
    **{f"late_same{i}": (LATE_SAME, CORRELATE) for i in range(2)},
    "blank": (None, None),
    "raiser": (CORRECT, RAISES),
}


def _diagnoses_here(code: str, name: str) -> list[str]:
    """What the visible check says of ``code``, run in this process (the independent oracle)."""
    scope = {"np": np}
    exec(CORRECT, scope)
    exec(code, scope)
    try:
        getattr(convlab.grading, f"check_{name}")(scope[name])
    except convlab.grading.CheckFailure as failure:
        return [
            line.split("Diagnosis:", 1)[1].strip()
            for line in str(failure).splitlines()
            if line.startswith("Diagnosis:")
        ]
    return []


def _hand_in(course: Course, student: str, codes) -> None:
    nb = nbformat.read(course.release(A), as_version=4)
    solutions = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")]
    for cell, code in zip(solutions, codes, strict=True):
        if code is not None:
            cell.source = code
    folder = course.submitted(student, A)
    folder.mkdir(parents=True)
    nbformat.write(nb, folder / f"{A}.ipynb")
    (folder / "timestamp.txt").write_text("2026-03-01 09:00:00+00:00\n")


@pytest.fixture(scope="module")
def reported(tmp_path_factory):
    if not (REAL / "source" / A).is_dir():
        pytest.skip("the course's ex01_conv1d is not here")
    root = tmp_path_factory.mktemp("report") / "course"
    (root / "source").mkdir(parents=True)
    shutil.copy(REAL / "nbgrader_config.py", root / "nbgrader_config.py")
    shutil.copytree(REAL / "source" / A, root / "source" / A)
    course = Course(root)
    assert release(course, [A])[0].problems == []
    for student, codes in CLASS.items():
        _hand_in(course, student, codes)
    os.environ["CONVLAB_GRADING_SEED"] = "20261201"
    try:
        autograde(course, A, jobs=2, limits=GradingLimits(timeout=60, memory_mb=2048), progress=False)
    finally:
        del os.environ["CONVLAB_GRADING_SEED"]
    return course, write_report(course, A)


def test_planted_misconceptions_are_counted_exactly(reported):
    _, report = reported
    assert report.functions == ["convolve1d", "correlate1d"]
    rows = {d: set(s) for d, s, _ in report.misconceptions("convolve1d")}
    for code, group in ((UNFLIPPED, "unflipped"), (LATE_SAME, "late_same")):
        expected = _diagnoses_here(code, "convolve1d")
        assert expected, f"the check no longer diagnoses {group}: pick another planted mistake"
        planted = {s for s in CLASS if s.startswith(group)}
        assert rows[expected[0]] == planted, (expected[0], rows)
    assert rows[NOT_ATTEMPTED] == {"blank"}
    assert not any(s.startswith("right") for students in rows.values() for s in students)


def test_other_failures_are_named_not_guessed(reported):
    _, report = reported
    rows = {d: set(s) for d, s, _ in report.misconceptions("correlate1d")}
    raised = [d for d in rows if d.startswith("raised ValueError")]
    assert raised and rows[raised[0]] == {"raiser"}
    # the unflipped students' correlate1d calls their own convolve1d: whatever it is, it is counted
    assert all(students for students in rows.values())


def test_csv_has_a_row_per_student_function_and_diagnosis_and_none_for_full_marks(reported):
    course, report = reported
    rows = list(csv.DictReader(io.StringIO((course.root / "reports" / f"{A}-diagnoses.csv").read_text())))
    assert rows
    assert {r["student"] for r in rows}.isdisjoint({"right0", "right1", "right2"})
    for row in rows:
        result = report.results[row["student"]][row["function"]]
        assert result.score < result.max_score
        assert row["diagnosis"] in result.diagnoses
    blank = [r for r in rows if r["student"] == "blank"]
    assert {r["function"] for r in blank} == {"convolve1d", "correlate1d"}
    no_known = [r for r in rows if r["diagnosis"] == NO_DIAGNOSIS]
    assert all(r["score"] != r["max_score"] for r in no_known)


def test_html_report_shows_distributions_misconceptions_and_statuses(reported):
    course, report = reported
    page = (course.root / "reports" / f"{A}.html").read_text()
    assert page.count("data:image/png;base64,") == 1
    assert "<h2>Misconceptions</h2>" in page and "<h2>Grading statuses</h2>" in page
    for diagnosis, _students, _ in report.misconceptions("convolve1d"):
        assert diagnosis.replace("'", "&#x27;").replace('"', "&quot;")[:40] in page
    assert f"{len(CLASS)} students handed in" in page


def test_report_reads_the_records_not_the_students_code(reported, monkeypatch):
    course, _ = reported

    def refuse(*args, **kwargs):
        raise AssertionError("the report must not run a kernel")

    monkeypatch.setattr("jupyter_client.manager.KernelManager.start_kernel", refuse)
    again = class_report(course, A)
    assert json.dumps(again.misconceptions("convolve1d"))


def test_command_line_report_and_all(reported, tmp_path, capsys):
    course, _ = reported
    assert main(["--course-dir", str(course.root), "report", "--all", "--to", str(tmp_path)]) == 0
    assert (tmp_path / f"{A}.html").is_file() and (tmp_path / f"{A}-diagnoses.csv").is_file()
    assert main(["--course-dir", str(course.root), "report"]) == 2
    assert "needs an ASSIGNMENT or --all" in capsys.readouterr().err


@pytest.mark.browser
def test_report_page_renders_in_a_browser(reported, browser):  # noqa: F811 - the imported fixture
    """The report as an instructor opens it: figure loaded, no horizontal scrolling, a screenshot."""
    from test_site_browser import SHOTS

    course, _ = reported
    browser.set_window_size(1280, 1000)
    browser.get((course.root / "reports" / f"{A}.html").as_uri())
    assert browser.execute_script("return document.images[0].complete && document.images[0].naturalWidth > 0")
    assert browser.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
    rows = browser.execute_script("return document.querySelectorAll('tr').length")
    assert rows >= 6
    SHOTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SHOTS / "class-report.png"))
