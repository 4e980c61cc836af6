"""Helpers around nbgrader for the course's exercises: configured API, releases, solutions.

nbgrader is an instructor dependency (``pip install convlab[course]``); students never need it.
These helpers are the building blocks of the instructor tooling and of the tests:

- :func:`course_config` / :func:`nbgrader_api` load ``exercises/nbgrader_config.py`` and return an
  ``nbgrader.apps.NbGraderAPI`` for the course directory (or for a copy of it);
- :func:`copy_course` copies the course (config and ``source/``) into a scratch directory;
- :func:`generate_release` runs ``nbgrader generate_assignment`` for some or all assignments;
- :func:`release_differences` regenerates the student notebooks in a temporary copy and lists the
  cells that differ from the committed ``release/`` notebooks (empty when they are in sync);
- :func:`solution_namespace` runs the imports and solution cells of a source notebook and returns
  the functions, i.e. the model answers, without starting a kernel.

Examples
--------
Regenerate the committed student notebooks after editing a source notebook::

    from convlab.grading.release import generate_release
    generate_release()            # all seven, into exercises/release/
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

from convlab.grading import ASSIGNMENTS

__all__ = [
    "COURSE_DIR",
    "course_config",
    "nbgrader_api",
    "copy_course",
    "create_gradebook",
    "generate_release",
    "release_differences",
    "notebook_path",
    "solution_namespace",
]

#: The course directory of a repository checkout (``<repo>/exercises``).
COURSE_DIR = Path(__file__).resolve().parents[2] / "exercises"


def notebook_path(assignment_id: str, stage: str = "source", course_dir: Path | str = COURSE_DIR) -> Path:
    """``<course_dir>/<stage>/<id>/<id>.ipynb`` for ``stage`` in source, release.

    Examples
    --------
    >>> notebook_path("ex01_conv1d", "release").name
    'ex01_conv1d.ipynb'
    """
    if assignment_id not in ASSIGNMENTS:
        known = ", ".join(ASSIGNMENTS)
        raise ValueError(f"`assignment_id` must be one of {known}; got assignment_id={assignment_id!r}")
    return Path(course_dir) / stage / assignment_id / f"{assignment_id}.ipynb"


def course_config(course_dir: Path | str = COURSE_DIR, **overrides):
    """The traitlets ``Config`` of ``course_dir/nbgrader_config.py``, rooted at ``course_dir``.

    ``overrides`` set ``CourseDirectory`` traits (e.g. ``db_url="sqlite:///..."``). The root and,
    unless overridden, the gradebook always follow ``course_dir``, so a copy of the course grades
    into its own database.
    """
    from traitlets.config.loader import PyFileConfigLoader

    course_dir = Path(course_dir).resolve()
    config = PyFileConfigLoader("nbgrader_config.py", path=str(course_dir)).load_config()
    config.CourseDirectory.root = str(course_dir)
    config.CourseDirectory.db_url = f"sqlite:///{course_dir / 'gradebook.db'}"
    for name, value in overrides.items():
        setattr(config.CourseDirectory, name, value)
    return config


def _tools_on_path() -> None:
    """nbgrader runs ``alembic`` as a command: make the interpreter's own scripts findable."""
    scripts = str(Path(sys.executable).parent)
    if scripts not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = scripts + os.pathsep + os.environ.get("PATH", "")


def nbgrader_api(course_dir: Path | str = COURSE_DIR, **overrides):
    """An ``nbgrader.apps.NbGraderAPI`` for the course in ``course_dir`` (see :func:`course_config`).

    nbgrader calls the ``alembic`` command; the directory of the running interpreter's scripts is
    put on ``PATH`` first, so this works from a virtual environment that is not activated.
    """
    import logging

    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    _tools_on_path()
    config = course_config(course_dir, **overrides)
    config.NbGraderAPI.log_level = logging.ERROR
    return NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)


