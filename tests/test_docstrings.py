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
