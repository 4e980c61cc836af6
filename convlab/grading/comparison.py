"""Comparing the student's output with the reference's, and saying what differs.

:func:`compare` checks, in this order, the type (a NumPy array or a torch tensor, as the reference
returns), the shape, the dtype and then the values, in float64 with a norm-relative tolerance
(``‖got − expected‖ / ‖expected‖``: 1e-9 in float64, 1e-5 when float32 data is involved); it
raises :class:`Mismatch` with the lines of the message. :class:`CheckFailure` is what a check
raises: an :class:`AssertionError`, so that nbgrader marks the test cell as failed.

The NumPy functions used here are private references taken when this module is imported (the
exercise notebooks import :mod:`convlab.grading` in their imports cell, before any solution cell
runs), so a notebook that rebinds ``np.array_equal`` cannot change a verdict.
"""

from __future__ import annotations

import itertools
import math
import re
import sys
import textwrap

import numpy as np

__all__ = [
    "CheckFailure",
    "ShortcutError",
    "Mismatch",
    "Shown",
    "MAX_LINES",
    "WIDTH",
    "wrap_line",
    "compare",
    "matches",
    "unchanged",
    "relative_error",
    "format_value",
    "kind",
    "describe_argument",
    "safe_str",
    "type_name",
]

_array = np.array
_float64 = np.float64
_ndarray = np.ndarray
_integer = np.integer
_floating = np.floating
_bool_ = np.bool_
_array2string = np.array2string
_array_equal = np.array_equal
_isfinite = np.isfinite
_all = np.all
_abs = np.abs
_argmax = np.argmax
_unravel_index = np.unravel_index
_sqrt = math.sqrt
_ndindex = np.ndindex
_islice = itertools.islice
_type_name_of = type.__dict__["__name__"].__get__

_MAX_PRINTED = 100_000  # arrays with more elements are shown by their first values only
#: A failure message fits in this many lines of at most WIDTH columns (in IPython and Jupyter).
MAX_LINES = 25
WIDTH = 100


_RED, _RESET = "\x1b[0;31m", "\x1b[0m"
_FAILED_ON = re.compile(r"^`([^`]+)` failed on (.*?):?$")
_wrap = textwrap.wrap


def wrap_line(line: str, width: int = WIDTH) -> list[str]:
    """``line`` cut at spaces into lines of at most ``width`` columns, continuations indented.

    Examples
    --------
    >>> wrap_line("Diagnosis: the bias is missing", width=24)
    ['Diagnosis: the bias is', '           missing']
    """
    if len(line) <= width:
        return [line]
    lead = len(line) - len(line.lstrip(" "))
    extra = len("Diagnosis: ") if line.startswith("Diagnosis: ") else 2
    indent = " " * (lead + extra)
    return _wrap(line, width, initial_indent="", subsequent_indent=indent, break_on_hyphens=False) or [line]


class CheckFailure(AssertionError):
    """Raised by a ``check_*`` function when the student's function is wrong; the message says why.

    ``function`` (the exercise function), ``case`` (the failing case, one line) and ``diagnoses``
    (the known misconceptions that reproduce the student's output, at most two) say it structurally.
    In IPython, Jupyter and Colab it shows as its message alone, without the grader's traceback
    (``_render_traceback_``); it is still an error, so the test cell fails.
    """

    def __init__(
        self,
        message: str = "",
        *,
        function: str | None = None,
        case: str | None = None,
        diagnoses: list[str] | None = None,
    ) -> None:
        super().__init__(message)
        text = message if isinstance(message, str) else ""
        lines = text.splitlines()
        found = _FAILED_ON.match(lines[0]) if lines else None
        self.function = function if function is not None else (found.group(1) if found else "")
        self.case = case if case is not None else (found.group(2) if found else "")
        if diagnoses is None:
            diagnoses = [line[len("Diagnosis: ") :] for line in lines if line.startswith("Diagnosis: ")]
        self.diagnoses = list(diagnoses)

    def _render_traceback_(self) -> list[str]:
        """What IPython shows for this exception: the message, cut to the page, without the frames."""
        try:
            lines = str(self).splitlines() or [""]
            lines[0] = f"{type_name(self)}: {lines[0]}"
            shown = [part for line in lines for part in wrap_line(line)]
            name = type_name(self)
            shown[0] = _RED + name + _RESET + shown[0][len(name) :]
            return shown
        except Exception:  # IPython 9 shows nothing at all when this raises
            return [f"{type_name(self)}: {safe_str(self)}"]


