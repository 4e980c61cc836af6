"""Every public function of convlab has a numpydoc docstring with Parameters, Returns and Examples.

"Public" means named in the ``__all__`` of a module whose name has no leading underscore. The
sections are recognised the way numpydoc recognises them: a title line followed by a line of
dashes of the same length.
"""

import importlib
import inspect
import pkgutil
import re

import pytest

import convlab

# Modules whose docstrings their own maintainers are bringing to this standard (temporary):
# benchmarking's lab_sizes, upsampler_flops and time_call lack Parameters/Returns.
PENDING = ("convlab.grading", "convlab.course", "convlab.benchmarking")


def _public_functions():
    found = []
    for info in pkgutil.walk_packages(convlab.__path__, "convlab."):
        name = info.name
        if any(part.startswith("_") for part in name.split(".")) or name.startswith(PENDING):
            continue
        module = importlib.import_module(name)
        for attr in getattr(module, "__all__", []):
            obj = getattr(module, attr)
            if inspect.isfunction(obj) and obj.__module__ == name:
                found.append(pytest.param(obj, id=f"{name}.{attr}"))
    return found


def _sections(doc: str) -> set[str]:
    lines = inspect.cleandoc(doc).splitlines()
    return {
        lines[n].strip()
        for n in range(len(lines) - 1)
        if lines[n].strip()
        and re.fullmatch(r"-{3,}", lines[n + 1].strip())
        and len(lines[n + 1].strip()) == len(lines[n].strip())
    }


FUNCTIONS = _public_functions()


def test_the_walk_finds_the_api():
    names = {p.id for p in FUNCTIONS}
    assert "convlab.arithmetic.receptive_field" in names
    assert "convlab.functional.conv.conv2d" in names
    assert len(names) > 60


@pytest.mark.parametrize("func", FUNCTIONS)
def test_public_function_has_numpydoc_sections(func):
    doc = func.__doc__
    assert doc, f"{func.__qualname__} has no docstring"
    sections = _sections(doc)
    params = [p for p in inspect.signature(func).parameters.values() if p.name not in ("self", "cls")]
    required = {"Returns", "Examples"} | ({"Parameters"} if params else set())
    missing = required - sections
    assert not missing, f"{func.__module__}.{func.__qualname__} lacks {sorted(missing)}"


def test_section_parser_reads_numpydoc():
    doc = """Summary.

    Parameters
    ----------
    x : int

    Returns
    -------
    int

    Examples
    --------
    >>> 1
    1
    """
    assert _sections(doc) == {"Parameters", "Returns", "Examples"}
    assert _sections("Summary.\n\nReturns\n----\n") == set()  # dashes of the wrong length


_DOLLAR_MATH = re.compile(r"(?<![$\\])\$[^$\s][^$\n]*\$")


def _docstrings():
    """(where, text) of every module, class and function docstring in the package's source."""
    import ast
    from pathlib import Path

    root = Path(convlab.__file__).parent
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                doc = ast.get_docstring(node, clean=False)
                if doc:
                    yield f"{path.relative_to(root)}:{getattr(node, 'lineno', 1)}", doc


def test_docstring_math_is_rst_not_dollars():
    """Sphinx reads docstrings as reStructuredText: ``$x$`` reaches the API page as literal
    dollars (and loses its backslashes); formulas are written ``:math:`x```."""
    found = [f"{where}: {m.group(0)}" for where, doc in _docstrings() for m in _DOLLAR_MATH.finditer(doc)]
    assert not found, "\n".join(found[:20])


def test_dollar_math_is_detected():
    assert _DOLLAR_MATH.search("the loss is $-\\frac{1}{N}$ here")
    assert not _DOLLAR_MATH.search("costs $5 and :math:`x`")
