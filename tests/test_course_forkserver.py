"""The fork server behind fast grading: forked kernels are limited, isolated and accounted for."""

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

from convlab.course import forkserver
from convlab.course.isolation import describe, probe
from convlab.course.sandbox import LimitedKernelManager

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork server is Linux-only")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    home = tmp_path_factory.mktemp("server-home")
    srv = forkserver.ForkServer(forkserver.clean_environment(str(home), ""))
    assert srv.wait_ready(), srv.error
    yield srv
    srv.close()


@pytest.fixture
def use(server, monkeypatch):
    monkeypatch.setattr(forkserver, "current", server)
    return server


def _run(cells, home, memory_mb=1024, seed="7", extra=None, isolation=None):
    nb = new_notebook(cells=[new_code_cell(c) for c in cells])
    client = NotebookClient(
        nb,
        kernel_name="python3",
        kernel_manager_class=LimitedKernelManager,
        allow_errors=True,
        timeout=60,
        resources={"metadata": {"path": str(home)}},
    )
    client.km = client.create_kernel_manager()
    client.km.kernel_env = forkserver.clean_environment(str(home), seed, extra)
    client.km.memory_mb = memory_mb
    client.km.isolation = isolation or {}
    km = client.km
    client.execute()
    client.km = km  # nbclient lets go of the manager after the run; the tests ask it what ran
    return nb, client


def _text(cell):
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")


def test_a_forked_kernel_has_the_grading_environment_limits_and_folder(use, tmp_path):
    os.environ["CONVLAB_TEST_SECRET"] = "instructor-token"
    try:
        nb, _ = _run(
            [
                "import os, resource, sys\n"
                "print(os.getcwd())\n"
                "print(os.environ.get('CONVLAB_TEST_SECRET'), os.environ['CONVLAB_GRADING_SEED'])\n"
                "print(resource.getrlimit(resource.RLIMIT_DATA)[0] // 2**20)\n"
                "print(os.getppid())\n"
                "print('torch' in sys.modules, 'convlab.grading' in sys.modules)",
            ],
            tmp_path,
        )
    finally:
        del os.environ["CONVLAB_TEST_SECRET"]
    cwd, env, cap, parent, preloaded = _text(nb.cells[0]).splitlines()
    assert cwd == str(tmp_path)
    assert env == "None 7"  # nothing of the instructor's environment, the grading seed set
    assert cap == "1024"
    assert int(parent) == use.process.pid  # forked by the server
    assert preloaded == "True True"


def test_a_memory_bomb_meets_memory_error(use, tmp_path):
    nb, _ = _run(["x = bytearray(4 * 1024**3)"], tmp_path, memory_mb=1024)
    assert nb.cells[0].outputs[0]["ename"] == "MemoryError"


def test_the_exit_status_of_a_dead_kernel_is_reported(use, tmp_path):
    async def main():
        km = LimitedKernelManager(kernel_name="python3")
        km.kernel_env = forkserver.clean_environment(str(tmp_path), "1")
        await km.start_kernel(cwd=str(tmp_path))
        client = km.client()
        client.start_channels()
        await client.wait_for_ready(timeout=60)
        client.execute("import os; os._exit(3)")
        process = km.provisioner.process
        deadline = time.monotonic() + 30
        while process.poll() is None and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        client.stop_channels()
        alive = await km.is_alive()
        await km.shutdown_kernel(now=True)
        return process.returncode, alive

    assert asyncio.run(main()) == (3, False)


def test_kernels_do_not_share_state(use, tmp_path):
    _run(["import builtins, numpy as np\nnp.testing.assert_allclose = None\nbuiltins.LEAK = 1"], tmp_path)
    check = "import builtins, numpy as np\nprint(hasattr(builtins, 'LEAK'), np.testing.assert_allclose)"
    second, _ = _run([check], tmp_path)
    assert _text(second.cells[0]).startswith("False <function assert_allclose")


