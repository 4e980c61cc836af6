"""The Colab leg: every student notebook in a Colab-like environment, installed by its setup cell.

A virtual environment (cached in ``.venv-colab/``, rebuilt when ``COLAB`` or the Python version
changes) holds Google Colab's preinstalled versions of what the course uses, as close as this
machine allows (Python and torch are this machine's: Colab has Python 3.13 and a CUDA torch 2.11).
The package is installed the way a student's first cell installs it: the notebooks' own setup cell
runs with ``CONVLAB_SOURCE`` pointing at a local git clone of this working tree (committed and
uncommitted changes to tracked files alike), and ``pip`` builds it from that git URL. The test
fails if the install upgrades or downgrades any preinstalled package. Then every chapter and every
exercise (its release notebook with the model answers typed in: what a student who solved it
runs) executes top to bottom in a fresh kernel of that environment, in a folder without the
repository's files, and fails on the first cell error.

Not reproduced here: Python 3.13, Colab's browser frontend (widget rendering), a GPU runtime.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.colab

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".venv-colab"
PY = VENV / "bin" / "python"
KERNEL = "convlab-colab"
TIMES = ROOT / "_build" / "colab-times.txt"

# Colab's preinstalled versions (the runtime of late 2026) of every package the course imports,
# pip itself included; nbclient drives the kernel. torch is this machine's CPU wheel of 2.13.0.
COLAB = [
    "pip==24.1.2",
    "torch==2.13.0",
    "numpy==2.1.3",
    "matplotlib==3.10.9",
    "scipy==1.16.3",
    "ipywidgets==7.7.1",
    "ipykernel==6.17.1",
    "ipython==7.34.0",
    "tqdm==4.67.1",
    "threadpoolctl==3.6.0",
    "nbclient==0.10.2",
]

CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))
EXERCISES = sorted((ROOT / "exercises" / "release").glob("*/*.ipynb"))


def _run(cmd, **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    if done.returncode != 0:
        output = f"{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
        raise AssertionError(f"{cmd} failed ({done.returncode}):\n{output}")
    return done


def _freeze() -> dict[str, str]:
    lines = _run([str(PY), "-m", "pip", "freeze", "--all"]).stdout.splitlines()
    versions = {}
    for line in lines:
        # "name==version", or "name @ url" for a package installed from a URL (ours)
        name, sep, version = line.partition("==") if "==" in line else line.partition(" @ ")
        versions[name.strip().lower().replace("_", "-")] = version if sep else line
    return versions


def _build_venv() -> None:
    stamp = VENV / ".colab-pins"
    wanted = "\n".join([sys.version, *COLAB])
    if stamp.exists() and stamp.read_text() == wanted:
        return
    shutil.rmtree(VENV, ignore_errors=True)
    _run([sys.executable, "-m", "venv", str(VENV)])
    _run([str(PY), "-m", "pip", "install", "--quiet", COLAB[0]])
    _run([str(PY), "-m", "pip", "install", "--quiet", *COLAB[1:]])
    _run([str(PY), "-m", "ipykernel", "install", "--sys-prefix", "--name", KERNEL])
    (VENV / "base-freeze.json").write_text(json.dumps(_freeze(), indent=1, sort_keys=True))
    stamp.write_text(wanted)


def _clone(tmp: Path) -> str:
    """A git clone of this working tree (tracked files as they are now); returns its source URL."""
    clone = tmp / "clone"
    _run(["git", "clone", "--quiet", "--no-hardlinks", str(ROOT), str(clone)])
    for rel in _run(["git", "ls-files", "-z"], cwd=ROOT).stdout.split("\0"):
        if rel and (ROOT / rel).is_file():
            (clone / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, clone / rel)
    git = ["git", "-c", "user.name=colab-leg", "-c", "user.email=colab-leg@localhost", "-C", str(clone)]
    _run([*git, "checkout", "--quiet", "-B", "colab-leg"])
    _run([*git, "add", "-A"])
    _run([*git, "commit", "--quiet", "--allow-empty", "-m", "working tree"])
    return f"git+file://{clone}@colab-leg"


def _environment(tmp: Path, source: str) -> dict[str, str]:
    env = {
        "PATH": f"{VENV / 'bin'}{os.pathsep}/usr/bin{os.pathsep}/bin",
        "HOME": str(tmp / "home"),
        "CONVLAB_SOURCE": source,
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }
    for name in ("PIP_FIND_LINKS", "PIP_CERT", "PIP_DEFAULT_TIMEOUT", "LANG", "TMPDIR"):
        if name in os.environ:
            env[name] = os.environ[name]
    (tmp / "home").mkdir(exist_ok=True)
    return env


def _setup_cell(notebook: Path) -> str:
    cells = json.loads(notebook.read_text())["cells"]
    first = next(c for c in cells if c["cell_type"] == "code")
    return "".join(first["source"]) if isinstance(first["source"], list) else first["source"]


@pytest.fixture(scope="session")
def colab(tmp_path_factory):
    """The environment with the package installed by the setup cell (once per test run)."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # shared by the xdist workers of one run
    VENV.parent.mkdir(exist_ok=True)
    with open(ROOT / ".venv-colab.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        _build_venv()
        work = root / "colab-leg"
        done = work / "installed.json"
        if not done.exists():
            shutil.rmtree(work, ignore_errors=True)
            work.mkdir()
            source = _clone(work)
            env = _environment(work, source)
            _run([str(PY), "-m", "pip", "uninstall", "--quiet", "--yes", "convlab-course"], env=env)
            before = _freeze()
            start = time.perf_counter()
            cell = _setup_cell(CHAPTERS[0])
            shown = _run([str(PY), "-c", cell + "\nprint(convlab.__file__)"], env=env, cwd=work).stdout
            seconds = time.perf_counter() - start
            after = _freeze()
            record = {"before": before, "after": after, "env": env, "seconds": seconds, "imported": shown}
            done.write_text(json.dumps(record))
    return json.loads(done.read_text())


def test_the_install_keeps_every_preinstalled_package(colab):
    before, after = colab["before"], colab["after"]
    assert "convlab-course" not in before and "convlab-course" in after
    assert colab["imported"].strip().startswith(str(VENV)), colab["imported"]  # not this checkout
    changed = {name: (v, after.get(name)) for name, v in before.items() if after.get(name) != v}
    assert changed == {}, f"the setup cell's install changed preinstalled packages: {changed}"
    base = json.loads((VENV / "base-freeze.json").read_text())
    assert before == base, "the cached Colab environment drifted: delete .venv-colab and run again"


def _filled(release: Path) -> dict:
    """The release notebook with the model answers of the source notebook typed in."""
    source = json.loads((ROOT / "exercises" / "source" / release.parent.name / release.name).read_text())
    answers = {}
    for cell in source["cells"]:
        meta = cell["metadata"].get("nbgrader", {})
        if meta.get("solution"):
            lines = "".join(cell["source"]).splitlines()
            answers[meta["grade_id"]] = "\n".join(line for line in lines if "### " not in line)
    notebook = json.loads(release.read_text())
    for cell in notebook["cells"]:
        meta = cell["metadata"].get("nbgrader", {})
        if meta.get("solution"):
            cell["source"] = answers[meta["grade_id"]]
    return notebook


DRIVER = """\
import sys, nbformat
from nbclient import NotebookClient
nb = nbformat.read(sys.argv[1], as_version=4)
NotebookClient(nb, kernel_name=sys.argv[2], timeout=1800, allow_errors=False).execute()
"""


@pytest.mark.parametrize("notebook", CHAPTERS + EXERCISES, ids=lambda p: p.stem)
def test_notebook_runs_to_the_end(colab, notebook, tmp_path):
    content = _filled(notebook) if notebook in EXERCISES else json.loads(notebook.read_text())
    run_dir = tmp_path / "content"  # like Colab's /content: none of the repository's files
    run_dir.mkdir()
    copy = run_dir / notebook.name
    copy.write_text(json.dumps(content))
    env = {**colab["env"], "HOME": str(tmp_path)}
    start = time.perf_counter()
    done = subprocess.run(
        [str(PY), "-c", DRIVER, str(copy), KERNEL], capture_output=True, text=True, env=env, cwd=run_dir
    )
    seconds = time.perf_counter() - start
    TIMES.parent.mkdir(exist_ok=True)
    with TIMES.open("a") as log:
        status = "ok" if done.returncode == 0 else "FAILED"
        log.write(f"{notebook.relative_to(ROOT)}\t{seconds:.1f} s\t{status}\n")
    assert done.returncode == 0, f"{notebook.name} stopped with an error:\n{done.stderr[-6000:]}"
