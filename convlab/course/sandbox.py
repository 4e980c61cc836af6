"""Where student code runs: a kernel with limits, a clean environment, and an executor that goes on.

Three pieces, all plugged into nbgrader through its configuration (nothing of nbgrader is copied):

``python -m convlab.course.sandbox --memory-mb N -- CMD...``
    The kernel launch wrapper, for kernels started as new processes (grading workers normally
    fork them, under the same limits, from :mod:`convlab.course.forkserver`). It caps the
    memory (``RLIMIT_DATA``), the size of any file written (``RLIMIT_FSIZE``) and core
    dumps, asks Linux to kill the kernel if its grader dies (``PR_SET_PDEATHSIG``), then
    ``exec``s the kernel. A memory bomb meets ``MemoryError`` (or a dead kernel) instead of the
    machine's OOM killer.

:class:`LimitedKernelManager`
    Forks every kernel from the worker's fork server when there is one, else starts it
    through that wrapper; either way with an environment built from scratch: no
    variable of the instructor's (tokens, cloud keys) reaches student code; ``HOME`` and
    ``TMPDIR`` point into the scratch folder, one thread per BLAS, no grading seed. With
    ``isolation`` set, the kernel talks over Unix sockets in its home and confines itself
    before it starts (:mod:`convlab.course.isolation`), and reports what it got.

:class:`SandboxedExecute`
    nbgrader's ``Execute`` with a wall-time budget for running the notebook's cells (kernel
    starts and replays are not counted; each cell may use
    what is left, capped by ``Execute.timeout``), a cap on the output kept per cell, and
    recovery: a kernel that fails to start is replaced (twice at most) without cost to the
    student; when the kernel dies (``os._exit``, a crash, the memory cap) or stops answering,
    the cell gets an error, a fresh kernel replays the cells that ran before it, and the
    notebook goes on. Before each test cell it re-imports ``convlab`` and ``numpy.testing``
    and rebinds the check names, so a solution cell that monkeypatches the checks patches
    nothing the tests use, and sets ``CONVLAB_GRADING_SEED`` to that cell's own seed
    (:func:`cell_seed`), removed again when the cell has run: no solution cell ever sees a seed.
    Cells that the budget leaves unrun get an error, never free points.

Plus two small preprocessors around nbgrader's ``SaveAutoGrades``: nbgrader scores a test cell 0
when it wrote anything to stderr (a warning); :class:`HideStderr` turns such streams into stdout
for scoring and :class:`RestoreStderr` puts them back for the feedback. :class:`CollectOutcome`
keeps the scores and what happened in :data:`OUTCOME` for the worker to report.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import os
import sys
import uuid
from time import monotonic

from jupyter_client.manager import AsyncKernelManager
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat import NotebookNode
from nbgrader import utils
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from traitlets import Dict, Float, Integer, Unicode

from convlab._seed import SEED_ENV

from . import forkserver
from .forkserver import clean_environment

__all__ = [
    "autograde_preprocessors",
    "LimitedKernelManager",
    "SandboxedExecute",
    "HideStderr",
    "RestoreStderr",
    "CollectOutcome",
    "OUTCOME",
    "cell_seed",
    "clean_environment",
]

#: Filled by :class:`SandboxedExecute` and :class:`CollectOutcome` for the notebook just graded.
OUTCOME: dict = {}

_GUARD = """\
def __convlab_guard():
    import importlib, sys
    for name in list(sys.modules):
        if name in ("convlab", "numpy.testing") or name.startswith(("convlab.", "numpy.testing.")):
            del sys.modules[name]
    numpy = importlib.import_module("numpy")
    numpy.testing = importlib.import_module("numpy.testing")
    grading = importlib.import_module("convlab.grading")
    ns = get_ipython().user_ns
    for name in getattr(grading, "__all__", ()):
        if name in ns:  # only names the notebook uses: the checks load lazily
            ns[name] = getattr(grading, name)
    fresh = {"np": numpy, "numpy": numpy, "convlab": importlib.import_module("convlab")}
    for name, value in fresh.items():
        if name in ns:
            ns[name] = value
