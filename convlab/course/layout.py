"""The nbgrader course directory: where things live, the configuration it reads, its gradebook.

Every command works on one course directory (``--course-dir``, ``./exercises`` by default) in
nbgrader's standard layout::

    nbgrader_config.py
    source/<assignment>/<assignment>.ipynb            instructor copy (solutions, hidden tests)
    release/<assignment>/<assignment>.ipynb           student copy
    submitted/<student>/<assignment>/<assignment>.ipynb  (+ timestamp.txt)
    autograded/<student>/<assignment>/                executed copies, and ``grading.json``
    feedback/<student>/<assignment>/<assignment>.html
    gradebook.db                                      nbgrader's SQLite gradebook

``grading.json`` beside each autograded notebook records how the last grading run went (status,
reason, seed, limits); :mod:`convlab.course.export` reads it.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Course", "STATUS_FILE"]

STATUS_FILE = "grading.json"


def _tools_on_path() -> None:
    """nbgrader runs ``alembic`` from PATH to create a gradebook: make this interpreter's
    scripts folder findable even when the virtual environment is not activated."""
    scripts = os.path.dirname(sys.executable)
    if scripts not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = os.pathsep.join([scripts, os.environ.get("PATH", "")])


@dataclass(frozen=True)
class Course:
    """An nbgrader course directory.

    Parameters
    ----------
    root : path
        The course directory (the folder holding ``nbgrader_config.py`` and ``source/``).
    """

    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root).resolve())
        if not (self.root / "source").is_dir():
            raise ValueError(f"`course_dir` must hold a source/ folder; got course_dir={str(self.root)!r}")

    # --- places -----------------------------------------------------------------------------
    def source(self, assignment: str) -> Path:
        return self.root / "source" / assignment / f"{assignment}.ipynb"

    def release(self, assignment: str) -> Path:
        return self.root / "release" / assignment / f"{assignment}.ipynb"

    def submitted(self, student: str, assignment: str) -> Path:
        return self.root / "submitted" / student / assignment

    def autograded(self, student: str, assignment: str) -> Path:
        return self.root / "autograded" / student / assignment

    def feedback(self, student: str, assignment: str) -> Path:
        return self.root / "feedback" / student / assignment

    @property
    def db_path(self) -> Path:
        url = self.config().CourseDirectory.get("db_url", "") or f"sqlite:///{self.root / 'gradebook.db'}"
        if not url.startswith("sqlite:///"):
            raise ValueError(f"`db_url` must be an SQLite URL (sqlite:///...); got db_url={url!r}")
        return Path(url[len("sqlite:///") :])

    @property
    def db_url(self) -> str:
        return f"sqlite:///{self.db_path}"

    def assignments(self) -> list[str]:
        """Assignments with a source notebook, sorted."""
        return sorted(
            p.parent.name for p in (self.root / "source").glob("*/*.ipynb") if p.stem == p.parent.name
        )

    def students(self, assignment: str) -> list[str]:
        """Students with a submitted notebook folder for ``assignment``, sorted."""
        base = self.root / "submitted"
        return sorted(p.name for p in base.iterdir() if (p / assignment).is_dir()) if base.is_dir() else []

    # --- configuration ----------------------------------------------------------------------
    def config(self):
        """The course's ``nbgrader_config.py`` as a traitlets Config, rooted at this directory."""
        from traitlets.config import Config
        from traitlets.config.loader import PyFileConfigLoader

        _tools_on_path()
        cfg = Config()
        if (self.root / "nbgrader_config.py").exists():
            cwd = os.getcwd()
            try:  # the file may compute paths relative to itself
                os.chdir(self.root)
                cfg.merge(PyFileConfigLoader("nbgrader_config.py", path=str(self.root)).load_config())
            finally:
                os.chdir(cwd)
        cfg.CourseDirectory.root = str(self.root)
        return cfg

    # --- grading records --------------------------------------------------------------------
    def read_status(self, student: str, assignment: str) -> dict | None:
        path = self.autograded(student, assignment) / STATUS_FILE
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            return None

    def write_status(self, student: str, assignment: str, record: dict) -> None:
        folder = self.autograded(student, assignment)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / STATUS_FILE
        if path.exists():
            path.chmod(0o644)
        path.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
