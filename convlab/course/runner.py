"""A grading worker: grades one submission at a time, each in a scratch nbgrader course of its own.

The parent (:mod:`convlab.course.autograde`) starts a few of these as long-lived processes and
feeds them jobs, one JSON line on stdin each; the worker answers with one JSON line on stdout.
Staying alive between jobs saves importing nbgrader (seconds) per notebook, and each worker keeps
a fork server (:mod:`convlab.course.forkserver`) that has imported ipykernel, NumPy, PyTorch,
matplotlib and ``convlab`` once, so a kernel starts in a fraction of a second (``--fresh-kernels``
starts them as new processes instead). Each job still gets a kernel process of its own, a fresh
scratch folder and a fresh copy of the gradebook, so students never share state. For one job the
worker

1. builds ``<scratch>/course``: the assignment's source files *without* notebooks (the kernel
   must not find the solutions), the gradebook as it stood when the run began, and the submission
   parsed, salvaged and matched back to the release (:mod:`convlab.course.repair`);
2. runs nbgrader's own ``Autograde`` converter there, configured with the sandboxed executor, the
   kernel limits, the isolation (:mod:`convlab.course.isolation`: the kernel sees its notebook's
   folder and its home, not this scratch course, whose gradebook holds the hidden tests) and
   the stderr rule (:mod:`convlab.course.sandbox`);
3. kills whatever the student's code left running (the worker is a child subreaper, so orphans
   come back to it; the fork server stays), then reports the scores held in memory, the repairs
   and what happened.

The parent never trusts files the student's code could have touched for scores; it copies the
autograded folder for feedback only.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
import time
import traceback
from pathlib import Path

__all__ = ["grade_one", "main"]


def _become_subreaper() -> None:
    from .forkserver import prctl

    prctl(36, 1)  # PR_SET_CHILD_SUBREAPER: orphans of the student's code come back to this worker


def _kill_descendants() -> None:
    """Kill every process the last notebook left behind; the fork server itself stays."""
    import psutil

    from . import forkserver

    server = forkserver.current
    server_pid = server.process.pid if server is not None else None
    left, forked = [], []  # forked kernels are the server's children: it reaps them, not us
    for child in psutil.Process().children(recursive=True):
        try:
            if child.pid != server_pid:
                (forked if child.ppid() == server_pid else left).append(child)
                child.kill()
        except psutil.Error:
            pass
    deadline = time.monotonic() + 5
    for kernel in forked:
        while server.returncode(kernel.pid) is None and time.monotonic() < deadline:
            time.sleep(0.01)
    psutil.wait_procs(left, timeout=max(0.0, deadline - time.monotonic()))


def _start_fork_server() -> None:
    """Start (or restart, if it died) the server that forks preloaded kernels for this worker."""
    import atexit
    import tempfile

    from . import forkserver

    if forkserver.current is not None:
        if forkserver.current.process.poll() is None:
            return
        forkserver.current.close()
    home = tempfile.mkdtemp(prefix="convlab-forkserver-")
    atexit.register(shutil.rmtree, home, True)
    env = forkserver.clean_environment(home)
    env["MPLCONFIGDIR"] = os.path.join(home, "matplotlib")
    forkserver.current = forkserver.ForkServer(env)


def _find_notebook(folder: Path, assignment: str) -> tuple[Path | None, list[str]]:
    wanted = folder / f"{assignment}.ipynb"
    if wanted.exists():
        return wanted, []
    found = sorted(folder.glob("*.ipynb"))
    if len(found) == 1:
        return found[0], [f"the notebook was named {found[0].name}; graded as {wanted.name}"]
    return None, [f"no {wanted.name} in the submission"]


def _config(course_root: Path, scratch: Path, job: dict):
    from .layout import Course
    from .sandbox import LimitedKernelManager, autograde_preprocessors, clean_environment

    cfg = Course(course_root).config()
    cfg.CourseDirectory.root = str(scratch)
    cfg.CourseDirectory.db_url = f"sqlite:///{scratch / 'gradebook.db'}"
    cfg.CourseDirectory.assignment_id = job["assignment"]
    cfg.CourseDirectory.student_id = job["student"]
    cfg.Autograde.force = True
    cfg.Autograde.create_student = True
    cfg.Autograde.autograde_preprocessors = autograde_preprocessors(collect_outcome=True)
    cfg.SandboxedExecute.notebook_timeout = float(job["timeout"])
    cfg.SandboxedExecute.grading_seed = str(job["seed"])
    cfg.SandboxedExecute.kernel_manager_class = LimitedKernelManager
    cfg.LimitedKernelManager.memory_mb = int(job["memory_mb"])
    home = scratch.parent / "home"
    cfg.LimitedKernelManager.kernel_env = clean_environment(str(home))
    cfg.LimitedKernelManager.isolation = dict(job.get("isolation") or {"mode": "off"})
    return cfg


def grade_one(job: dict) -> dict:
    """Grade one submission described by ``job``; see the module docstring. Never raises."""
    from nbgrader.api import Gradebook
    from nbgrader.converters import Autograde
    from nbgrader.coursedir import CourseDirectory

    from .repair import load_submission, repair_notebook
    from .sandbox import OUTCOME

    start = time.monotonic()
    course, student, assignment = Path(job["course"]), job["student"], job["assignment"]
    root = Path(job["scratch"])
    shutil.rmtree(root, ignore_errors=True)
    scratch = root / "course"
    result = {"student": student, "assignment": assignment, "notes": [], "events": [], "scores": {}}
    try:
        (root / "home").mkdir(parents=True)
        shutil.copytree(
            course / "source" / assignment,
            scratch / "source" / assignment,
            ignore=shutil.ignore_patterns("*.ipynb", ".ipynb_checkpoints", "__pycache__"),
        )
        shutil.copy(job["template_db"], scratch / "gradebook.db")
        folder = course / "submitted" / student / assignment
        path, notes = _find_notebook(folder, assignment)
        result["notes"] += notes
        nb, notes = load_submission(path.read_bytes()) if path else (None, [])
        result["notes"] += notes
        if nb is None:
            result["status"] = "invalid"
            return result
        import nbformat

        released = nbformat.read(course / "release" / assignment / f"{assignment}.ipynb", as_version=4)
        nb, notes = repair_notebook(nb, released)
        result["notes"] += notes
        dest = scratch / "submitted" / student / assignment
        dest.mkdir(parents=True)
        nbformat.write(nb, dest / f"{assignment}.ipynb")
        if (folder / "timestamp.txt").exists():
            shutil.copy(folder / "timestamp.txt", dest / "timestamp.txt")

        cfg = _config(course, scratch, job)
        OUTCOME.clear()
        cwd = os.getcwd()
        os.chdir(root)
        try:
            converter = Autograde(coursedir=CourseDirectory(config=cfg), config=cfg)
            converter.start()
        finally:
            os.chdir(cwd)
            _kill_descendants()
        result["events"] = OUTCOME.get("events", [])
        result["scores"] = OUTCOME.get("scores", {})
        result["memory"] = OUTCOME.get("memory", [])
        result["timing"] = OUTCOME.get("timing", {})
        result["isolation"] = OUTCOME.get("isolation", {"level": "none"})
        with Gradebook(cfg.CourseDirectory.db_url) as gb:
            submission = gb.find_submission(assignment, student)
            result["late_penalty"] = max(0.0, float(submission.late_submission_penalty or 0.0))
        result["autograded"] = str(scratch / "autograded" / student / assignment)
        result["status"] = "graded"
    except Exception as error:  # reported, never raised: the run goes on
        _kill_descendants()
        result["status"] = "error"
        result["error"] = f"{type(error).__name__}: {error}"
        logging.getLogger("convlab.course").error(
            "grading %s/%s failed\n%s", student, assignment, traceback.format_exc()
        )
    finally:
        result["elapsed"] = round(time.monotonic() - start, 3)
    return result


def main() -> None:
    """Serve jobs: one JSON object per line on stdin, one result per line on stdout."""
    _become_subreaper()
    out = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # stray prints must not corrupt the replies
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
    fork = "--fresh-kernels" not in sys.argv[1:]
    if fork:
        _start_fork_server()  # preloads while nbgrader is imported here
    import nbgrader.converters  # noqa: F401  (imported once, before the first job)

    out.write(json.dumps({"ready": True}) + "\n")
    out.flush()
    for line in sys.stdin:
        if line.strip():
            if fork:
                _start_fork_server()
            out.write(json.dumps(grade_one(json.loads(line))) + "\n")
            out.flush()


if __name__ == "__main__":
    main()
