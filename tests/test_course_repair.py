"""Repair keeps every point a correct student earned: one small notebook per repair rule.

The oracle is the notebook itself: the repaired cells are executed in order, in one namespace (no
kernel: the cells are plain Python), with the released test cells' assertions as the score. A
correct student must get every point whatever the layout; a wrong one none; the test cells must be
the released ones (by source and grade_id), in the released order; and no line of the student's
code may be missing.
"""

import copy
import json

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from convlab.course.repair import load_submission, repair_notebook

ADD = "def add(a, b):\n    return a + b"
MUL = "def mul(a, b):\n    return a * b"
STUB = "def {0}(a, b):\n    raise NotImplementedError"


def _meta(gid, **flags):
    base = {"grade_id": gid, "schema_version": 3, "grade": False, "locked": False, "solution": False}
    return {"nbgrader": {**base, **flags}}


def _released():
    """Two functions, each with a visible and a (placeholder) hidden test; prose in between."""
    nb = new_notebook()
    nb.cells = [
        new_markdown_cell("# Tiny"),
        new_code_cell("import math", metadata=_meta("setup", locked=True)),
        new_markdown_cell("## add"),
        new_code_cell(STUB.format("add"), metadata=_meta("add", solution=True)),
        new_code_cell("assert add(2, 3) == 5", metadata=_meta("test_add", grade=True, locked=True, points=2)),
        new_code_cell("# hidden", metadata=_meta("hidden_add", grade=True, locked=True, points=1)),
        new_code_cell("print(add(1, 1))"),
        new_markdown_cell("## mul"),
        new_code_cell(STUB.format("mul"), metadata=_meta("mul", solution=True)),
        new_code_cell("assert mul(2, 3) == 6", metadata=_meta("test_mul", grade=True, locked=True, points=3)),
    ]
    return nb


REL = _released()
POINTS = {"test_add": 2, "hidden_add": 1, "test_mul": 3}
TOTAL = sum(POINTS.values())
HIDDEN = {"hidden_add": "assert add(4, 5) == 9"}  # what nbgrader puts back from the gradebook


def _gid(cell):
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def _find(nb, gid):
    return next(c for c in nb.cells if _gid(c) == gid)


def _correct():
    nb = copy.deepcopy(REL)
    _find(nb, "add").source = ADD
    _find(nb, "mul").source = MUL
    return nb


def _score(nb):
    """Run the cells top to bottom; a test cell scores its points when it raises nothing."""
    ns, score = {}, 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        meta = cell.metadata.get("nbgrader", {})
        source = HIDDEN.get(meta.get("grade_id"), cell.source) if meta.get("grade") else cell.source
        try:
            exec(source, ns)
        except Exception:
            continue
        if meta.get("grade"):
            score += meta["points"]
    return score


def _check(submitted, expected_score=TOTAL):
    """Repair, then assert the invariants every rule shares; return the notes."""
    locked_ids = {_gid(c) for c in REL.cells if c.metadata.get("nbgrader", {}).get("locked")}
    before = [c.source for c in submitted.cells if c.cell_type == "code" and _gid(c) not in locked_ids]
    repaired, notes = repair_notebook(copy.deepcopy(submitted), REL)
    tests = [
        (_gid(c), c.source, c.cell_type)
        for c in repaired.cells
        if c.metadata.get("nbgrader", {}).get("grade")
    ]
    released = [
        (_gid(c), c.source, c.cell_type) for c in REL.cells if c.metadata.get("nbgrader", {}).get("grade")
    ]
    assert tests == released  # every test cell back from the source, in the released order
    ids = [_gid(c) for c in repaired.cells if _gid(c)]
    assert sorted(ids) == sorted(_gid(c) for c in REL.cells if _gid(c))  # each id exactly once
    kept = "\n".join(c.source for c in repaired.cells)
    locked = {c.source for c in REL.cells if c.metadata.get("nbgrader", {}).get("locked")}
    lost = [s for s in before if s.strip() and s not in locked and s not in kept]
    assert lost == []  # never drops student code
    assert _score(repaired) == expected_score
    return notes


def test_an_intact_notebook_is_left_as_it_is():
    repaired, notes = repair_notebook(_correct(), REL)
    assert notes == []
    assert [(c.source, c.metadata) for c in repaired.cells] == [
        (c.source, c.metadata) for c in _correct().cells
    ]
    assert _score(repaired) == TOTAL


def test_the_blank_release_scores_nothing_and_keeps_its_stubs():
    assert _check(copy.deepcopy(REL), 0) == []


def test_stripped_metadata():
    nb = _correct()
    for cell in nb.cells:
        cell.metadata = {}
    notes = _check(nb)
    assert any("metadata was missing" in n for n in notes)


