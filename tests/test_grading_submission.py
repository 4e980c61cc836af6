"""check_submission: the visible tests, the graded cells with their ids, and what to hand in."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import convlab
from convlab.grading._manifest import MANIFEST
from convlab.grading.submission import check_submission, manifest_from_release

ROOT = Path(__file__).resolve().parents[1]
RELEASE = ROOT / "exercises" / "release"
A = "ex01_conv1d"


def convolve1d(f, g, mode="full"):
    f, g = np.asarray(f, dtype=float), np.asarray(g, dtype=float)
    n, m = len(f), len(g)
    full = np.zeros(n + m - 1)
    for k in range(m):
        full[k : k + n] += g[k] * f
    start = {"full": 0, "same": (m - 1) // 2, "valid": m - 1}[mode]
    return full[start : start + {"full": n + m - 1, "same": n, "valid": n - m + 1}[mode]]


def correlate1d(f, g, mode="valid"):
    return convolve1d(f, np.asarray(g)[::-1], mode)


def _namespace(**overrides):
    return {"np": np, "convlab": convlab, "convolve1d": convolve1d, "correlate1d": correlate1d, **overrides}


def _saved(tmp_path, edit=None) -> Path:
    nb = json.loads((RELEASE / A / f"{A}.ipynb").read_text())
    if edit is not None:
        edit(nb)
    path = tmp_path / f"{A}.ipynb"
    path.write_text(json.dumps(nb))
    return path


def _cell(nb, gid):
    return next(c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == gid)


def test_the_manifest_is_the_release_notebooks():
    assert MANIFEST == manifest_from_release(RELEASE), "regenerate: python -m convlab.grading.submission"


def test_a_ready_notebook_passes_and_is_told_what_to_hand_in(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    result = check_submission(A, _saved(tmp_path), _namespace())
    out = capsys.readouterr().out
    assert result.ok, out
    assert "visible tests pass" in out and "every graded cell is in place" in out
    assert f"submit the file `{A}.ipynb`" in out
    # counted as students see them: a hidden-test cell (only a comment in the release) is not one
    release = json.loads((RELEASE / A / f"{A}.ipynb").read_text())
    runnable = [
        c
        for c in release["cells"]
        if c["metadata"].get("nbgrader", {}).get("grade")
        and c["cell_type"] == "code"
        and any(
            line.strip() and not line.strip().startswith("#") for line in "".join(c["source"]).splitlines()
        )
    ]
    assert f"✔ all {len(runnable)} visible tests pass" in out, out


def test_a_failing_function_is_named_with_its_diagnosis(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)

    def unflipped(f, g, mode="full"):
        return convolve1d(f, np.asarray(g)[::-1], mode)

    result = check_submission(A, _saved(tmp_path), _namespace(convolve1d=unflipped))
    out = capsys.readouterr().out
    assert not result.ok
    assert "test_convolve1d" in result.failed_tests
    assert "✘ test_convolve1d: CheckFailure" in out
    assert "Diagnosis:" in out


def test_a_cell_that_lost_its_id_and_an_edited_test_are_reported(tmp_path, monkeypatch):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)

    def edit(nb):
        _cell(nb, "correlate1d")["metadata"] = {}
        _cell(nb, "test_convolve1d")["source"] = "pass"

    result = check_submission(A, _saved(tmp_path, edit), _namespace())
    assert not result.ok
    assert any("`correlate1d` is missing or lost its nbgrader metadata" in p for p in result.problems)
    assert any("test cell `test_convolve1d` was edited" in p for p in result.problems)


def test_an_unreadable_notebook_is_said_not_guessed(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    result = check_submission(A, tmp_path / "nowhere.ipynb", _namespace())
    assert not result.ok and not result.notebook_read
    assert "could not read the saved notebook" in capsys.readouterr().out


def test_under_the_grader_it_does_nothing(monkeypatch, capsys):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert check_submission(A, namespace={}).ok
    assert "nbgrader is running this notebook" in capsys.readouterr().out


def test_bad_assignment_is_refused():
    with pytest.raises(ValueError, match="`assignment` must be one of"):
        check_submission("ex99_nothing")
