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
import sys

import numpy as np

__all__ = [
    "CheckFailure",
    "ShortcutError",
    "Mismatch",
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

_MAX_PRINTED = 64  # arrays with more elements are summarised in messages


class CheckFailure(AssertionError):
    """Raised by a ``check_*`` function when the student's function is wrong; the message says why."""


class ShortcutError(CheckFailure):
    """Raised when the function under check calls a library implementation of the operation."""


class Mismatch(Exception):
    """A comparison that failed, with the lines describing why."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


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


def format_value(value: object, indent: str = "    ") -> str:
    """A short printable form: small arrays in full, large ones by size and their first values.

    A large array is never copied (it may be a broadcast view of billions of elements).
    """
    try:
        if _is_torch(value) or isinstance(value, _ndarray):
            size = int(value.numel()) if _is_torch(value) else int(value.size)
            if size <= _MAX_PRINTED:
                exact = isinstance(value, _ndarray) and value.dtype.kind in "iub"
                arr = value if exact else _to_float64(value)
                text = _array2string(arr, precision=4, suppress_small=True, max_line_width=100)
            else:
                first = _array([float(value[i]) for i in _islice(_ndindex(*value.shape), 6)], dtype=_float64)
                text = f"(too large to print: {size} values; first ones {_array2string(first, precision=4)})"
            return indent + text.replace("\n", "\n" + indent)
    except Exception:
        pass
    return indent + safe_str(value, use_repr=True)


def describe_argument(name: str, value: object) -> str:
    """One argument of a failing case, as the message shows it."""
    if _is_torch(value) or isinstance(value, _ndarray):
        return f"  {name}: {kind(value)}\n{format_value(value, '      ')}"
    return f"  {name} = {value!r}"


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


def _compare_tuple(got, expected: tuple, what: str, tol: float | None) -> None:
    if not isinstance(got, tuple | list) or len(got) != len(expected):
        shown = safe_str(got, 300, use_repr=True)
        raise Mismatch([f"expected a tuple of {len(expected)} values; received {kind(got)}: {shown}"])
    for i, (g, e) in enumerate(zip(got, expected, strict=True)):
        compare(g, e, what=f"{what}[{i}]", tol=tol)


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


def _compare_array(got, expected, what: str, tol: float | None) -> None:
    """Arrays: numpy or torch, matching the reference's library, shape and dtype, then values."""
    want_torch = _is_torch(expected)
    if want_torch and not _is_torch(got):
        raise Mismatch([f"{what}: expected a torch.Tensor; received {kind(got)}"])
    if not want_torch and type(got) is not _ndarray:
        raise Mismatch([f"{what}: expected a numpy.ndarray; received {kind(got)}"])
    if tuple(got.shape) != tuple(expected.shape):
        raise Mismatch(
            [
                f"{what}: expected shape {tuple(expected.shape)}; received shape {tuple(got.shape)}",
                "expected:",
                format_value(expected),
                "received:",
                format_value(got),
            ]
        )
    if got.dtype != expected.dtype:
        raise Mismatch([f"{what}: expected dtype {expected.dtype}; received dtype {got.dtype}"])
    tol = _tolerance(expected) if tol is None else tol
    g = _to_float64(got)
    if not bool(_all(_isfinite(g))):
        raise Mismatch([f"{what} contains NaN or infinity:", format_value(got)])
    err = relative_error(g, expected)
    if err > tol:
        e = _to_float64(expected)
        worst = _unravel_index(int(_argmax(_abs(g - e))), e.shape) if e.size else ()
        raise Mismatch(
            [
                f"{what}: values differ; ‖got − expected‖ / ‖expected‖ = {err:.3g} (tolerance {tol:g})",
                "expected:",
                format_value(expected),
                "received:",
                format_value(got),
                f"largest difference at index {tuple(int(i) for i in worst)}: "
                f"expected {e[worst]:.6g}, received {g[worst]:.6g}",
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