try:
    __convlab_guard()
finally:
    del __convlab_guard
"""
_SEED = "import os as __os\n__os.environ['" + SEED_ENV + "'] = '{seed}'\ndel __os\n"
_UNSEED = "import os as __os\n__os.environ.pop('" + SEED_ENV + "', None)\ndel __os\n"
_LEVELS = ["none", "partial", "full"]


class LimitedKernelManager(AsyncKernelManager):
    """An ``AsyncKernelManager`` that launches through the limits wrapper with a clean environment."""

    memory_mb = Integer(2048, help="Memory cap (RLIMIT_DATA) of the kernel in MiB; 0 means no cap.").tag(
        config=True
    )
    kernel_env = Dict(help="The kernel's complete environment (see clean_environment).").tag(config=True)
    isolation = Dict(
        help="``mode`` (auto, strict, off) and ``hide`` of convlab.course.isolation.confine; empty: off."
    ).tag(config=True)

    def _isolated(self) -> bool:
        return self.isolation.get("mode", "off") != "off"

    def _isolation_spec(self, cwd: str | None) -> dict | None:
        """What the kernel confines itself to: its folder, its home, its connection file."""
        if not self._isolated():
            return None
        own = [cwd or os.getcwd()] + ([self.kernel_env["HOME"]] if self.kernel_env.get("HOME") else [])
        return {
            **self.isolation,
            "write": own,
            "read_files": [self.connection_file],
            "report": self.connection_file + ".isolation",
        }

    async def _async_pre_start_kernel(self, **kw):
        if self._isolated():  # Unix sockets in the kernel's own home: a new network namespace
            run = os.path.join(self.kernel_env.get("HOME") or os.getcwd(), ".kernel")  # has no route
            os.makedirs(run, exist_ok=True)  # to the grader's loopback
            name = uuid.uuid4().hex[:8]
            self.transport, self.ip = "ipc", os.path.join(run, name)
            self.connection_file = os.path.join(run, f"kernel-{name}.json")
        cmd, kw = await super()._async_pre_start_kernel(**kw)
        if cmd and os.path.basename(cmd[0]).startswith("python"):
            cmd = [sys.executable, *cmd[1:]]
        if self.kernel_env:
            kw["env"] = dict(self.kernel_env)
        return cmd, kw

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        server = forkserver.current
        if server is not None and forkserver.kernel_arguments(kernel_cmd) is not None:
            env = kw.get("env") or dict(os.environ)
            try:
                spec = self._isolation_spec(kw.get("cwd"))
                process = server.spawn(kernel_cmd, env, kw.get("cwd"), self.memory_mb, spec)
            except OSError as error:
                self.log.warning("forking a kernel failed (%s); starting a new process instead", error)
            else:
                provisioner = self.provisioner
                provisioner.process, provisioner.pid, provisioner.pgid = process, process.pid, process.pid
                provisioner.cwd = kw.get("cwd") or os.getcwd()
                self._reconcile_connection_info(provisioner.connection_info)
                return
        wrapper = [sys.executable, "-m", "convlab.course.sandbox", "--memory-mb", str(self.memory_mb)]
        spec = self._isolation_spec(kw.get("cwd"))
        wrapper += ["--isolation", json.dumps(spec)] if spec else []
        wrapper.append("--")
        await super()._async_launch_kernel(wrapper + kernel_cmd, **kw)


def _error(ename: str, evalue: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


class _OutOfTime(Exception):
    pass


class _Progress:
    """Where a notebook's run stands: its code cells, those that ran, the next one, the failures."""

    def __init__(self, code: list[int]) -> None:
        self.code, self.ran, self.index = code, [], 0
        self.restarts = self.failed_starts = 0