class ShortcutError(CheckFailure):
    """Raised when the function under check calls a library implementation of the operation."""


class Mismatch(Exception):
    """A comparison that failed, with the lines describing why (text, or :class:`Shown` values)."""

    def __init__(self, lines: list) -> None:
        super().__init__()
        self.lines = lines

    def __str__(self) -> str:  # rendered only when asked: matches() raises many of these
        return "\n".join(str(line) for line in self.lines)


def type_name(value: object) -> str:
    """The name of ``value``'s type, whatever that type pretends."""
    try:
        return str(_type_name_of(type(value)))
    except Exception:
        return "object"


def safe_str(value: object, limit: int = 300, use_repr: bool = False) -> str:
    """``str(value)`` (or ``repr``), shortened; a placeholder when that raises."""
    try:
        text = repr(value) if use_repr else str(value)
        if not isinstance(text, str):
            raise TypeError
    except Exception:
        return f"<a {type_name(value)} that cannot be shown>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _tolerance(value: object) -> float:
    """Norm-relative tolerance: 1e-9 in float64, 1e-5 when float32 (or half) data is involved."""
    dtype = getattr(value, "dtype", None)
    if dtype is not None and str(dtype).endswith(("float32", "float16", "bfloat16")):
        return 1e-5
    return 1e-9


def _is_torch(value: object) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(value, torch.Tensor)


def _to_float64(value: object) -> np.ndarray:
    if _is_torch(value):
        value = value.detach().cpu().double().numpy()
    return _array(value, dtype=_float64, copy=True)


def kind(value: object) -> str:
    """``ndarray of shape (3,), dtype float64``, ``tuple of length 2``, ``int``..."""
    if _is_torch(value):
        return f"torch.Tensor of shape {tuple(value.shape)}, dtype {value.dtype}"
    if isinstance(value, _ndarray):
        return f"{type_name(value)} of shape {value.shape}, dtype {value.dtype}"
    if isinstance(value, tuple):
        return f"{type_name(value)} of length {tuple.__len__(value)}"
    if isinstance(value, list):
        return f"{type_name(value)} of length {list.__len__(value)}"
    return type_name(value)


def _is_array(value: object) -> bool:
    return _is_torch(value) or isinstance(value, _ndarray)


def _size(value: object) -> int:
    return int(value.numel()) if _is_torch(value) else int(value.size)


def _first_values(value: object) -> str:
    """The first six values in row-major order, read one by one (a huge view is never copied)."""
    first = _array([float(value[i]) for i in _islice(_ndindex(*value.shape), 6)], dtype=_float64)
    return _array2string(first, precision=4)


def _plane(shape: tuple) -> tuple[int, int]:
    """The two adjacent axes a 3-D or 4-D array is printed by: those whose shorter side is the
    longest (ties: the later pair), so that NCHW arrays print as (H, W) planes, NHWC ones
    (``x[0, :, :, 0]``) and ``(kh, kw, 1, 1)`` filters as theirs too."""
    best = max(range(len(shape) - 1), key=lambda a: (min(shape[a], shape[a + 1]), a))
    return best, best + 1


