"""Student versions of the assignments, and a check that the grading works before anyone hands in.

``nbgrader generate_assignment`` writes ``release/`` and records the assignment in the gradebook;
``nbgrader validate`` exits 0 even when a notebook fails, so here its ``Validator`` is called
directly: every *source* notebook (with solutions and hidden tests) must pass, and every
*release* notebook, handed in untouched and run with the hidden tests put back (as the grader
will), must fail every test cell. Either problem makes the command fail.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .layout import Course

__all__ = ["ReleaseResult", "release", "release_zip", "solution_code"]


@dataclass
class ReleaseResult:
    """What happened to one assignment: ``problems`` is empty when all is well."""

    assignment: str
    problems: list[str] = field(default_factory=list)


def _validate(course: Course, assignment: str) -> list[str]:
    from nbgrader.validator import Validator

    problems = []
    config = course.config()
    source = Validator(config=config).validate(str(course.source(assignment)))
    for cell in source.get("failed", []):
        problems.append(f"the solution fails a test cell:\n{cell['source']}\n{cell['raw_error']}")
    for cell in source.get("type_changed", []) + source.get("changed", []):
        problems.append(f"a locked cell of the source changed:\n{cell['source']}")
    with tempfile.TemporaryDirectory() as scratch:
        untouched = Path(scratch) / course.release(assignment).name
        nbformat.write(_with_hidden_tests(course, assignment), untouched)
        validator = Validator(config=config, invert=True, ignore_checksums=True)
        for cell in validator.validate(str(untouched)).get("passed", []):
            problems.append(f"the untouched release passes a test cell (free points):\n{cell['source']}")
    return problems


def solution_code(course: Course, assignment: str) -> dict[str, str]:
    """``{grade_id: code}`` of the source's solution cells, as a student who solved them would write
    them (the ``### BEGIN/END SOLUTION`` marker lines removed)."""
    source = nbformat.read(course.source(assignment), as_version=4)
    return {
        cell.metadata["nbgrader"]["grade_id"]: "\n".join(
            line
            for line in cell.source.splitlines()
            if "## BEGIN SOLUTION" not in line and "## END SOLUTION" not in line
        )
        for cell in source.cells
        if cell.metadata.get("nbgrader", {}).get("solution")
    }


def _with_hidden_tests(course: Course, assignment: str):
    """The release as the grader runs it: test cells as in the source, hidden tests included."""
    source = nbformat.read(course.source(assignment), as_version=4)
    tests = {
        c.metadata["nbgrader"]["grade_id"]: c.source
        for c in source.cells
        if c.metadata.get("nbgrader", {}).get("grade") and not c.metadata["nbgrader"].get("solution")
    }
    nb = nbformat.read(course.release(assignment), as_version=4)
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in tests:
            cell.source = tests[gid]
    return nb


def release(
    course: Course, assignments: list[str] | None = None, validate: bool = True
) -> list[ReleaseResult]:
    """Generate ``release/`` for ``assignments`` (default: all) and validate source and release."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    known = course.assignments()
    assignments = assignments or known
    for name in assignments:
        if name not in known:
            raise ValueError(f"`assignment` must be one of {known}; got assignment={name!r}")
    config = course.config()
    api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
    results = []
    for name in assignments:
        result = ReleaseResult(name)
        outcome = api.generate_assignment(name, force=True, create=True)
        if not outcome["success"]:
            result.problems.append(
                f"nbgrader generate_assignment failed:\n{outcome.get('error') or outcome.get('log')}"
            )
        elif validate:
            result.problems += _validate(course, name)
        results.append(result)
    return results


def release_zip(course: Course, assignment: str) -> Path:
    """``lms/<assignment>.zip``: the student files of ``release/<assignment>/``, for an LMS upload."""
    from .lms import write_zip

    folder = course.release(assignment).parent
    if not folder.is_dir():
        raise ValueError(
            f"`assignment` has no release folder (run release first); got assignment={assignment!r}"
        )
    members = {
        f"{assignment}/{p.relative_to(folder).as_posix()}": p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and ".ipynb_checkpoints" not in p.parts
    }
    return write_zip(course.root / "lms" / f"{assignment}.zip", members)
