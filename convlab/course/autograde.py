"""Grade a whole class in parallel, then merge into nbgrader's gradebook one submission at a time.

Design. nbgrader's gradebook is one SQLite file, and nbgrader's ``autograde`` grades one student
after another in one process. Here ``--jobs N`` long-lived worker processes
(:mod:`convlab.course.runner`) each grade one submission at a time, in a kernel forked from a
preloaded fork server (:mod:`convlab.course.forkserver`), in a scratch course of their own with
a copy of the gradebook taken when the run began; the parent merges each result into the real
gradebook serially, through nbgrader's ``Gradebook`` API, as results arrive:

* scores replace the old ones for every test cell of the submission; when grading failed the
  scores become 0 and the failure is recorded, so a re-grade never leaves stale points behind;
* the executed notebook replaces ``autograded/<student>/<assignment>/`` (for feedback), with a
  ``grading.json`` beside it: status, reason, seed, limits, timings;
* nothing under ``submitted/`` is written: workers read it and grade a copy.

A worker that does not answer within the notebook budget plus a margin is killed with all its
processes and replaced; its submission is recorded as timed out. A progress bar (tqdm) shows
counts and ETA.

Statuses, most severe first: ``error`` (the grader itself failed on this submission),
``invalid`` (no notebook could be read), ``kernel-died``, ``timeout``, ``memory``, ``repaired``
(graded after restoring cells or metadata), ``ok``.
"""

from __future__ import annotations

import json
import os
import queue
import secrets
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import warnings
from datetime import datetime, timezone
from pathlib import Path

from convlab._seed import SEED_ENV

from .layout import Course

__all__ = ["autograde", "GradingLimits"]
_SEVERITY = ["error", "invalid", "kernel-died", "timeout", "memory", "repaired", "ok"]


class GradingLimits:
    """Limits for one notebook: wall time in seconds for the whole notebook, memory in MiB."""

    def __init__(self, timeout: float = 300.0, memory_mb: int = 2048) -> None:
        if not timeout > 0:
            raise ValueError(f"`timeout` must be positive; got timeout={timeout}")
        if memory_mb < 0:
            raise ValueError(f"`memory_mb` must be non-negative; got memory_mb={memory_mb}")
        self.timeout, self.memory_mb = float(timeout), int(memory_mb)


class _Worker:
    """One long-lived grading process; replaced when it hangs or dies."""

    def __init__(self, log: Path, fresh_kernels: bool = False) -> None:
        self.log, self.proc, self.fresh_kernels = log, None, fresh_kernels

    def _start(self) -> None:
        env = {k: v for k, v in os.environ.items() if k != SEED_ENV}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "convlab.course.runner", *(["--fresh-kernels"] * self.fresh_kernels)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=open(self.log, "a"),  # noqa: SIM115 (owned by the process)
            text=True,
            env=env,
            cwd=tempfile.gettempdir(),
        )
        self._read(120)

    def _read(self, timeout: float) -> dict:
        box: queue.Queue = queue.Queue()
        reader = threading.Thread(target=lambda: box.put(self.proc.stdout.readline()), daemon=True)
        reader.start()
        try:
            line = box.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError from None
        if not line:
            raise RuntimeError(f"the grading worker exited (status {self.proc.poll()}); see {self.log}")
        return json.loads(line)

    def kill(self) -> None:
        if self.proc is None:
            return
        import psutil

        try:
            tree = psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.Error:
            tree = []
        for proc in [*tree]:
            try:
                proc.kill()
            except psutil.Error:
                pass
        self.proc.kill()
        self.proc.wait()
        self.proc = None

    def grade(self, job: dict, hard_limit: float) -> dict:
        try:
            if self.proc is None or self.proc.poll() is not None:
                self._start()
            self.proc.stdin.write(json.dumps(job) + "\n")
            self.proc.stdin.flush()
            return self._read(hard_limit)
        except TimeoutError:
            self.kill()
            why = f"grading did not finish within {hard_limit:g} s and was stopped"
            return {"status": "timeout", "error": why, "scores": {}, "notes": [], "events": []}
        except (RuntimeError, OSError, ValueError) as error:
            self.kill()
            return {"status": "error", "error": str(error), "scores": {}, "notes": [], "events": []}