def _a2s(arr: np.ndarray, width: int, edgeitems: int | None) -> list[str]:
    """numpy's print of a 1-D or 2-D array: in full, or summarised with ``edgeitems`` per side."""
    options = {"precision": 4, "suppress_small": True, "max_line_width": width}
    if edgeitems is None:
        text = _array2string(arr, threshold=10**9, **options)
        rows = arr.shape[0] if arr.ndim == 2 else 1
        if text.count("\n") + 1 <= rows:  # no row wrapped: print it whole
            return text.splitlines()
        edgeitems = 3
    return _array2string(arr, threshold=0, edgeitems=edgeitems, **options).splitlines()


class Shown:
    """A value shown in a failure message, at a level of detail from 0 (all of it) to
    ``LEVELS - 1`` (one line), so that a message can be fitted to :data:`MAX_LINES`.

    Arrays of 3 or more dimensions print as labelled 2-D slices (``x[0, 1]``); below level 0
    only the slice holding ``focus`` (an index, e.g. of the first difference) is printed.

    Examples
    --------
    >>> Shown("x", np.arange(8.0).reshape(1, 2, 2, 2), focus=(0, 1, 0, 0)).render(1)
    ['x[0, 1]:', '    [[4. 5.]', '     [6. 7.]]']
    """

    LEVELS = 4

    def __init__(self, label: str, value: object, *, focus: tuple | None = None, describe: bool = False):
        self.label, self.value, self.focus, self.describe = label, value, focus, describe

    def __str__(self) -> str:
        return "\n".join(self.render(0))

    def render(self, level: int, indent: str = "") -> list[str]:
        try:
            return self._render(level, indent)
        except Exception:
            return [f"{indent}{self.label}: {safe_str(self.value, 200, use_repr=True)}"]

    def _render(self, level: int, indent: str) -> list[str]:
        value = self.value
        head = f"{indent}{self.label}:" + (f" {kind(value)}" if self.describe else "")
        if not _is_array(value):
            return [f"{indent}{self.label} = {safe_str(value, 200, use_repr=True)}"]
        size = _size(value)
        if size > _MAX_PRINTED:
            return [f"{head} (too large to print: {size} values; first ones {_first_values(value)})"]
        exact = isinstance(value, _ndarray) and value.dtype.kind in "iub"
        arr = value if exact else _to_float64(value)
        width = WIDTH - len(indent) - 4
        if arr.ndim == 0 or level >= self.LEVELS - 1:
            flat = _array2string(arr.ravel()[:6], precision=4, suppress_small=True)
            more = "" if size <= 6 else f" (first 6 of {size}, row-major)"
            return [f"{head} {flat}{more}" if arr.ndim else f"{head} {arr}"]
        sep = " = " if self.describe else " "
        if arr.ndim <= 2:
            text = _a2s(arr, width, (None, 3, 2)[level])
            if len(text) == 1 and len(head) + len(sep) + len(text[0]) <= WIDTH:
                return [head + sep + text[0]]
            return [head, *(indent + "    " + line for line in text)]
        rows, cols = _plane(arr.shape)
        other = [a for a in range(arr.ndim) if a not in (rows, cols)]
        positions = list(_ndindex(*(arr.shape[a] for a in other)))
        if level > 0:
            focus = self.focus or (0,) * arr.ndim
            positions = [tuple(focus[a] for a in other)]
        lines = [head] if self.describe else []
        for pos in positions:
            index: list = [slice(None)] * arr.ndim
            for a, i in zip(other, pos, strict=True):
                index[a] = int(i)
            shown = ", ".join(":" if isinstance(i, slice) else str(i) for i in index)
            if cols == arr.ndim - 1:
                shown = ", ".join(str(int(i)) for i in pos)
            name = self.label if not self.describe else "  " + self.label
            lines.append(f"{indent}{name}[{shown}]:")
            lines += [indent + "    " + line for line in _a2s(arr[tuple(index)], width, (None, 3, 2)[level])]
        return lines