def test_a_kernel_dies_with_its_server(tmp_path):
    srv = forkserver.ForkServer(forkserver.clean_environment(str(tmp_path), ""))
    try:
        kernel = srv.spawn(
            [sys.executable, "-m", "ipykernel_launcher", "-f", str(tmp_path / "kernel.json")],
            forkserver.clean_environment(str(tmp_path), "1"),
            str(tmp_path),
            0,
        )
        time.sleep(1)
        assert kernel.poll() is None
        os.kill(kernel.pid, 0)
    finally:
        srv.close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(kernel.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        os.kill(kernel.pid, signal.SIGKILL)
        pytest.fail("the forked kernel outlived its server")
    assert kernel.poll() == -signal.SIGKILL  # the server is gone: reported as killed


def test_only_ipykernel_commands_are_forked(server):
    with pytest.raises(ValueError, match="argv"):
        server.spawn(["/bin/sh", "-c", "true"], {}, None, 0)


def test_a_server_with_threads_refuses_to_fork(tmp_path):
    script = (
        "import sys, threading, time\n"
        "threading.Thread(target=time.sleep, args=(30,), daemon=True).start()\n"
        "from convlab.course.forkserver import serve\n"
        "serve(int(sys.argv[1]))\n"
    )
    ours, theirs = socket.socketpair()
    proc = subprocess.Popen(
        [sys.executable, "-c", script, str(theirs.fileno())], pass_fds=[theirs.fileno()], cwd=tmp_path
    )
    theirs.close()
    ours.settimeout(120)
    hello = ours.makefile().readline()
    proc.wait(timeout=60)
    assert '"ready": false' in hello and "threads" in hello


def test_when_forking_fails_kernels_start_as_new_processes(tmp_path, monkeypatch):
    class Broken:
        def spawn(self, *args, **kwargs):
            raise OSError("the fork server is not available")

    monkeypatch.setattr(forkserver, "current", Broken())
    nb, _ = _run(["import os\nprint(6 * 7, os.getppid())"], tmp_path)
    answer, parent = _text(nb.cells[0]).split()
    assert (answer, int(parent)) == ("42", os.getpid())  # launched by this process


def test_a_forked_kernel_imports_like_a_fresh_one(server, tmp_path, monkeypatch):
    """Same module search path, and a helper module beside the notebook imports in both."""
    (tmp_path / "helper_beside.py").write_text("ANSWER = 42\n")
    cell = "import sys, helper_beside\nprint(helper_beside.ANSWER)\nprint(sys.path)"
    monkeypatch.setattr(forkserver, "current", server)
    forked, _ = _run([cell], tmp_path)
    monkeypatch.setattr(forkserver, "current", None)
    fresh, _ = _run([cell], tmp_path)
    assert _text(forked.cells[0]) == _text(fresh.cells[0])
    assert _text(forked.cells[0]).startswith("42\n")


class _FailsFirst(LimitedKernelManager):
    """The first kernel of the test dies before it answers; the ones after start normally."""

    failures_left = 0

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        if type(self).failures_left > 0:
            type(self).failures_left -= 1
            kernel_cmd = [sys.executable, "-c", "import sys; sys.exit(7)"]
        await super()._async_launch_kernel(kernel_cmd, **kw)


@pytest.mark.parametrize("failures, graded", [(2, True), (3, False)])
def test_a_kernel_that_fails_to_start_is_replaced(failures, graded, tmp_path, monkeypatch):
    from convlab.course.sandbox import OUTCOME, SandboxedExecute

    monkeypatch.setattr(forkserver, "current", None)
    monkeypatch.setattr(_FailsFirst, "failures_left", failures)
    nb = new_notebook(cells=[new_code_cell("print(6 * 7)")])
    executor = SandboxedExecute(kernel_manager_class=_FailsFirst, kernel_name="python3", timeout=60)
    if graded:  # two failed starts are replaced without touching the notebook
        executor.preprocess(nb, {"metadata": {"path": str(tmp_path)}})
        assert _text(nb.cells[0]).strip() == "42"
        assert OUTCOME["events"] == []
    else:  # a third is the grader's failure, reported as such, not a score of the student's
        with pytest.raises(RuntimeError, match="died"):
            executor.preprocess(nb, {"metadata": {"path": str(tmp_path)}})


ISOLATION = probe()


@pytest.mark.skipif(ISOLATION["level"] != "full", reason=f"this machine offers only {describe(ISOLATION)}")
@pytest.mark.parametrize("how", ["forked", "fresh"])
def test_an_isolated_kernel_talks_over_its_own_sockets_and_sees_only_its_folders(
    server, monkeypatch, tmp_path, how
):
    monkeypatch.setattr(forkserver, "current", server if how == "forked" else None)
    home = tmp_path / "home"  # the kernel's folder and home; its parent holds a secret
    home.mkdir()
    (tmp_path / "secret.txt").write_text("the instructor's")
    nb, client = _run(
        [
            "open('mine.txt', 'w').write('ok')",
            f"open({str(tmp_path / 'secret.txt')!r}).read()",
        ],
        home,
        isolation={"mode": "strict"},
    )
    assert (home / "mine.txt").read_text() == "ok"
    assert nb.cells[1].outputs[0]["ename"] in ("PermissionError", "FileNotFoundError")  # /tmp is its own
    assert client.km.transport == "ipc"
    record = json.loads(open(client.km.connection_file + ".isolation").read())
    assert record["level"] == "full" and record["setup_ms"] > 0
