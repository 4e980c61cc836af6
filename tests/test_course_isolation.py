"""Grading kernels confined without Docker: what a confined process can and cannot reach.

Each check runs :func:`confine` in a forked child, which then tries the forbidden things and
reports over a pipe. The same checks run as this user and, when the suite runs as root, as the
unprivileged user ``nobody`` (the child drops to uid 65534 before confining itself, as an
ordinary account would be): the mechanisms differ (root needs no user namespace), the result must
not. Checks that need a mechanism the machine lacks are skipped, with the reason.
"""

import json
import os
import shutil
import socket
import sys
import tempfile
import threading
from pathlib import Path

import pytest

from convlab.course import isolation
from convlab.course.isolation import confine, describe, probe

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux namespaces and Landlock")

HERE = probe()
FULL = HERE.get("level") == "full"


def _in_child(spec, attempts, uid=None):
    """Fork; (drop to ``uid``;) confine with ``spec``; run each attempt; return what happened."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        try:
            os.close(read)
            if uid is not None:
                os.setgroups([])
                os.setgid(uid)
                os.setuid(uid)
                isolation._libc().prctl(4, 1, 0, 0, 0)  # PR_SET_DUMPABLE, as a login's processes are
            report = {"record": confine(spec)}
            for name, attempt in attempts.items():
                try:
                    value = attempt()
                    report[name] = "allowed: " + repr(value)[:80]
                except Exception as error:  # the point: each attempt should fail
                    report[name] = f"denied: {type(error).__name__}"
        except BaseException as error:
            report = {"error": f"{type(error).__name__}: {error}"}
        os.write(write, json.dumps(report).encode())
        os._exit(0)
    os.close(write)
    data = b""
    while chunk := os.read(read, 65536):
        data += chunk
    os.close(read)
    os.waitpid(pid, 0)
    return json.loads(data)


def _read(path):
    with open(path, "rb") as f:
        return f.read(20)


def _write(path):
    with open(path, "w") as f:
        f.write("escaped")
    return path


USERS = [None] + ([65534] if os.geteuid() == 0 else [])


@pytest.fixture
def world():
    """A course-like tree around the kernel's folder, a listening port. (Not in pytest's tmp_path:
    that lies in a folder only this user may enter, and the unprivileged child must enter it.)"""
    tmp_path = Path(tempfile.mkdtemp(prefix="convlab-isolation-"))
    tmp_path.chmod(0o755)
    own = tmp_path / "jobs" / "0" / "notebook"
    own.mkdir(parents=True)
    other = tmp_path / "jobs" / "1" / "notebook"
    other.mkdir(parents=True)
    (other / "theirs.ipynb").write_text("another student's solution")
    course = tmp_path / "course" / "source"
    course.mkdir(parents=True)
    (course / "ex.ipynb").write_text("### BEGIN HIDDEN TESTS")
    for path in (own, own.parent, own.parent.parent, tmp_path / "jobs" / "1", other):
        path.chmod(0o777)  # so that the unprivileged child may write its own folder
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    accepted = []

    def accept():
        listener.settimeout(30)
        try:
            while True:
                accepted.append(listener.accept()[0].recv(10))
        except OSError:
            pass

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield {
        "own": own,
        "other": other,
        "course": course,
        "port": listener.getsockname()[1],
        "accepted": accepted,
    }
    listener.close()
    thread.join(1)
    shutil.rmtree(tmp_path)


def _attempts(world, marker):
    port = world["port"]
    return {
        "own_write": lambda: _write(world["own"] / "ok.txt"),
        "other": lambda: _read(world["other"] / "theirs.ipynb"),
        "source": lambda: _read(world["course"] / "ex.ipynb"),
        "source_via_proc": lambda: _read(f"/proc/{os.getppid()}/root{world['course']}/ex.ipynb"),
        "parent_environ": lambda: _read(f"/proc/{os.getppid()}/environ"),
        "home": lambda: os.listdir("/root"),
        "tmp_escape": lambda: _write(f"/tmp/{marker}"),
        "network": lambda: socket.create_connection(("127.0.0.1", port), timeout=3).sendall(b"leak"),
        "numpy": lambda: float(__import__("numpy").arange(4).sum()),
    }


@pytest.mark.skipif(not FULL, reason=f"this machine offers only {describe(HERE)}")
@pytest.mark.parametrize("uid", USERS, ids=lambda u: "this-user" if u is None else "nobody")
def test_a_confined_process_reaches_only_its_own_folder(world, uid):
    marker = f"convlab-isolation-test-{os.getpid()}-{uid}"
    spec = {"mode": "strict", "write": [str(world["own"])], "hide": [str(world["course"].parent)]}
    report = _in_child(spec, _attempts(world, marker), uid)
    assert "error" not in report, report
    assert report["record"]["level"] == "full"
    assert report["own_write"].startswith("allowed")
    assert report["numpy"] == "allowed: 6.0"  # the Python installation stays readable
    denied = ["other", "source", "source_via_proc", "parent_environ", "home", "network"]
    assert {k: report[k] for k in denied} == {k: report[k] for k in denied if report[k].startswith("denied")}
    assert report["tmp_escape"].startswith("allowed")  # in a /tmp of its own,
    assert not os.path.exists(f"/tmp/{marker}")  # which went away with the child
    assert world["accepted"] == []


@pytest.mark.skipif(not FULL, reason=f"this machine offers only {describe(HERE)}")
@pytest.mark.parametrize("without", ["landlock", "namespaces"])
def test_each_fallback_alone_still_keeps_the_course_and_the_network_out(world, without):
    """Landlock alone (a container without namespaces) or namespaces alone (Linux < 5.13)."""
    marker = f"convlab-isolation-fallback-{os.getpid()}-{without}"
    spec = {
        "mode": "auto",
        "without": [without],
        "write": [str(world["own"])],
        "hide": [str(world["course"].parent)],
    }
    report = _in_child(spec, _attempts(world, marker))
    expected = {"landlock": ("mount", "netns"), "namespaces": ("landlock", "landlock-tcp")}[without]
    assert (report["record"]["filesystem"], report["record"]["network"]) == expected
    assert report["record"]["level"] == "partial"  # strict wants both; each alone leaves gaps
    for name in ("source", "network"):
        assert report[name].startswith("denied"), (name, report[name])
    assert report["own_write"].startswith("allowed")
    assert not os.path.exists(f"/tmp/{marker}")
    assert world["accepted"] == []


def test_off_confines_nothing_and_strict_refuses_less_than_full(world):
    report = _in_child(
        {"mode": "off", "write": [str(world["own"])]}, {"source": lambda: _read(world["course"] / "ex.ipynb")}
    )
    assert report["record"]["level"] == "none" and report["source"].startswith("allowed")
    report = _in_child(
        {"mode": "strict", "without": ["landlock", "namespaces"], "write": [str(world["own"])]}, {}
    )
    assert "isolation is required" in report["error"]


def test_kernel_view_exposes_packages_not_the_repository_around_them():
    view = isolation.kernel_view([os.getcwd()])
    repo = os.path.dirname(os.path.dirname(os.path.abspath(isolation.__file__)))
    convlab_dir = os.path.dirname(os.path.dirname(isolation.__file__))
    assert os.path.realpath(convlab_dir) in view["read"] or any(
        os.path.realpath(convlab_dir).startswith(p + os.sep) for p in view["read"]
    )
    assert os.path.dirname(os.path.realpath(repo)) not in view["read"]
    assert not any(p.endswith(("exercises", "source", "submitted")) for p in view["read"])


def test_describe_and_probe_speak_plainly():
    assert describe(None) == describe({"level": "none"}) == "none"
    line = describe({"level": "full", "filesystem": "landlock+mount", "tmp": "private", "network": "netns"})
    assert line == "full (file system: landlock+mount, /tmp: private, network: netns)"
    with pytest.raises(
        ValueError, match="`isolation` must be one of auto, strict, off; got isolation='loose'"
    ):
        probe("loose")


@pytest.mark.skipif(not FULL, reason=f"this machine offers only {describe(HERE)}")
def test_a_python_path_under_tmp_stays_readable_even_with_a_stale_entry(monkeypatch):
    """Code imported from under /tmp (a checkout there) is mounted back into the private /tmp; a
    module whose file does not exist (``<stdin>``, a removed folder) must not undo that."""
    import importlib
    import types

    base = Path(tempfile.mkdtemp(prefix="convlab-path-", dir="/tmp"))
    try:
        (base / "pkg").mkdir()
        (base / "pkg" / "convlab_probe_mod.py").write_text("VALUE = 6\n")
        own = base / "own"
        own.mkdir()
        monkeypatch.syspath_prepend(str(base / "pkg"))
        monkeypatch.setitem(sys.modules, "convlab_probe_mod", importlib.import_module("convlab_probe_mod"))
        stale = types.ModuleType("convlab_probe_stale")
        stale.__file__ = str(base / "missing" / "stale.py")
        monkeypatch.setitem(sys.modules, "convlab_probe_stale", stale)
        attempts = {
            "module": lambda: (base / "pkg" / "convlab_probe_mod.py").read_text(),
            "tmp_write": lambda: Path("/tmp/convlab-private-probe").write_text("x"),
        }
        report = _in_child({"mode": "strict", "write": [str(own)]}, attempts)
        assert "error" not in report, report
        assert report["record"]["filesystem"] == "landlock+mount", report
        assert report["record"]["tmp"] == "private", report
        assert report["module"] == "allowed: 'VALUE = 6\\n'", report
        assert report["tmp_write"].startswith("allowed"), report
        assert not Path("/tmp/convlab-private-probe").exists()  # it went to the private /tmp
    finally:
        shutil.rmtree(base)
