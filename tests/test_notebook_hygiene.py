"""Hygiene of the course's notebooks and of the book's table of contents.

- notebooks are committed without outputs or execution counts (the book executes them);
- every notebook a student opens starts with the same setup cell, whose install URL follows
  ``_config.yml`` -> ``repository.url`` and ``repository.branch`` (the one place the repository
  lives), collapsed on the website;
- every chapter in ``_toc.yml`` exists and every chapter file is in ``_toc.yml``;
- exercise links at the end of chapters point at release notebooks that exist, through the same URL;
- every code line fits the book's code column (79 characters), so nothing is cut off on the site;
- no cell relies on the ``raises-exception`` tag (Colab ignores it and "Run all" would stop there):
  cells that show an error on purpose catch it and print the message.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
TOC = yaml.safe_load((ROOT / "_toc.yml").read_text())
REPO_URL = CONFIG["repository"]["url"].rstrip("/")
OWNER_REPO = REPO_URL.removeprefix("https://github.com/")
BRANCH = CONFIG["repository"].get("branch", "main")

SETUP_CELL = f"""\
# Setup. In Colab this installs the course package from its repository;
# where the package is installed already (a local checkout), it does nothing.
import importlib.metadata
import os
import subprocess
import sys

URL = "git+{REPO_URL}@{BRANCH}"
SOURCE = os.environ.get("CONVLAB_SOURCE", URL)  # a test may point elsewhere
try:
    importlib.metadata.version("convlab-course")
except importlib.metadata.PackageNotFoundError:
    pip = subprocess.run(
        [sys.executable, "-m", "pip", "install", "convlab-course @ " + SOURCE],
        capture_output=True,
        text=True,
    )
    if pip.returncode != 0:
        print(pip.stdout[-3000:], pip.stderr[-3000:], sep="\\n")
        raise RuntimeError(
            "pip could not install the course package; its output is above. "
            "Check that the runtime is connected to the internet, then run "
            "this cell again."
        ) from None
import convlab