def format_value(value: object, indent: str = "    ") -> str:
    """A short printable form: small arrays in full, large ones by size and their first values.

    A large array is never copied (it may be a broadcast view of billions of elements).
    """
    return "\n".join(Shown("value", value).render(1, indent))


def describe_argument(name: str, value: object) -> str:
    """One argument of a failing case, as the message shows it."""
    return "\n".join(Shown(name, value, describe=True).render(0, "  "))


def relative_error(got: object, expected: object) -> float:
    """``‖got − expected‖ / ‖expected‖`` in float64 (``‖got‖`` when ``expected`` is zero).

    Examples
    --------
    >>> relative_error(np.array([1.0, 2.0]), np.array([1.0, 2.0]))
    0.0
    """
    g, e = _to_float64(got), _to_float64(expected)
    den = _sqrt(float((e * e).sum()))
    num = _sqrt(float(((g - e) * (g - e)).sum()))
    return num / den if den > 0 else num


def compare(got: object, expected: object, *, what: str = "output", tol: float | None = None) -> None:
    """Raise :class:`Mismatch` unless ``got`` equals ``expected`` (type, shape, dtype, then values)."""
    if isinstance(expected, tuple):
        _compare_tuple(got, expected, what, tol)
    elif isinstance(expected, bool | int | _integer) and not isinstance(expected, bool | _bool_):
        _compare_int(got, expected, what)
    elif isinstance(expected, float | _floating):
        _compare_float(got, expected, what, tol)
    else:
        _compare_array(got, expected, what, tol)


def _scalar(value: object) -> bool:
    return isinstance(value, int | float | _integer | _floating) and not isinstance(value, bool | _bool_)


def _compare_tuple(got, expected: tuple, what: str, tol: float | None) -> None:
    """Every element is compared and reported, labelled; the right ones in one line each."""
    if not isinstance(got, tuple | list) or len(got) != len(expected):
        raise Mismatch(
            [
                f"{what}: expected a tuple of {len(expected)} values; received {kind(got)}",
                Shown("received", got),
            ]
        )
    problems = []
    for i, (g, e) in enumerate(zip(got, expected, strict=True)):
        try:
            compare(g, e, what=f"{what}[{i}]", tol=tol)
        except Mismatch as mismatch:
            problems.append((i, mismatch.lines))
        else:
            problems.append((i, None))
    if all(lines is None for _, lines in problems):
        return
    if all(_scalar(e) for e in expected):
        shown = "(" + ", ".join(safe_str(g, 40, use_repr=True) for g in got) + ")"
        lines = [f"{what}: expected {tuple(expected)!r}; received {shown}"]
        lines += [line for _, wrong in problems if wrong for line in wrong if "expected an" in str(line)]
        raise Mismatch(lines)
    lines = []
    for i, wrong in problems:
        lines += wrong if wrong else [f"{what}[{i}]: right ({kind(got[i])})"]
    raise Mismatch(lines)


def _compare_int(got, expected, what: str) -> None:
    if not (type(got) is int or isinstance(got, _integer)):
        shown = safe_str(got, 200, use_repr=True)
        raise Mismatch([f"{what}: expected an integer ({expected}); received {kind(got)}: {shown}"])
    if int(got) != int(expected):
        raise Mismatch([f"{what}: expected {int(expected)}; received {int(got)}"])


def _compare_float(got, expected, what: str, tol: float | None) -> None:
    if not (type(got) in (float, int) or isinstance(got, _floating | _integer)):
        raise Mismatch([f"{what}: expected a float ({float(expected):.6g}); received {kind(got)}"])
    tol = 1e-9 if tol is None else tol
    g, e = float(got), float(expected)
    if not math.isfinite(g) or abs(g - e) > tol * max(abs(e), 1e-12):
        raise Mismatch([f"{what}: expected {e:.10g}; received {g:.10g} (relative tolerance {tol:g})"])


