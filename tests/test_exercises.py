"""The nbgrader assignments: structure, release in sync with source, nbgrader validation.

- every exercise function has a solution cell, a visible test cell calling its check on fixed
  cases and a hidden test cell with randomised cases, each with points; an ungraded explore cell
  follows at least one function of every assignment;
- the committed student notebooks (``release/``) are what ``nbgrader generate_assignment`` makes
  of ``source/`` today, and hold neither solutions nor hidden tests;
- ``nbgrader validate`` (its Python API: the command exits 0 even when validation fails) passes
  the source notebooks and fails the untouched student notebooks.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from convlab.course.layout import Course
from convlab.course.release import release
from convlab.grading import ASSIGNMENTS

COURSE = Course(Path(__file__).resolve().parents[1] / "exercises")


def notebook_path(assignment, stage="source", course=COURSE):
    return getattr(course, stage)(assignment)


def _cell_texts(path):
    return [(c["cell_type"], _src(c)) for c in json.loads(path.read_text())["cells"]]


def release_differences(tmp_path):
    """Regenerate the student notebooks in a copy of the course; list the cells that differ."""
    shutil.copytree(COURSE.root / "source", tmp_path / "source")
    shutil.copy2(COURSE.root / "nbgrader_config.py", tmp_path / "nbgrader_config.py")
    copy = Course(tmp_path)
    assert all(not r.problems for r in release(copy, validate=False))
    differences = {}
    for assignment in ASSIGNMENTS:
        old, new = _cell_texts(COURSE.release(assignment)), _cell_texts(copy.release(assignment))
        problems = (
            [f"cell count: committed {len(old)}, regenerated {len(new)}"] if len(old) != len(new) else []
        )
        problems += [
            f"cell {i}: committed {a[0]} {a[1][:60]!r} != regenerated {b[0]} {b[1][:60]!r}"
            for i, (a, b) in enumerate(zip(old, new, strict=False))
            if a != b
        ]
        if problems:
            differences[assignment] = problems
    return differences


POINTS_PER_FUNCTION = 5  # 2 for the visible test, 3 for the hidden one


def _cells(assignment, stage="source"):
    return json.loads(notebook_path(assignment, stage).read_text())["cells"]


def _src(cell):
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def _nbgrader(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


def _questions(cells):
    """Written questions with numeric answers: an ``answer_<q>`` solution cell, a ``test_answer_<q>`` test."""
    return {
        _nbgrader(c)["grade_id"].removeprefix("answer_"): c
        for c in cells
        if _nbgrader(c).get("grade_id", "").startswith("answer_")
    }


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_source_notebook_structure(assignment):
    cells = _cells(assignment)
    by_id = {_nbgrader(c).get("grade_id"): c for c in cells if _nbgrader(c)}
    assert _src(cells[0]).startswith("# Exercise")
    assert "import convlab.grading" in _src(by_id["imports"])
    for name in ASSIGNMENTS[assignment]:
        solution = by_id[name]
        assert _nbgrader(solution)["solution"] and not _nbgrader(solution)["grade"]
        text = _src(solution)
        assert text.startswith(f"def {name}(")
        assert "### BEGIN SOLUTION" in text and "### END SOLUTION" in text
        assert not re.search(r"^\S", text.split("\n", 1)[1], re.MULTILINE), (
            "the cell holds the function alone"
        )
        visible, hidden = by_id[f"test_{name}"], by_id[f"hidden_test_{name}"]
        assert f"convlab.grading.check_{name}({name})" in _src(visible)
        assert re.search(
            rf"### BEGIN HIDDEN TESTS\nconvlab\.grading\.check_{name}\("
            rf"\s*{name}, n_random=\d+, seed=None\s*\)\n### END HIDDEN TESTS",
            _src(hidden),
        )
        assert _nbgrader(visible)["points"] == 2 and _nbgrader(hidden)["points"] == 3
        assert _nbgrader(visible)["locked"] and _nbgrader(hidden)["locked"]
    questions = _questions(cells)
    for question, answer in questions.items():
        assert _nbgrader(answer)["solution"] and "### BEGIN SOLUTION" in _src(answer)
        test = by_id[f"test_answer_{question}"]
        assert f'convlab.grading.check_answer("{question}", {question})' in _src(test)
        assert _nbgrader(test)["points"] == 1 and _nbgrader(test)["locked"]
    points = sum(_nbgrader(c).get("points", 0) for c in cells)
    assert points == POINTS_PER_FUNCTION * len(ASSIGNMENTS[assignment]) + len(questions)
    explore = [c for c in cells if c["cell_type"] == "code" and not _nbgrader(c)]
    assert explore, "an ungraded explore cell"
    assert all("except NotImplementedError" in _src(c) for c in explore)
    assert any(re.search(r"plt\.subplots|print\(", _src(c)) for c in explore)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_notebook_holds_no_solution_and_no_hidden_test(assignment):
    cells = _cells(assignment, "release")
    text = "\n".join(_src(c) for c in cells)
    assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text and "n_random" not in text
    for name in ASSIGNMENTS[assignment]:
        stub = next(_src(c) for c in cells if _nbgrader(c).get("grade_id") == name)
        assert stub.startswith(f"def {name}(") and "raise NotImplementedError(" in stub
    assert all(
        not c.get("outputs") and c.get("execution_count") is None for c in cells if c["cell_type"] == "code"
    )


def test_release_is_in_sync_with_source(tmp_path):
    differences = release_differences(tmp_path)
    assert differences == {}, "regenerate with `convlab-course release`:\n" + json.dumps(
        differences, indent=1
    )


@pytest.fixture(scope="module")
def validator():
    from nbgrader.validator import Validator

    return Validator(config=COURSE.config())


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_source_notebook_passes_nbgrader_validate(assignment, validator, monkeypatch):
    monkeypatch.setenv("CONVLAB_GRADING_SEED", "2026")
    result = validator.validate(str(notebook_path(assignment, "source")))
    assert result == {}, json.dumps(result, indent=1)[:3000]


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_untouched_release_notebook_fails_nbgrader_validate(assignment, validator):
    result = validator.validate(str(notebook_path(assignment, "release")))
    failed = result.get("failed", [])
    questions = _questions(_cells(assignment))
    # every visible test fails, nothing else matters; an unanswered question's variable is undefined
    assert len(failed) == len(ASSIGNMENTS[assignment]) + len(questions)
    assert all("NotImplementedError" in f["raw_error"] or "NameError" in f["raw_error"] for f in failed)
    assert sum("NotImplementedError" in f["raw_error"] for f in failed) == len(ASSIGNMENTS[assignment])