if getattr(convlab, "__distribution__", None) != "convlab-course":
    raise ImportError(
        f"{{convlab.__file__}} belongs to another package named convlab. "
        "Run `pip uninstall -y convlab` in a cell, restart the runtime and "
        "run this cell again."
    )"""

GPU_ADMONITION = """\
:::{admonition} GPU section
:class: tip
Runs on a GPU when there is one; also runs on CPU at reduced size.
:::"""

CHAPTER_NOTEBOOKS = sorted((ROOT / "chapters").glob("*.ipynb"))
STUDENT_NOTEBOOKS = CHAPTER_NOTEBOOKS + sorted((ROOT / "exercises" / "release").glob("*/*.ipynb"))
ALL_NOTEBOOKS = STUDENT_NOTEBOOKS + sorted((ROOT / "exercises" / "source").glob("*/*.ipynb"))


def _ids(paths):
    return [str(p.relative_to(ROOT)) for p in paths]


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text())["cells"]


def _source(cell: dict) -> str:
    src = cell["source"]
    return src if isinstance(src, str) else "".join(src)


def _toc_files(node) -> list[str]:
    files = []
    if isinstance(node, dict):
        if "file" in node:
            files.append(node["file"])
        for value in node.values():
            files.extend(_toc_files(value))
    elif isinstance(node, list):
        for item in node:
            files.extend(_toc_files(item))
    return files


def test_there_are_notebooks():
    assert len(CHAPTER_NOTEBOOKS) >= 8


MAX_CODE_LINE = 79  # the book's code column shows about 80 characters
LINE_CHECKED = CHAPTER_NOTEBOOKS + sorted((ROOT / "exercises").glob("*/*/*.ipynb"))


def _long_code_lines(path: Path) -> list[str]:
    """Code lines over the limit, hidden tests included (instructors read them in the source)."""
    return [
        f"cell {i}, line {j + 1} ({len(line)} characters): {line}"
        for i, cell in enumerate(_cells(path))
        if cell["cell_type"] == "code"
        for j, line in enumerate(_source(cell).splitlines())
        if len(line) > MAX_CODE_LINE
    ]


@pytest.mark.parametrize("path", LINE_CHECKED, ids=_ids(LINE_CHECKED))
def test_code_lines_fit_the_page(path):
    long = _long_code_lines(path)
    assert not long, f"{path.name}: code lines over {MAX_CODE_LINE} characters:\n" + "\n".join(long)


def test_long_code_line_is_detected(tmp_path):
    cell = {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None}
    nb = {"cells": [dict(cell, source=["x = 1\n", "y = " + "1 + " * 20 + "1"])]}
    (tmp_path / "nb.ipynb").write_text(json.dumps(nb))
    assert len(_long_code_lines(tmp_path / "nb.ipynb")) == 1
    nb["cells"][0]["source"] = ["x = 1\n", "y = " + "1" * (MAX_CODE_LINE - 4)]
    (tmp_path / "nb.ipynb").write_text(json.dumps(nb))
    assert _long_code_lines(tmp_path / "nb.ipynb") == []
    hidden = "### BEGIN HIDDEN TESTS\ncheck(" + "x, " * 30 + ")\n### END HIDDEN TESTS"
    nb["cells"][0]["source"] = [hidden]
    (tmp_path / "nb.ipynb").write_text(json.dumps(nb))
    assert len(_long_code_lines(tmp_path / "nb.ipynb")) == 1


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=_ids(ALL_NOTEBOOKS))
def test_no_raises_exception_tag(path):
    for i, cell in enumerate(_cells(path)):
        tags = cell.get("metadata", {}).get("tags", [])
        assert "raises-exception" not in tags, (
            f"cell {i} of {path.name} is tagged raises-exception: catch the error and print it instead"
        )


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=_ids(ALL_NOTEBOOKS))
def test_committed_without_outputs(path):
    for i, cell in enumerate(_cells(path)):
        if cell["cell_type"] == "code":
            assert cell.get("outputs") == [], f"cell {i} of {path.name} has outputs"
            assert cell.get("execution_count") is None, f"cell {i} of {path.name} has an execution count"


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=_ids(ALL_NOTEBOOKS))
def test_every_cell_has_a_unique_id(path):
    # nbformat 4.5 requires cell ids (it warns today and will refuse later); nbgrader keys on them
    ids = [cell.get("id") for cell in _cells(path)]
    assert None not in ids, f"{path.name}: cell {ids.index(None)} has no id"
    assert len(set(ids)) == len(ids), f"{path.name}: duplicated cell ids"


@pytest.mark.parametrize("path", STUDENT_NOTEBOOKS, ids=_ids(STUDENT_NOTEBOOKS))
def test_first_code_cell_is_the_canonical_setup(path):
    code = [c for c in _cells(path) if c["cell_type"] == "code"]
    assert code, f"{path.name} has no code cell"
    assert _source(code[0]).strip() == SETUP_CELL
    # collapsed on the website (Jupyter Book's toggle), still run by the build and in Colab
    assert "hide-cell" in code[0]["metadata"].get("tags", []), f"{path.name}: setup cell not collapsed"


def test_toc_and_chapter_files_agree():
    listed = set(_toc_files(TOC["parts"])) | {TOC["root"]}
    on_disk = {str(p.relative_to(ROOT).with_suffix("")) for p in (ROOT / "chapters").glob("*.*")}
    assert on_disk <= listed, f"chapter files missing from _toc.yml: {sorted(on_disk - listed)}"
    for entry in listed:
        matches = [p for p in (ROOT / f"{entry}.ipynb", ROOT / f"{entry}.md") if p.exists()]
        assert matches, f"_toc.yml lists {entry}, which does not exist"


def test_book_executes_strictly():
    execute = CONFIG["execute"]
    assert execute["execute_notebooks"] == "cache"
    assert execute.get("allow_errors", False) is False
    assert execute["timeout"] > 0
    assert CONFIG["only_build_toc_files"] is True


EXERCISE_LINK = re.compile(
    r"\((https://(?:colab\.research\.google\.com/github|raw\.githubusercontent\.com)/[^)]+?)\)"
)


@pytest.mark.parametrize("path", CHAPTER_NOTEBOOKS, ids=_ids(CHAPTER_NOTEBOOKS))
def test_exercise_links_follow_the_repository(path):
    text = "\n".join(_source(c) for c in _cells(path) if c["cell_type"] == "markdown")
    links = EXERCISE_LINK.findall(text)
    if path.stem == "gpu_lab":
        assert not links
        return
    assert len(links) == 2, f"{path.name} should link its exercise in Colab and as a download: {links}"
    colab = f"https://colab.research.google.com/github/{OWNER_REPO}/blob/{BRANCH}/"
    raw = f"https://raw.githubusercontent.com/{OWNER_REPO}/{BRANCH}/"
    for link in links:
        assert link.startswith((colab, raw)), link
        relative = link.removeprefix(colab).removeprefix(raw)
        assert (ROOT / relative).exists(), f"{path.name} links {relative}, which does not exist"


def test_gpu_sections_carry_the_shared_admonition():
    lab = ROOT / "chapters" / "gpu_lab.ipynb"
    text = "\n".join(_source(c) for c in _cells(lab) if c["cell_type"] == "markdown")
    assert GPU_ADMONITION in text


@functools.cache
def _figure_functions() -> frozenset[str]:
    """Names of the public ``convlab.viz`` functions that return an unmanaged matplotlib Figure."""
    import inspect
    import typing

    from matplotlib.figure import Figure

    import convlab.viz

    names = set()
    for name in getattr(convlab.viz, "__all__", dir(convlab.viz)):
        obj = getattr(convlab.viz, name)
        if inspect.isfunction(obj):
            try:
                if typing.get_type_hints(obj).get("return") is Figure:
                    names.add(name)
            except NameError:
                continue
    return frozenset(names)


def _discarded_figures(source: str, figure_functions: set[str]) -> list[str]:
    """Calls of figure functions whose result is thrown away: a statement of their own that is not
    the cell's last, or ends in a semicolon. Such a figure is never shown (pyplot does not manage
    it), in Jupyter, in Colab or on the website."""
    import ast

    tree = ast.parse(source)
    last = tree.body[-1] if tree.body else None
    silenced = source.rstrip().endswith(";")
    found = []
    for statement in ast.walk(tree):
        # statement blocks (an expression's body, as in a lambda, is not a list)
        fields = (getattr(statement, field, None) for field in ("body", "orelse", "finalbody"))
        block = [n for nodes in fields if isinstance(nodes, list) for n in nodes]
        for node in block:
            if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)):
                continue
            func = node.value.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            if name in figure_functions and (node is not last or silenced):
                found.append(f"line {node.lineno}: {name}(...)")
    return found


def test_discarded_figure_is_detected():
    functions = {"show_segmentation"}
    assert _discarded_figures("show_segmentation(x)\nplt.show()", functions) == [
        "line 1: show_segmentation(...)"
    ]
    assert _discarded_figures("for i in r:\n    show_segmentation(x)", functions)
    assert _discarded_figures("show_segmentation(x);", functions)
    assert not _discarded_figures("y = 1\nshow_segmentation(x)", functions)
    assert not _discarded_figures("fig = show_segmentation(x)\nfig", functions)
    assert _discarded_figures("if a:\n    pass\nelse:\n    show_segmentation(x)\ny = 1", functions)


AUTHORED_NOTEBOOKS = CHAPTER_NOTEBOOKS + sorted((ROOT / "exercises" / "source").glob("*/*.ipynb"))


@pytest.mark.parametrize("path", AUTHORED_NOTEBOOKS, ids=_ids(AUTHORED_NOTEBOOKS))
def test_every_figure_a_cell_makes_is_shown(path):
    functions = _figure_functions()
    assert "show_segmentation" in functions and "compare_predictions" in functions
    problems = []
    for index, cell in enumerate(_cells(path)):
        if cell["cell_type"] != "code":
            continue
        source = _source(cell)
        if source.lstrip().startswith(("%", "!")):
            continue
        try:
            found = _discarded_figures(source, functions)
        except SyntaxError:  # an exercise's template with a placeholder
            continue
        problems += [f"cell {index}, {f}" for f in found]
    assert not problems, problems