def _labels(what: str) -> tuple[str, str]:
    """``expected`` / ``received`` labels for ``output`` or ``output[1]``."""
    suffix = what[len("output") :] if what.startswith("output") else f" {what}"
    return f"expected{suffix}", f"received{suffix}"


def _compare_array(got, expected, what: str, tol: float | None) -> None:
    """Arrays: numpy or torch, matching the reference's library, shape and dtype, then values."""
    want_torch = _is_torch(expected)
    if want_torch and not _is_torch(got):
        raise Mismatch([f"{what}: expected a torch.Tensor; received {kind(got)}"])
    if not want_torch and type(got) is not _ndarray:
        raise Mismatch([f"{what}: expected a numpy.ndarray; received {kind(got)}"])
    e_label, g_label = _labels(what)
    if tuple(got.shape) != tuple(expected.shape):
        raise Mismatch(
            [
                f"{what}: expected shape {tuple(expected.shape)}; received shape {tuple(got.shape)}",
                Shown(e_label, expected),
                Shown(g_label, got),
            ]
        )
    if got.dtype != expected.dtype:
        raise Mismatch([f"{what}: expected dtype {expected.dtype}; received dtype {got.dtype}"])
    tol = _tolerance(expected) if tol is None else tol
    g = _to_float64(got)
    finite = _isfinite(g)
    if not bool(_all(finite)):
        first = tuple(int(i) for i in _unravel_index(int(_argmax(~finite)), g.shape))
        raise Mismatch(
            [
                f"{what} contains NaN or infinity (the first at index {first})",
                Shown(g_label, got, focus=first),
            ]
        )
    err = relative_error(g, expected)
    if err > tol:
        e = _to_float64(expected)
        diff = _abs(g - e)
        scale = float(_abs(e).max()) if e.size else 0.0
        wrong = diff > tol * scale
        count = int(wrong.sum())
        where = int(_argmax(wrong)) if count else int(_argmax(diff))
        index = tuple(int(i) for i in _unravel_index(where, e.shape)) if e.size else ()
        lines = [f"{what}: values differ; ‖got − expected‖ / ‖expected‖ = {err:.3g} (tolerance {tol:g})"]
        if count:  # else a diffuse error: no single value is off by more than the tolerance
            lines.append(f"{count} of {e.size} values are off by more than {tol:g} × max|expected|")
        which = "the first" if count else "the largest difference"
        lines.append(f"{which}, at index {index}: expected {e[index]:.6g}, received {g[index]:.6g}")
        raise Mismatch(
            [
                *lines,
                Shown(e_label, expected, focus=index),
                Shown(g_label, got, focus=index),
            ]
        )


def matches(got: object, candidate: object, tol: float | None = None) -> bool:
    """True when ``got`` equals ``candidate`` as :func:`compare` sees it."""
    try:
        compare(got, candidate, tol=tol)
    except Exception:
        return False
    return True


def unchanged(before: object, after: object) -> bool:
    """True when ``after`` still equals ``before`` (arrays, tensors, modules, containers)."""
    if isinstance(before, _ndarray):
        return (
            isinstance(after, _ndarray)
            and before.shape == after.shape
            and before.dtype == after.dtype
            and bool(_array_equal(before, after, equal_nan=before.dtype.kind in "fc"))
        )
    if _is_torch(before):
        return (
            _is_torch(after)
            and before.shape == after.shape
            and before.dtype == after.dtype
            and bool(_array_equal(_to_float64(before), _to_float64(after), equal_nan=True))
        )
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(before, torch.nn.Module):
        a, b = before.state_dict(), after.state_dict()
        return a.keys() == b.keys() and all(unchanged(a[k], b[k]) for k in a)
    if isinstance(before, dict):
        return (
            isinstance(after, dict)
            and before.keys() == after.keys()
            and all(unchanged(before[k], after[k]) for k in before)
        )
    if isinstance(before, tuple | list):
        return len(before) == len(after) and all(unchanged(x, y) for x, y in zip(before, after, strict=True))
    return bool(before == after)