def _status(result: dict, limits: GradingLimits) -> tuple[str, str]:
    kinds = {e["kind"] for e in result.get("events", [])}
    reasons = list(result.get("notes", []))
    reasons += [f"{e['cell']}: {e['text']}" for e in result.get("events", [])]
    if result.get("memory"):
        cells = ", ".join(result["memory"])
        reasons.append(f"MemoryError (limit {limits.memory_mb} MiB) in {cells}")
        kinds.add("memory")
    if result.get("error"):
        reasons.insert(0, result["error"])
    if result["status"] in ("error", "invalid", "timeout") and result["status"] != "graded":
        kinds.add(result["status"])
    if reasons and not kinds:
        kinds.add("repaired")
    status = next((s for s in _SEVERITY if s in kinds), "ok")
    return status, "; ".join(reasons)


def _merge(course: Course, job: dict, result: dict, limits: GradingLimits, seed: str) -> dict:
    from nbgrader.api import Gradebook
    from nbgrader.utils import parse_utc

    student, assignment = job["student"], job["assignment"]
    status, reason = _status(result, limits)
    graded = result.get("status") == "graded"
    stamp = course.submitted(student, assignment) / "timestamp.txt"
    timestamp = parse_utc(stamp.read_text().strip()) if stamp.exists() and stamp.read_text().strip() else None
    with Gradebook(course.db_url) as gb, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SQLAlchemy's autoflush notes from inside nbgrader's API
        gb.update_or_create_student(student)
        if timestamp is not None:
            submission = gb.update_or_create_submission(assignment, student, timestamp=timestamp)
        else:
            submission = gb.update_or_create_submission(assignment, student)
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                score = result["scores"].get(grade.name, [0, None])[0] if graded else 0
                grade.auto_score = score
                grade.needs_manual_grade = score is None or grade.manual_score is not None
            notebook.late_submission_penalty = result.get("late_penalty") if graded else None
        gb.db.commit()
        score, max_score = submission.score, submission.max_score

    target = course.autograded(student, assignment)
    if target.exists():
        for path in target.rglob("*"):
            path.chmod(0o755 if path.is_dir() else 0o644)
        shutil.rmtree(target)
    if graded and result.get("autograded") and Path(result["autograded"]).is_dir():
        shutil.copytree(result["autograded"], target)
    record = {
        "status": status,
        "reason": reason,
        "score": score,
        "max_score": max_score,
        "seed": seed,
        "timeout_s": limits.timeout,
        "memory_mb": limits.memory_mb,
        "graded_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "submitted_at": timestamp.isoformat() if timestamp else None,
        "elapsed_s": result.get("elapsed"),
        "timing": result.get("timing", {}),
    }
    course.write_status(student, assignment, record)
    return record


def _template_db(course: Course, folder: Path) -> Path:
    """A consistent copy of the gradebook (SQLite's backup API, safe while it is open elsewhere)."""
    copy = folder / "gradebook-template.db"
    source = sqlite3.connect(course.db_path)
    target = sqlite3.connect(copy)
    with target:
        source.backup(target)
    source.close()
    target.close()
    return copy


def _append_log(target: Path, logs: list[Path], started: str, seed: str) -> None:
    """Append one grading run's worker logs to ``target`` under a header naming the run.

    Appending keeps the logs of earlier runs: the run whose "error" an instructor is chasing is
    often not the latest one.
    """
    target.parent.mkdir(exist_ok=True)
    with open(target, "a") as out:
        out.write(f"===== grading run started {started} (seed {seed}) =====\n")
        for log in logs:
            text = log.read_text()
            out.write(text if text.endswith("\n") else text + "\n")


