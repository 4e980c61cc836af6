"""``check_submission``: what nbgrader's *Validate* button does, for students who have no such button.

The last cell of every exercise notebook calls ``check_submission("<assignment>")``. It

1. runs the notebook's visible test cells again, in the student's own namespace, and says which
   fail (the message's first line and its diagnosis);
2. reads the notebook as it is saved (Colab: from the frontend; Jupyter: the file the server
   names in ``$JPY_SESSION_NAME``; or the ``notebook=`` path) and checks that every graded cell
   is still there with its nbgrader id, and that no test cell was edited, since the grader
   finds cells by those ids;
3. says what to download and hand in.

The cells it expects come from :data:`convlab.grading._manifest.MANIFEST`, generated from the
release notebooks (``python -m convlab.grading.submission exercises/release``) and kept equal to
them by a test. Under the grader (``$NBGRADER_EXECUTION`` set) it does nothing.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["SubmissionCheck", "check_submission", "manifest_from_release"]


@dataclass
class SubmissionCheck:
    """What :func:`check_submission` found; ``ok`` when nothing stands in the way of handing in."""

    assignment: str
    failed_tests: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notebook_read: bool = False

    @property
    def ok(self) -> bool:
        return not self.failed_tests and not self.problems and self.notebook_read


def _graded_cells(nb: dict) -> dict[str, dict]:
    cells = {}
    for cell in nb.get("cells", []):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade") or meta.get("solution"):
            source = cell.get("source", "")
            cells[meta.get("grade_id", "")] = {
                "kind": "solution" if meta.get("solution") else "test",
                "source": source if isinstance(source, str) else "".join(source),
            }
    return cells


def manifest_from_release(release_dir: str | Path) -> dict[str, dict]:
    """``{assignment: {"cells": {grade_id: kind}, "visible_tests": {grade_id: source}}}``."""
    out = {}
    for path in sorted(Path(release_dir).glob("*/*.ipynb")):
        if path.stem != path.parent.name:
            continue
        cells = _graded_cells(json.loads(path.read_text()))
        out[path.stem] = {
            "cells": {gid: c["kind"] for gid, c in cells.items()},
            "visible_tests": {gid: c["source"] for gid, c in cells.items() if c["kind"] == "test"},
        }
    return out


def _read_saved_notebook(notebook: str | Path | None, namespace: dict) -> tuple[dict | None, str]:
    """The notebook as saved, and where it was read from ("" when it could not be read)."""
    if notebook is None:
        try:  # Colab: the frontend hands the kernel the notebook it shows
            from google.colab import _message  # type: ignore[import-not-found]

            reply = _message.blocking_request("get_ipynb", timeout_sec=20)
            if reply and "ipynb" in reply:
                return reply["ipynb"], "Colab"
        except Exception:  # not in Colab, or the frontend did not answer
            pass
        notebook = os.environ.get("JPY_SESSION_NAME") or namespace.get("__vsc_ipynb_file__")
    if notebook:
        path = Path(notebook)
        if path.is_file() and path.suffix == ".ipynb":
            try:
                return json.loads(path.read_text()), str(path)
            except (OSError, ValueError):
                pass
    return None, ""


def _namespace() -> dict:
    try:
        from IPython import get_ipython

        shell = get_ipython()
        if shell is not None:
            return shell.user_ns
    except ImportError:
        pass
    return sys._getframe(2).f_globals


def _runnable_tests(tests: dict[str, str]) -> dict[str, str]:
    """The test cells as students see them, without those that hold only comments.

    A hidden-test cell shows students only its comment (nbgrader strips the hidden block): it is
    not a test they can run, nor one to count.
    """
    visible = {gid: source.split("### BEGIN HIDDEN TESTS")[0] for gid, source in tests.items()}
    return {
        gid: source
        for gid, source in visible.items()
        if any(line.strip() and not line.lstrip().startswith("#") for line in source.splitlines())
    }


def _run_visible_tests(tests: dict[str, str], namespace: dict, result: SubmissionCheck) -> list[str]:
    lines = []
    for gid, source in tests.items():
        try:
            exec(compile(source, f"<test cell {gid}>", "exec"), namespace)  # the notebook's own cell
        except Exception as error:  # every failure is reported, none stops the check
            try:
                text = str(error)
            except Exception:  # an exception whose message cannot be shown
                text = ""
            first = text.splitlines()[0] if text else ""
            hints = [line for line in text.splitlines() if line.startswith("Diagnosis:")][:1]
            lines.append(f"✘ {gid}: {type(error).__name__}" + (f": {first}" if first else ""))
            lines += [f"    {h}" for h in hints]
            result.failed_tests.append(gid)
    return lines


def _check_structure(expected: dict, nb: dict, result: SubmissionCheck) -> None:
    found = _graded_cells(nb)
    for gid, kind in expected["cells"].items():
        if gid not in found:
            result.problems.append(
                f"the {kind} cell `{gid}` is missing or lost its nbgrader metadata: copy it back "
                "from a fresh copy of the assignment (the grader finds cells by this id)"
            )
        elif kind == "test" and found[gid]["source"].strip() != expected["visible_tests"][gid].strip():
            result.problems.append(f"the test cell `{gid}` was edited: the grader puts the original back")


def check_submission(
    assignment: str, notebook: str | Path | None = None, namespace: dict | None = None
) -> SubmissionCheck:
    """Check that the notebook is ready to hand in, and say what to download and submit.

    Parameters
    ----------
    assignment : str
        The assignment id, e.g. ``"ex01_conv1d"``.
    notebook : path, optional
        The saved notebook, when it cannot be found on its own (neither Colab nor a Jupyter server).
    namespace : dict, optional
        Where the visible tests find the student's functions; default the notebook's namespace.

    Returns
    -------
    SubmissionCheck
        Also printed, line by line.

    Raises
    ------
    ValueError
        If ``assignment`` is not one of the course's assignments.
    """
    from convlab.grading._manifest import MANIFEST

    if not isinstance(assignment, str) or assignment not in MANIFEST:
        raise ValueError(f"`assignment` must be one of {sorted(MANIFEST)}; got assignment={assignment!r}")
    result = SubmissionCheck(assignment)
    if os.environ.get("NBGRADER_EXECUTION"):
        print(
            "check_submission: nbgrader is running this notebook (grading or validating); nothing to check."
        )
        result.notebook_read = True
        return result
    namespace = _namespace() if namespace is None else namespace
    expected = MANIFEST[assignment]
    tests = _runnable_tests(expected["visible_tests"])
    lines = _run_visible_tests(tests, namespace, result)
    nb, where = _read_saved_notebook(notebook, namespace)
    if nb is None:
        lines.append(
            "? could not read the saved notebook to check its cells: save it, then call "
            f'check_submission("{assignment}", notebook="<path to {assignment}.ipynb>")'
        )
    else:
        result.notebook_read = True
        _check_structure(expected, nb, result)
        lines += [f"✘ {p}" for p in result.problems]
    n = len(tests)
    if result.failed_tests:
        lines.insert(0, f"{n - len(result.failed_tests)} of {n} visible tests pass:")
    else:
        lines.insert(0, f"✔ all {n} visible tests pass (the hidden tests run when it is graded)")
    if nb is not None and not result.problems:
        lines.append(f"✔ every graded cell is in place ({where})")
    lines.append(
        f"To hand in: save, Restart and run all, then File → Download (Colab: Download .ipynb) "
        f"and submit the file `{assignment}.ipynb`."
    )
    print("\n".join(lines))
    return result


def _write_manifest(release_dir: str) -> Path:
    target = Path(__file__).with_name("_manifest.py")
    data = manifest_from_release(release_dir)
    target.write_text(
        "# ruff: noqa: E501 - generated data: the cells' source, one string each\n"
        '"""The graded cells of each release notebook.\n\n'
        "Generated by ``python -m convlab.grading.submission exercises/release``; a test keeps it equal\n"
        'to the release notebooks.\n"""\n\n'
        f"MANIFEST = {json.dumps(data, indent=4, ensure_ascii=False)}\n"
    )
    return target


if __name__ == "__main__":
    print(_write_manifest(sys.argv[1] if len(sys.argv) > 1 else "exercises/release"))