def test_renamed_grade_ids():
    nb = _correct()
    for cell in nb.cells:
        if _gid(cell):
            cell.metadata.nbgrader.grade_id = "mine_" + _gid(cell)
    notes = _check(nb)
    assert any("changed to 'mine_test_add'" in n for n in notes)


@pytest.mark.parametrize("strip", [False, True], ids=["metadata", "stripped"])
def test_both_functions_in_the_first_solution_cell_and_pass_in_the_second(strip):
    nb = copy.deepcopy(REL)
    _find(nb, "add").source = ADD + "\n\n" + MUL
    _find(nb, "mul").source = "pass"
    if strip:
        for cell in nb.cells:
            cell.metadata = {}
    _check(nb)


def test_both_functions_in_the_last_solution_cell_run_before_the_first_tests():
    nb = copy.deepcopy(REL)
    _find(nb, "add").source = "pass"
    _find(nb, "mul").source = MUL + "\n\n" + ADD
    notes = _check(nb)
    assert any("moved" in n for n in notes)


def test_functions_swapped_between_solution_cells():
    nb = copy.deepcopy(REL)
    _find(nb, "add").source = MUL
    _find(nb, "mul").source = ADD
    _check(nb)


def test_helper_cells_added_before_and_between():
    nb = copy.deepcopy(REL)
    at = nb.cells.index(_find(nb, "add"))
    nb.cells.insert(at, new_code_cell("def _plus(a, b):\n    return a + b"))
    _find(nb, "add").source = "def add(a, b):\n    return _plus(a, b)"
    at = nb.cells.index(_find(nb, "test_add"))
    nb.cells.insert(at, new_code_cell("OFFSET = 0"))
    _find(nb, "mul").source = "def mul(a, b):\n    return a * b + OFFSET"
    assert _check(nb) == []


def test_cells_reordered():
    nb = _correct()
    tests = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    for cell in tests:
        nb.cells.remove(cell)
    nb.cells = tests[::-1] + nb.cells[::-1]  # every test first, everything else backwards
    _check(nb)


def test_a_deleted_test_is_restored():
    nb = _correct()
    nb.cells.remove(_find(nb, "test_mul"))
    notes = _check(nb)
    assert any("test_mul was missing; restored from the source" in n for n in notes)


def test_an_edited_test_is_restored_from_the_source():
    nb = copy.deepcopy(REL)
    _find(nb, "add").source = ADD
    _find(nb, "test_mul").source = "pass"  # a wrong mul (the stub) must not score
    notes = _check(nb, TOTAL - POINTS["test_mul"])
    assert any("test_mul was edited" in n for n in notes)


def test_a_test_turned_into_markdown_runs_again():
    nb = copy.deepcopy(REL)
    _find(nb, "add").source = ADD
    cell = _find(nb, "test_mul")
    nb.cells[nb.cells.index(cell)] = new_markdown_cell(cell.source, metadata=cell.metadata)
    notes = _check(nb, TOTAL - POINTS["test_mul"])
    assert any("turned into markdown" in n for n in notes)


def test_a_missing_solution_cell_is_put_back_empty_never_as_the_stub():
    nb = copy.deepcopy(REL)
    _find(nb, "add").source = ADD + "\n\n" + MUL
    nb.cells.remove(_find(nb, "mul"))
    repaired, notes = repair_notebook(nb, REL)
    assert _find(repaired, "mul").source == ""
    assert "NotImplementedError" not in "".join(c.source for c in repaired.cells)
    assert any("mul: it was missing" in n for n in notes)
    assert _score(repaired) == TOTAL


def test_a_duplicated_solution_cell_runs_once_with_the_metadata():
    nb = _correct()
    at = nb.cells.index(_find(nb, "add"))
    nb.cells.insert(at + 1, copy.deepcopy(nb.cells[at]))
    notes = _check(nb)
    assert any("appears twice" in n for n in notes)


def test_trailing_student_cells_stay_at_the_end():
    nb = _correct()
    nb.cells.append(new_code_cell("scratch = add(1, 2)"))
    repaired, _ = repair_notebook(nb, REL)
    assert repaired.cells[-1].source == "scratch = add(1, 2)"


def test_a_truncated_notebook_keeps_the_cells_before_the_damage():
    text = nbformat.writes(_correct())
    cut = text.index('"grade_id": "mul"')
    nb, notes = load_submission(text[:cut].encode())
    assert "not valid JSON" in notes[0]
    repaired, more = repair_notebook(nb, REL)
    assert _score(repaired) == TOTAL - POINTS["test_mul"]  # add and its tests survived
    assert any("mul: it was missing" in n for n in more)


def test_unreadable_input_is_reported_not_raised():
    assert load_submission(b"\x00not json") == (None, [load_submission(b"\x00not json")[1][0]])
    nb, notes = load_submission(json.dumps({"cells": "nope"}).encode())
    assert nb is None and "not valid JSON" in notes[0]