def autograde(
    course: Course,
    assignment: str,
    students: list[str] | None = None,
    jobs: int | None = None,
    limits: GradingLimits | None = None,
    progress: bool = True,
    fresh_kernels: bool = False,
) -> dict[str, dict]:
    """Grade every submission of ``assignment`` (or ``students``) and merge into the gradebook.

    Parameters
    ----------
    course : Course
    assignment : str
    students : list of str, optional
        Default: every student with a ``submitted/<student>/<assignment>/`` folder.
    jobs : int, optional
        Parallel workers; default the number of CPUs.
    limits : GradingLimits, optional
    progress : bool
        Show a tqdm progress bar on stderr.
    fresh_kernels : bool
        Start every kernel as a new process (``python -m ipykernel_launcher``) instead of forking
        it from the worker's preloaded fork server (:mod:`convlab.course.forkserver`). Slower by
        seconds per notebook; the limits and the isolation are the same.

    Returns
    -------
    dict
        ``{student: grading record}`` (the content of each ``grading.json``).
    """
    from nbgrader.api import Gradebook, MissingEntry
    from tqdm import tqdm

    limits = limits or GradingLimits()
    jobs = jobs or os.cpu_count() or 1
    if jobs < 1:
        raise ValueError(f"`jobs` must be a positive integer; got jobs={jobs}")
    if not course.db_path.exists():
        raise ValueError(f"no gradebook at {course.db_path}: run `convlab-course release {assignment}` first")
    with Gradebook(course.db_url) as gb:
        try:
            gb.find_assignment(assignment)
        except MissingEntry:
            raise ValueError(
                f"{assignment!r} is not in the gradebook: run `convlab-course release {assignment}` first"
            ) from None
    if not course.release(assignment).exists():
        raise ValueError(
            f"no released notebook for {assignment!r}: run `convlab-course release {assignment}` first"
        )
    students = sorted(students if students is not None else course.students(assignment))
    seed = os.environ.get(SEED_ENV) or str(secrets.randbelow(2**31))
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    scratch = Path(tempfile.mkdtemp(prefix="convlab-grading-"))
    records: dict[str, dict] = {}
    try:
        template = _template_db(course, scratch)
        todo: queue.Queue = queue.Queue()
        done: queue.Queue = queue.Queue()
        for student in students:
            todo.put(
                {
                    "course": str(course.root),
                    "assignment": assignment,
                    "student": student,
                    "scratch": str(scratch / "jobs" / student),
                    "template_db": str(template),
                    "timeout": limits.timeout,
                    "memory_mb": limits.memory_mb,
                    "seed": seed,
                }
            )
        hard_limit = limits.timeout * 1.5 + 120  # kernel starts, restarts and nbgrader's own work

        def serve(worker: _Worker) -> None:
            try:
                while True:
                    try:
                        job = todo.get_nowait()
                    except queue.Empty:
                        return
                    done.put((job, worker.grade(job, hard_limit)))
            finally:
                worker.kill()

        threads = [
            threading.Thread(
                target=serve, args=(_Worker(scratch / f"worker-{i}.log", fresh_kernels),), daemon=True
            )
            for i in range(min(jobs, max(1, len(students))))
        ]
        for thread in threads:
            thread.start()
        bar = tqdm(total=len(students), desc=assignment, unit="nb", disable=not progress, dynamic_ncols=True)
        with bar:
            for _ in students:
                job, result = done.get()
                records[job["student"]] = _merge(course, job, result, limits, seed)
                shutil.rmtree(job["scratch"], ignore_errors=True)
                bad = sum(r["status"] not in ("ok", "repaired") for r in records.values())
                bar.set_postfix(problems=bad, refresh=False)
                bar.update()
        for thread in threads:
            thread.join()
        logs = sorted(p for p in scratch.glob("worker-*.log") if p.stat().st_size)
        if logs:
            _append_log(course.root / "autograded" / f"{assignment}-grading.log", logs, started, seed)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return records