def cell_seed(seed: str, grade_id: str) -> int:
    """The seed one test cell runs with: HMAC-SHA256 of its ``grade_id`` keyed by the run's seed.

    A kernel that learns one cell's seed (while that cell calls its code) learns nothing about
    the seed of any other cell; the run's seed itself never enters the kernel.

    >>> cell_seed("7", "test_add") == cell_seed("7", "test_add") != cell_seed("7", "test_mul")
    True
    """
    digest = hmac.new(str(seed).encode(), grade_id.encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:4], "little") % 2**31


class SandboxedExecute(Execute):
    """nbgrader's ``Execute`` that survives hangs, dead kernels, floods and monkeypatched checks."""

    notebook_timeout = Float(300.0, help="Wall-time budget of the whole notebook, in seconds.").tag(
        config=True
    )
    max_output_bytes = Integer(200_000, help="Output kept per cell; the rest is dropped.").tag(config=True)
    max_restarts = Integer(3, help="Fresh kernels allowed after the kernel dies.").tag(config=True)
    max_start_failures = Integer(
        2, help="Kernels that may fail to start (before any cell ran in them) and be replaced."
    ).tag(config=True)
    grading_seed = Unicode(
        "", help="The run's seed; each test cell gets its own (cell_seed) while it runs, and no other cell."
    ).tag(config=True)
    shutdown_kernel = Unicode("immediate")

    def _get_timeout(self, cell):
        left = self._deadline - monotonic()
        if left <= 0:
            raise _OutOfTime
        cap = self.timeout if self.timeout and self.timeout > 0 else math.inf
        return max(1, math.ceil(min(cap, left)))

    def output(self, outs, msg, display_id, cell_index):
        if msg["msg_type"] != "error":
            size = len(str(msg.get("content", {}).get("text", msg.get("content", {}).get("data", ""))))
            self._bytes[cell_index] = self._bytes.get(cell_index, 0) + size
            if self._bytes[cell_index] > self.max_output_bytes:
                if cell_index not in self._flooded:
                    self._flooded.add(cell_index)
                    note = f"\n[grader: output beyond {self.max_output_bytes} characters dropped]\n"
                    outs.append(NotebookNode(output_type="stream", name="stdout", text=note))
                return None
        return super().output(outs, msg, display_id, cell_index)

    def _event(self, kind: str, index: int, text: str) -> None:
        cell = self.nb.cells[index]
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        where = f"cell {gid}" if gid else f"cell {index + 1}"
        OUTCOME.setdefault("events", []).append({"kind": kind, "cell": where, "text": text})

    def _quietly(self, code: str) -> None:
        msg_id = self.kc.execute(
            code, silent=True, store_history=False, stop_on_error=False, allow_stdin=False
        )
        self.wait_for_reply(msg_id)

    def _exit_code(self):
        try:
            process = getattr(self.km.provisioner, "process", None)
            return process.poll() if process is not None else None
        except Exception:  # the provisioner may already be gone
            return None

    def preprocess(self, nb, resources=None, km=None):
        """Run every code cell; see the class and the module docstring."""
        from nbclient import NotebookClient

        NotebookClient.__init__(self, nb, km)  # 1. the client's state, the budget, the records
        self.reset_execution_trackers()
        self._check_assign_resources(resources)
        self._deadline = monotonic() + self.notebook_timeout
        self._bytes, self._flooded = {}, set()
        OUTCOME["events"] = []
        OUTCOME["timing"] = {"kernel_start": 0.0, "setup": 0.0, "solutions": 0.0, "tests": 0.0}
        OUTCOME.pop("isolation", None)
        run = _Progress([i for i, c in enumerate(nb.cells) if c.cell_type == "code" and c.source.strip()])
        try:
            while not self._run_in_one_kernel(nb, run):  # 2. a kernel runs cells until it dies
                pass
        except _OutOfTime:  # 3. what the budget (or the restarts) left unrun gets an error
            self._mark_unrun(nb, run)
        return nb, self.resources

    def _run_in_one_kernel(self, nb, run: _Progress) -> bool:
        """Start a kernel, replay what ran, run on; True when every cell ran, False for a new kernel."""
        kernel_up, started = False, monotonic()
        try:
            with self.setup_kernel():
                kernel_up = True
                info = self.wait_for_reply(self.kc.kernel_info())
                if info is not None:
                    nb.metadata["language_info"] = info["content"]["language_info"]
                self._record_isolation()  # before any student code: the kernel wrote it at start
                for done in run.ran:
                    self._quietly(nb.cells[done].source)
                OUTCOME["timing"]["kernel_start"] += monotonic() - started
                # starting the kernel (and replaying after a restart) is the grader's time
                self._deadline += monotonic() - started
                self._run_cells(nb, run)
            return True
        except (RuntimeError, TimeoutError) as error:
            self._recover(nb, run, error, kernel_up, started)
            return False

    def _run_cells(self, nb, run: _Progress) -> None:
        while run.index < len(run.code):
            if monotonic() >= self._deadline:
                raise _OutOfTime
            at = run.code[run.index]
            cell, started = nb.cells[at], monotonic()
            self._run_cell(cell, at)
            part = "tests" if utils.is_grade(cell) else "solutions" if utils.is_solution(cell) else "setup"
            OUTCOME["timing"][part] += monotonic() - started
            if any(o.get("ename") == "CellTimeoutError" for o in cell.outputs):
                self._event("timeout", at, "stopped at the time limit")
            else:
                run.ran.append(at)
            run.index += 1

    def _run_cell(self, cell, index: int) -> None:
        """Run one cell; a test cell after the guard, with its seed set only while it runs."""
        if not utils.is_grade(cell):
            self.execute_cell(cell, index, store_history=True)
            return
        self._quietly(_GUARD + self._seed_code(cell))
        self.execute_cell(cell, index, store_history=True)
        if self.grading_seed:
            self._quietly(_UNSEED)

    def _seed_code(self, cell) -> str:
        if not self.grading_seed:
            return ""
        gid = cell.metadata.get("nbgrader", {}).get("grade_id", "")
        return _SEED.format(seed=cell_seed(self.grading_seed, gid))

    def _recover(self, nb, run: _Progress, error: Exception, kernel_up: bool, started: float) -> None:
        """After a kernel failed: retry a start that failed, or charge the cell that killed it."""
        if not kernel_up and run.failed_starts < self.max_start_failures:
            # the grader's trouble, not the student's (no cell had run in it): try again
            run.failed_starts += 1
            self._deadline += monotonic() - started
            self.log.warning("a kernel failed to start (%s); starting another", error)
            return
        if not isinstance(error, (DeadKernelError, CellTimeoutError)):
            raise error
        if isinstance(error, DeadKernelError):
            status = self._exit_code()
            kind, ename = "kernel-died", "KernelDied"
            why = "the kernel died" + (f" (exit status {status})" if status is not None else "")
        else:
            kind, ename = "timeout", "CellTimeoutError"
            why = "the kernel stopped answering and was restarted"
        nb.cells[run.code[run.index]].outputs.append(_error(ename, why))
        self._event(kind, run.code[run.index], why)
        run.index += 1
        run.restarts += 1
        if run.restarts > self.max_restarts:
            raise _OutOfTime from error

    def _mark_unrun(self, nb, run: _Progress) -> None:
        if run.restarts > self.max_restarts:
            why = f"the kernel died {run.restarts} times; the grader stopped before this cell"
        else:
            why = f"the notebook's time limit ({self.notebook_timeout:g} s) ran out before this cell"
        left = run.code[run.index :]
        if left and not any(e["kind"] == "timeout" for e in OUTCOME["events"]):
            self._event("timeout", left[0], why)
        for i in left:
            nb.cells[i].outputs = [_error("NotRun", why)]

    def _record_isolation(self) -> None:
        """Keep the weakest isolation any kernel of this notebook had (see LimitedKernelManager)."""
        spec = getattr(self.km, "isolation", None) or {}
        if spec.get("mode", "off") == "off":
            record = {"level": "none", "mode": "off"}
        else:
            try:
                with open(self.km.connection_file + ".isolation") as report:
                    record = json.load(report)
            except (OSError, ValueError):
                record = {"level": "none", "error": "the kernel reported no isolation"}
        old = OUTCOME.get("isolation")
        rank = _LEVELS.index(record.get("level", "none"))
        if old is None or rank < _LEVELS.index(old.get("level", "none")):
            OUTCOME["isolation"] = record