def copy_course(
    destination: Path | str, course_dir: Path | str = COURSE_DIR, *, release: bool = False
) -> Path:
    """Copy ``nbgrader_config.py`` and ``source/`` (and ``release/`` if asked) to ``destination``."""
    destination, course_dir = Path(destination), Path(course_dir)
    destination.mkdir(parents=True, exist_ok=True)
    shutil.copy2(course_dir / "nbgrader_config.py", destination / "nbgrader_config.py")
    folders = ("source", "release") if release else ("source",)
    for folder in folders:
        if (course_dir / folder).exists():
            shutil.copytree(course_dir / folder, destination / folder, dirs_exist_ok=True)
    return destination


def create_gradebook(course_dir: Path | str = COURSE_DIR) -> Path:
    """Create the course's empty ``gradebook.db`` in ``course_dir`` (if missing) and return its path.

    Creating a gradebook runs nbgrader's ``alembic`` once; copying an empty one into scratch copies
    of the course (:func:`copy_course`) saves that in repeated runs.
    """
    from nbgrader.api import Gradebook

    _tools_on_path()
    path = Path(course_dir) / "gradebook.db"
    with Gradebook(f"sqlite:///{path.resolve()}", "convlab"):
        pass
    return path


def generate_release(
    assignment_ids: Iterable[str] | None = None, course_dir: Path | str = COURSE_DIR
) -> None:
    """Run ``nbgrader generate_assignment`` in ``course_dir`` (all assignments by default).

    Raises
    ------
    RuntimeError
        With nbgrader's log when generating an assignment fails.
    """
    api = nbgrader_api(course_dir)
    for assignment_id in assignment_ids or ASSIGNMENTS:
        notebook_path(assignment_id, "source", course_dir)  # validates the id
        result = api.generate_assignment(assignment_id, force=True, create=True)
        if not result["success"]:
            raise RuntimeError(
                f"generate_assignment {assignment_id} failed:\n{result.get('error') or result.get('log')}"
            )


def _cells(path: Path) -> list[tuple[str, str]]:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return [
        (c["cell_type"], "".join(c["source"]) if isinstance(c["source"], list) else c["source"])
        for c in cells
    ]


def release_differences(
    assignment_ids: Iterable[str] | None = None, course_dir: Path | str = COURSE_DIR
) -> dict[str, list[str]]:
    """Regenerate the student notebooks in a temporary copy; return the differences per assignment.

    The comparison is on the cell types and sources. An empty dict means ``release/`` is in sync
    with ``source/``; otherwise each entry lists what differs, for a readable test failure.
    """
    ids = list(assignment_ids or ASSIGNMENTS)
    differences: dict[str, list[str]] = {}
    with tempfile.TemporaryDirectory(prefix="convlab-release-") as tmp:
        copy = copy_course(Path(tmp) / "course", course_dir)
        generate_release(ids, copy)
        for assignment_id in ids:
            committed = notebook_path(assignment_id, "release", course_dir)
            fresh = _cells(notebook_path(assignment_id, "release", copy))
            if not committed.exists():
                differences[assignment_id] = [f"{committed} is missing"]
                continue
            old = _cells(committed)
            problems = (
                [f"cell count: committed {len(old)}, regenerated {len(fresh)}"]
                if len(old) != len(fresh)
                else []
            )
            for index, (a, b) in enumerate(zip(old, fresh, strict=False)):
                if a != b:
                    problems.append(
                        f"cell {index}: committed {a[0]} {a[1][:60]!r} != regenerated {b[0]} {b[1][:60]!r}"
                    )
            if problems:
                differences[assignment_id] = problems
    return differences


def solution_namespace(assignment_id: str, course_dir: Path | str = COURSE_DIR) -> dict[str, object]:
    """Run the imports cell and the solution cells of a source notebook; return their namespace.

    The namespace holds the model answers (``ns["convolve1d"]`` ...), handy for testing the checks
    and for a sanity check of the grading environment without starting a kernel.
    """
    path = notebook_path(assignment_id, "source", course_dir)
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    namespace: dict[str, object] = {"__name__": f"convlab_solution_{assignment_id}"}
    for cell in cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell["cell_type"] == "code" and (meta.get("solution") or meta.get("grade_id") == "imports"):
            source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            exec(compile(source, f"{path.name}:{meta.get('grade_id')}", "exec"), namespace)  # noqa: S102
    return namespace
