"""A fork server for grading kernels: import the heavy modules once, fork a fresh kernel per notebook.

Starting an IPython kernel and importing NumPy, PyTorch, matplotlib and ``convlab`` takes a few
seconds per notebook, more than most notebooks need to run their tests. So each grading worker
starts one server process that imports those modules (and ipykernel) once, without running any
student code, and then answers requests to *fork* a kernel: the child is a copy of that clean,
pre-imported process (copy-on-write, nothing shared afterwards) that applies the same limits as
the launch wrapper in :mod:`convlab.course.sandbox` (memory, file size, no core dumps,
killed when its parent dies), confines itself to its own folders (:mod:`convlab.course.isolation`),
replaces its whole environment with the grading one, enters the notebook's folder and runs an
IPython kernel on the connection file jupyter_client wrote. Every
notebook still gets a process of its own, started from the same state.

The server is single-threaded (forking a process with threads is unsafe, so the preloaded
modules must not start any; :func:`serve` checks). It talks to the worker over a socket pair,
one JSON request and one JSON reply per line:

``{"op": "spawn", "argv": [...], "env": {...}, "cwd": "...", "memory_mb": N, "isolation": {...}}``
    → ``{"pid": P}``. ``argv`` is jupyter_client's kernel command ``python -m ipykernel_launcher -f FILE``
    (see :func:`kernel_arguments`); ``isolation`` (optional) what
    :func:`convlab.course.isolation.confine` applies in the child before anything else runs.
``{"op": "poll", "pid": P}`` → ``{"returncode": R}``
    ``None`` while the kernel runs; the server reaps its children, so exit statuses come from it.

:class:`ForkServer` is the worker's side and :class:`ForkedKernel` the ``Popen``-like handle
that jupyter_client's ``LocalProvisioner`` keeps for a forked kernel.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time

from convlab._seed import SEED_ENV

__all__ = [
    "ForkServer",
    "ForkedKernel",
    "PRELOAD",
    "clean_environment",
    "current",
    "isolate",
    "kernel_arguments",
    "serve",
]

#: The grading worker's server, used by :class:`convlab.course.sandbox.LimitedKernelManager`
#: when set; None means every kernel starts as a new process through the launch wrapper.
current: ForkServer | None = None

#: The modules the server imports before its first fork. They are what every assignment's
#: notebook imports, the references the checks load, and the kernel itself.
PRELOAD = (
    "numpy",
    "numpy.testing",
    "scipy.signal",
    "matplotlib",
    "matplotlib.pyplot",
    "matplotlib_inline.backend_inline",
    "torch",
    "torch.nn.functional",
    "convlab",
    "convlab.grading",
    "convlab.course.isolation",
    "ipykernel.kernelapp",
    "ipykernel.ipkernel",
)


def kernel_arguments(argv: list[str]) -> list[str] | None:
    """The ipykernel arguments of ``python [-X...] -m ipykernel_launcher ARGS``, else None.

    Only that standard command can be forked; interpreter options such as ``-Xfrozen_modules=off``
    (set by ipykernel's kernel spec for its debugger) do not apply to a forked kernel.

    >>> kernel_arguments(["python3", "-Xfrozen_modules=off", "-m", "ipykernel_launcher", "-f", "k.json"])
    ['-f', 'k.json']
    >>> kernel_arguments(["/usr/bin/R", "--slave"]) is None
    True
    """
    if not argv or not os.path.basename(argv[0]).startswith("python") or "-m" not in argv:
        return None
    at = argv.index("-m")
    options_only = all(a.startswith("-") and a != "-c" for a in argv[1:at])
    if options_only and at + 1 < len(argv) and argv[at + 1] in ("ipykernel_launcher", "ipykernel"):
        return argv[at + 2 :]
    return None


def clean_environment(home: str, seed: str | None = None, extra: dict | None = None) -> dict:
    """The whole environment of a grading kernel: nothing inherited but the interpreter's path.

    ``seed`` sets ``CONVLAB_GRADING_SEED`` when given; grading runs leave it out (the sandbox
    hands each test cell its seed as the cell runs, see :mod:`convlab.course.sandbox`).
    """
    env = {
        "PATH": os.pathsep.join([os.path.dirname(sys.executable), "/usr/local/bin", "/usr/bin", "/bin"]),
        "HOME": home,
        "TMPDIR": os.path.join(home, "tmp"),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "MPLBACKEND": "Agg",
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
        "NBGRADER_EXECUTION": "autograde",
    }
    if seed:
        env[SEED_ENV] = str(seed)
    env.update(extra or {})
    os.makedirs(env["TMPDIR"], exist_ok=True)
    return env


# --------------------------------------------------------------------------- the server process


def _preload() -> list[str]:
    import importlib

    failed = []
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except Exception as error:  # a missing optional module only costs speed
            failed.append(f"{name}: {type(error).__name__}: {error}")
    try:
        from convlab.grading import preload

        preload()  # torch and every reference module the checks swap out
        import convlab.grading as grading

        for name in getattr(grading, "__all__", ()):
            getattr(grading, name)  # each assignment's checks
    except Exception as error:
        failed.append(f"convlab.grading: {type(error).__name__}: {error}")
    return failed


def _threads() -> int:
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:  # not Linux: trust the threading module
        return threading.active_count()


def set_limits(memory_mb: int) -> None:
    """Cap this process: memory (0: no cap), files written (256 MiB), no core dumps.

    Memory is capped with ``RLIMIT_DATA``: heap and private writable mappings, which is where
    arrays, Python objects and thread stacks live, but not the libraries' code and constants.
    (An address-space cap would count the 1.5 GB that PyTorch and its libraries *map* in a
    kernel, though only a fraction is ever used.)
    """
    import resource

    if memory_mb > 0:
        cap = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_DATA, (cap, cap))
    resource.setrlimit(resource.RLIMIT_FSIZE, (256 * 1024 * 1024,) * 2)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def prctl(option: int, value: int) -> None:
    """Linux's ``prctl(option, value)``; does nothing where it is not available."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def die_with_parent() -> None:
    """Ask Linux to kill this process when its parent dies."""
    prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def isolate(spec: dict) -> dict:
    """Apply :func:`convlab.course.isolation.confine` and write its record to ``spec["report"]``."""
    from .isolation import confine

    record = confine(spec)
    if spec.get("report"):
        with open(spec["report"], "w") as out:
            json.dump(record, out)
    return record


def _become_kernel(request: dict, channel: socket.socket, server: int) -> None:
    """In the forked child: limits, environment, folder, then the kernel. Never returns."""
    code = 1
    try:
        channel.close()
        os.setsid()  # its own process group: the provisioner signals the whole group
        die_with_parent()
        if os.getppid() != server:  # the server died before the request above took effect
            return
        set_limits(int(request["memory_mb"]))
        if request.get("isolation"):  # before the folder is entered: /tmp may be mounted anew
            isolate(request["isolation"])
        os.environ.clear()
        os.environ.update(request["env"])
        import tempfile

        tempfile.tempdir = None  # recomputed from the new TMPDIR
        if request.get("cwd"):
            os.chdir(request["cwd"])
        # the parent to watch, as jupyter_client's launcher would set $JPY_PARENT_PID (ipykernel
        # read that variable when the server imported it, so it is passed as an argument)
        arguments = [*kernel_arguments(request["argv"]), f"--IPKernelApp.parent_handle={os.getppid()}"]
        sys.argv = ["ipykernel_launcher", *arguments]
        from ipykernel.kernelapp import launch_new_instance

        launch_new_instance(argv=arguments)
        code = 0
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        try:
            import atexit

            atexit._run_exitfuncs()
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def serve(fd: int) -> None:
    """Run the server on the connected socket ``fd`` until the worker closes it."""
    die_with_parent()
    if sys.path and sys.path[0] == os.getcwd():  # `python -m` put the server's folder first;
        del sys.path[0]  # ipykernel_launcher drops it too, so kernels import as they always did
    channel = socket.socket(fileno=fd)
    stream = channel.makefile("rw", encoding="utf-8", newline="\n")
    failed = _preload()
    threads = _threads()

    def reply(message: dict) -> None:
        stream.write(json.dumps(message) + "\n")
        stream.flush()

    if threads != 1:  # forking now could deadlock a child on a lock some thread held
        reply({"ready": False, "error": f"{threads} threads after preloading; refusing to fork"})
        return
    reply({"ready": True, "failed": failed})
    exited: dict[int, int] = {}
    running: set[int] = set()
    for line in stream:
        while running:  # reap whatever has exited
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            running.discard(pid)
            exited[pid] = os.waitstatus_to_exitcode(status)
        request = json.loads(line)
        if request["op"] == "spawn":
            server = os.getpid()
            pid = os.fork()
            if pid == 0:
                stream.close()
                _become_kernel(request, channel, server)
            running.add(pid)
            reply({"pid": pid})
        elif request["op"] == "poll":
            pid = int(request["pid"])
            reply({"returncode": None if pid in running else exited.get(pid, -signal.SIGKILL)})
        else:
            reply({"error": f"unknown op {request['op']!r}"})


# --------------------------------------------------------------------------- the worker's side


class ForkedKernel:
    """What jupyter_client's ``LocalProvisioner`` needs of a ``Popen``, for a kernel the server forked."""

    stdin = stdout = stderr = None

    def __init__(self, server: ForkServer, pid: int) -> None:
        self._server, self.pid, self.returncode = server, pid, None

    def poll(self) -> int | None:
        if self.returncode is None:
            self.returncode = self._server.returncode(self.pid)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(f"kernel {self.pid}", timeout)
            time.sleep(0.02)
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:  # never signal a pid the server has reaped (it may be reused)
            try:
                os.kill(self.pid, signum)
            except ProcessLookupError:
                pass

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


class ForkServer:
    """Start a server process (see :func:`serve`) and fork kernels from it.

    Parameters
    ----------
    env : dict
        The server's whole environment. Thread counts and ``PYTHONHASHSEED`` must already be the
        grading values: modules read them when imported, before any kernel is forked.
    log : file object, optional
        Where the server's and the kernels' stdout and stderr go (default: this process's stderr).
    """

    def __init__(self, env: dict, log=None) -> None:
        ours, theirs = socket.socketpair()
        self._lock = threading.Lock()
        self.ready, self.error = False, None
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "convlab.course.forkserver", str(theirs.fileno())],
                pass_fds=[theirs.fileno()],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log if log is not None else sys.stderr,
                stderr=log if log is not None else sys.stderr,
                cwd=env.get("HOME") or None,
            )
        finally:
            theirs.close()
        self._channel = ours
        self._stream = ours.makefile("rw", encoding="utf-8", newline="\n")

    def wait_ready(self, timeout: float = 120.0) -> bool:
        """Wait for the preloading to finish; False (with ``error`` set) when the server failed."""
        if self.ready or self.error:
            return self.ready
        self._channel.settimeout(timeout)
        try:
            hello = json.loads(self._stream.readline() or "{}")
        except (OSError, ValueError) as error:
            hello = {"error": f"no answer: {error}"}
        finally:
            self._channel.settimeout(None)
        self.ready = bool(hello.get("ready"))
        for failure in hello.get("failed", []):  # slower kernels, not wrong ones: worth a line in the log
            logging.getLogger("convlab.course").warning("the fork server could not preload %s", failure)
        if not self.ready:
            self.error = hello.get("error") or "the fork server exited while preloading"
            self.close()
        return self.ready

    def _ask(self, request: dict) -> dict:
        with self._lock:
            try:
                self._stream.write(json.dumps(request) + "\n")
                self._stream.flush()
                line = self._stream.readline()
            except ValueError:  # closed
                line = ""
        if not line:
            raise OSError("the fork server has exited")
        return json.loads(line)

    def spawn(
        self, argv: list[str], env: dict, cwd: str | None, memory_mb: int, isolation: dict | None = None
    ) -> ForkedKernel:
        """Fork a kernel running ``argv`` (``python -m ipykernel_launcher -f FILE``).

        ``isolation``: the spec of :func:`convlab.course.isolation.confine` (None: none).
        """
        if kernel_arguments(argv) is None:
            raise ValueError(f"only `python -m ipykernel_launcher ...` can be forked; got argv={argv}")
        if not self.wait_ready():
            raise OSError(f"the fork server is not available: {self.error}")
        request = {"op": "spawn", "argv": argv, "env": env, "cwd": cwd, "memory_mb": memory_mb}
        answer = self._ask({**request, "isolation": isolation})
        return ForkedKernel(self, int(answer["pid"]))

    def returncode(self, pid: int) -> int | None:
        try:
            return self._ask({"op": "poll", "pid": pid})["returncode"]
        except OSError:  # the server is gone, and its kernels died with it
            return -signal.SIGKILL

    def close(self) -> None:
        try:
            self._stream.close()
            self._channel.close()
        except OSError:
            pass
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


if __name__ == "__main__":
    serve(int(sys.argv[1]))
