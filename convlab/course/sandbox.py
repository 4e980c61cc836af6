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
    ``TMPDIR`` point into the scratch folder, one thread per BLAS, the grading seed set.

:class:`SandboxedExecute`
    nbgrader's ``Execute`` with a wall-time budget for running the notebook's cells (kernel
    starts and replays are not counted; each cell may use
    what is left, capped by ``Execute.timeout``), a cap on the output kept per cell, and
    recovery: a kernel that fails to start is replaced (twice at most) without cost to the
    student; when the kernel dies (``os._exit``, a crash, the memory cap) or stops answering,
    the cell gets an error, a fresh kernel replays the cells that ran before it, and the
    notebook goes on. Before each test cell it re-imports ``convlab`` and ``numpy.testing``
    and rebinds the check names, so a solution cell that monkeypatches the checks patches
    nothing the tests use. Cells that the budget leaves unrun get an error, never free points.

Plus two small preprocessors around nbgrader's ``SaveAutoGrades``: nbgrader scores a test cell 0
when it wrote anything to stderr (a warning); :class:`HideStderr` turns such streams into stdout
for scoring and :class:`RestoreStderr` puts them back for the feedback. :class:`CollectOutcome`
keeps the scores and what happened in :data:`OUTCOME` for the worker to report.
"""

from __future__ import annotations

import math
import os
import sys
from time import monotonic

from jupyter_client.manager import AsyncKernelManager
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat import NotebookNode
from nbgrader import utils
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from traitlets import Dict, Float, Integer, Unicode

from . import forkserver
from .forkserver import clean_environment

__all__ = [
    "LimitedKernelManager",
    "SandboxedExecute",
    "HideStderr",
    "RestoreStderr",
    "CollectOutcome",
    "OUTCOME",
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


class LimitedKernelManager(AsyncKernelManager):
    """An ``AsyncKernelManager`` that launches through the limits wrapper with a clean environment."""

    memory_mb = Integer(2048, help="Memory cap (RLIMIT_DATA) of the kernel in MiB; 0 means no cap.").tag(
        config=True
    )
    kernel_env = Dict(help="The kernel's complete environment (see clean_environment).").tag(config=True)

    async def _async_pre_start_kernel(self, **kw):
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
                process = server.spawn(kernel_cmd, env, kw.get("cwd"), self.memory_mb)
            except OSError as error:
                self.log.warning("forking a kernel failed (%s); starting a new process instead", error)
            else:
                provisioner = self.provisioner
                provisioner.process, provisioner.pid, provisioner.pgid = process, process.pid, process.pid
                provisioner.cwd = kw.get("cwd") or os.getcwd()
                self._reconcile_connection_info(provisioner.connection_info)
                return
        wrapper = [sys.executable, "-m", "convlab.course.sandbox", "--memory-mb", str(self.memory_mb), "--"]
        await super()._async_launch_kernel(wrapper + kernel_cmd, **kw)


def _error(ename: str, evalue: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])


class _OutOfTime(Exception):
    pass


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
        from nbclient import NotebookClient

        NotebookClient.__init__(self, nb, km)
        self.reset_execution_trackers()
        self._check_assign_resources(resources)
        self._deadline = monotonic() + self.notebook_timeout
        self._bytes, self._flooded = {}, set()
        OUTCOME["events"] = []
        timing = OUTCOME["timing"] = {"kernel_start": 0.0, "setup": 0.0, "solutions": 0.0, "tests": 0.0}
        ran, index, restarts, failed_starts = [], 0, 0, 0
        code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and c.source.strip()]
        try:
            while True:
                kernel_up = False
                try:
                    started = monotonic()
                    with self.setup_kernel():
                        kernel_up = True
                        info = self.wait_for_reply(self.kc.kernel_info())
                        if info is not None:
                            nb.metadata["language_info"] = info["content"]["language_info"]
                        for done in ran:
                            self._quietly(nb.cells[done].source)
                        timing["kernel_start"] += monotonic() - started
                        # starting the kernel (and replaying after a restart) is the grader's time
                        self._deadline += monotonic() - started
                        while index < len(code):
                            if monotonic() >= self._deadline:
                                raise _OutOfTime
                            cell, started = nb.cells[code[index]], monotonic()
                            if utils.is_grade(cell):
                                self._quietly(_GUARD)
                            self.execute_cell(cell, code[index], store_history=True)
                            part = (
                                "tests"
                                if utils.is_grade(cell)
                                else "solutions"
                                if utils.is_solution(cell)
                                else "setup"
                            )
                            timing[part] += monotonic() - started
                            if any(o.get("ename") == "CellTimeoutError" for o in cell.outputs):
                                self._event("timeout", code[index], "stopped at the time limit")
                            else:
                                ran.append(code[index])
                            index += 1
                    return nb, self.resources
                except (RuntimeError, TimeoutError) as error:
                    if not kernel_up and failed_starts < self.max_start_failures:
                        # the grader's trouble, not the student's (no cell had run in it): try again
                        failed_starts += 1
                        self._deadline += monotonic() - started
                        self.log.warning("a kernel failed to start (%s); starting another", error)
                        continue
                    if not isinstance(error, (DeadKernelError, CellTimeoutError)):
                        raise
                    if isinstance(error, DeadKernelError):
                        status = self._exit_code()
                        kind, ename = "kernel-died", "KernelDied"
                        why = "the kernel died" + (f" (exit status {status})" if status is not None else "")
                    else:
                        kind, ename = "timeout", "CellTimeoutError"
                        why = "the kernel stopped answering and was restarted"
                    nb.cells[code[index]].outputs.append(_error(ename, why))
                    self._event(kind, code[index], why)
                    index += 1
                    restarts += 1
                    if restarts > self.max_restarts:
                        raise _OutOfTime from error
        except _OutOfTime:
            if restarts > self.max_restarts:
                why = f"the kernel died {restarts} times; the grader stopped before this cell"
            else:
                why = f"the notebook's time limit ({self.notebook_timeout:g} s) ran out before this cell"
            left = code[index:]
            if left and not any(e["kind"] == "timeout" for e in OUTCOME["events"]):
                self._event("timeout", left[0], why)
            for i in left:
                nb.cells[i].outputs = [_error("NotRun", why)]
            return nb, self.resources


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
    """The kernel launch wrapper: apply the limits, then become the kernel."""
    if len(argv) < 4 or argv[0] != "--memory-mb" or argv[2] != "--":
        raise SystemExit("usage: python -m convlab.course.sandbox --memory-mb N -- CMD...")
    forkserver.set_limits(int(argv[1]))
    forkserver.die_with_parent()
    os.execv(argv[3], argv[3:])


if __name__ == "__main__":
    _launch(sys.argv[1:])