class HideStderr(NbGraderPreprocessor):
    """Score test cells on errors only: stderr streams (warnings) become stdout until scored."""

    def preprocess_cell(self, cell, resources, index):
        if utils.is_grade(cell) and cell.cell_type == "code":
            moved = [
                i for i, o in enumerate(cell.outputs) if o.output_type == "stream" and o.name == "stderr"
            ]
            for i in moved:
                cell.outputs[i].name = "stdout"
            if moved:
                cell.metadata["convlab_stderr"] = moved
        return cell, resources


class RestoreStderr(NbGraderPreprocessor):
    """Undo :class:`HideStderr` once nbgrader has saved the scores."""

    def preprocess_cell(self, cell, resources, index):
        for i in cell.metadata.pop("convlab_stderr", []):
            if i < len(cell.outputs):
                cell.outputs[i].name = "stderr"
        return cell, resources


class CollectOutcome(NbGraderPreprocessor):
    """Record each test cell's score and the errors worth naming into :data:`OUTCOME`."""

    def preprocess(self, nb, resources):
        scores, memory = {}, []
        for number, cell in enumerate(nb.cells, 1):
            meta = cell.metadata.get("nbgrader", {})
            if utils.is_grade(cell):
                score, points = utils.determine_grade(cell, self.log)
                scores[meta["grade_id"]] = [score, points]
            if any(o.get("ename") == "MemoryError" for o in cell.get("outputs", [])):
                memory.append(meta.get("grade_id") or f"cell {number}")
        OUTCOME["scores"] = scores
        OUTCOME["memory"] = memory
        return nb, resources


