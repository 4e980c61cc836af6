"""The notebooks' setup cell (the first code cell of every chapter and exercise) behaves as promised.

- where ``convlab-course`` is installed it installs nothing and imports this course's ``convlab``;
- where pip fails, the student sees pip's own output and a RuntimeError that says what to do;
- where another package named ``convlab`` is imported, it refuses with the command that fixes it.

The happy path of a real install from a git URL is exercised by the Colab-environment test.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

from test_notebook_hygiene import BRANCH, REPO_URL, SETUP_CELL


def _run(tmp_path, prelude: str, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    script = tmp_path / "cell.py"
    report = "print('SETUP-OK', convlab.__file__)"
    script.write_text("\n".join([textwrap.dedent(prelude), SETUP_CELL, report, ""]))
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PIP_NO_INDEX": "1", **(env_extra or {})}
    return subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120
    )


def test_the_cell_installs_the_branch_named_in_the_config():
    assert f'URL = "git+{REPO_URL}@{BRANCH}"' in SETUP_CELL


def test_installed_package_is_imported_without_pip(tmp_path):
    done = _run(tmp_path, "")
    assert done.returncode == 0, done.stderr
    assert "SETUP-OK" in done.stdout
    assert "pip" not in done.stdout


def test_a_failed_install_shows_pips_output_and_what_to_do(tmp_path):
    # Pretend the package is missing, and point the install at a folder that does not exist.
    prelude = """
        import importlib.metadata as _m
        _version = _m.version
        def _missing(name):
            if name == "convlab-course":
                raise _m.PackageNotFoundError(name)
            return _version(name)
        _m.version = _missing
    """
    missing = tmp_path / "no-such-checkout"
    done = _run(tmp_path, prelude, {"CONVLAB_SOURCE": f"file://{missing}"})
    assert done.returncode != 0
    assert "RuntimeError: pip could not install the course package" in done.stderr
    assert "run this cell again" in done.stderr
    # pip's own complaint reaches the student
    assert "no-such-checkout" in done.stdout


def test_another_package_named_convlab_is_refused(tmp_path):
    impostor = tmp_path / "impostor" / "convlab"
    impostor.mkdir(parents=True)
    (impostor / "__init__.py").write_text("# an unrelated package with the same import name\n")
    prelude = f"""
        import sys
        sys.path.insert(0, {str(impostor.parent)!r})
    """
    done = _run(tmp_path, prelude)
    assert done.returncode != 0
    assert "belongs to another package named convlab" in done.stderr
    assert "pip uninstall -y convlab" in done.stderr