def _launch(argv: list[str]) -> None:
    """The kernel launch wrapper: apply the limits (and the isolation), then become the kernel."""
    spec = None
    if len(argv) > 4 and argv[2] == "--isolation":
        spec, argv = json.loads(argv[3]), argv[:2] + argv[4:]
    if len(argv) < 4 or argv[0] != "--memory-mb" or argv[2] != "--":
        raise SystemExit("usage: python -m convlab.course.sandbox --memory-mb N [--isolation SPEC] -- CMD...")
    forkserver.set_limits(int(argv[1]))
    forkserver.die_with_parent()
    if spec:
        forkserver.isolate(spec)
    os.execv(argv[3], argv[3:])


if __name__ == "__main__":
    _launch(sys.argv[1:])


def autograde_preprocessors(collect_outcome: bool = False) -> list:
    """nbgrader's autograde steps with the course's safeguards, in order.

    Used by the grading workers (with ``collect_outcome``, which reports scores and events to the
    worker) and by ``exercises/nbgrader_config.py`` for instructors who run nbgrader itself.
    """
    from nbconvert.preprocessors import ClearMetadataPreprocessor
    from nbgrader.preprocessors import (
        AssignLatePenalties,
        CheckCellMetadata,
        IgnorePattern,
        LimitOutput,
        SaveAutoGrades,
    )

    steps = [
        SandboxedExecute,
        IgnorePattern,
        ClearMetadataPreprocessor,
        LimitOutput,
        HideStderr,
        SaveAutoGrades,
    ]
    steps += [CollectOutcome] if collect_outcome else []
    return [*steps, RestoreStderr, AssignLatePenalties, CheckCellMetadata]
