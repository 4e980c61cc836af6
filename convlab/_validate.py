"""Argument checks shared by every public function of :mod:`convlab`.

Each helper raises :class:`TypeError` for a value of the wrong kind and :class:`ValueError`
for a value of the right kind that breaks a rule. Messages name the argument in backticks,
state the rule and show the value received, e.g.
``"`stride` must be a positive integer; got stride=0"``.
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Iterable, Sequence

import numpy as np

__all__: list[str] = []  # private module: nothing is re-exported

IntPair = int | tuple[int, int]


def _is_int(value: object) -> bool:
    """True for Python and NumPy integers, False for bools and everything else."""
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def check_int(value: object, name: str, *, minimum: int | None = None) -> int:
    """Return ``value`` as an ``int``, rejecting bools, floats and values below ``minimum``."""
    if not _is_int(value):
        raise TypeError(f"`{name}` must be an integer; got {name}={value!r} ({type(value).__name__})")
    value = int(value)
    if minimum is not None and value < minimum:
        rule = {0: "a non-negative integer", 1: "a positive integer"}.get(minimum, f"an integer >= {minimum}")
        raise ValueError(f"`{name}` must be {rule}; got {name}={value}")
    return value


def check_positive(value: object, name: str) -> int:
    """An integer >= 1."""
    return check_int(value, name, minimum=1)


def check_nonnegative(value: object, name: str) -> int:
    """An integer >= 0."""
    return check_int(value, name, minimum=0)


def _tuple(value: object, name: str, n: int, *, minimum: int | None) -> tuple[int, ...]:
    if _is_int(value):
        return (check_int(value, name, minimum=minimum),) * n
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise TypeError(f"`{name}` must be an integer or a sequence of {n} integers; got {name}={value!r}")
    items = tuple(value)
    if len(items) != n:
        raise ValueError(
            f"`{name}` must be an integer or a sequence of {n} integers; "
            f"got {name}={value!r} with {len(items)} entries"
        )
    for item in items:
        if not _is_int(item):
            raise TypeError(f"`{name}` must contain integers only; got {name}={value!r}")
    values = tuple(int(v) for v in items)
    if minimum is not None and min(values) < minimum:
        rule = {0: "non-negative", 1: "positive"}.get(minimum, f">= {minimum}")
        raise ValueError(f"every entry of `{name}` must be {rule}; got {name}={value!r}")
    return values


def _pair(value: object, name: str, *, minimum: int | None = 1) -> tuple[int, int]:
    """``3 -> (3, 3)``; ``(2, 3) -> (2, 3)``; entries must be integers >= ``minimum``."""
    return _tuple(value, name, 2, minimum=minimum)  # type: ignore[return-value]


def _single(value: object, name: str, *, minimum: int | None = 1) -> tuple[int]:
    """``3 -> (3,)``; ``(3,) -> (3,)``: the 1-D counterpart of :func:`_pair`."""
    return _tuple(value, name, 1, minimum=minimum)  # type: ignore[return-value]


def _ntuple(value: object, name: str, n: int, *, minimum: int | None = 1) -> tuple[int, ...]:
    """``value`` as ``n`` integers >= ``minimum`` (``n`` = number of spatial dimensions)."""
    return _tuple(value, name, n, minimum=minimum)


def check_array(
    value: object,
    name: str,
    *,
    ndim: int | Sequence[int] | None = None,
    floating: bool = False,
    allow_empty: bool = False,
) -> np.ndarray:
    """Return ``value`` as a numeric :class:`numpy.ndarray` (no copy when it already is one).

    ``ndim`` is the required number of dimensions (one int or several allowed). With
    ``floating=True``, integer and boolean inputs are promoted to float64 while float16/32/64
    keep their dtype, which is how the :mod:`convlab.functional` operators preserve dtype.
    """
    if isinstance(value, (str, bytes)) or value is None:
        raise TypeError(f"`{name}` must be an array of numbers; got {type(value).__name__}")
    try:
        arr = np.asarray(value)
    except Exception as exc:  # ragged lists and the like
        raise TypeError(f"`{name}` must be an array of numbers; could not convert it ({exc})") from None
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        raise TypeError(f"`{name}` must be an array of numbers; got dtype {arr.dtype}")
    if np.iscomplexobj(arr):
        raise TypeError(f"`{name}` must be real-valued; got dtype {arr.dtype}")
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in allowed:
            want = " or ".join(str(a) for a in allowed)
            raise ValueError(f"`{name}` must be {want}-dimensional; got shape {arr.shape} ({arr.ndim}-D)")
    if not allow_empty and arr.size == 0:
        raise ValueError(f"`{name}` must not be empty; got shape {arr.shape}")
    if floating and not np.issubdtype(arr.dtype, np.floating):
        arr = arr.astype(np.float64)
    return arr


def check_choice(value: object, name: str, choices: Sequence[object]) -> object:
    """``value`` must be one of ``choices`` (compared with ``==``)."""
    if isinstance(value, (list, dict, set, np.ndarray)) or value not in choices:
        options = ", ".join(repr(c) for c in choices)
        raise ValueError(f"`{name}` must be one of {options}; got {name}={value!r}")
    return value


def result_dtype(*arrays: np.ndarray) -> np.dtype:
    """The floating dtype of an operator's output: float32 in, float32 out (like torch)."""
    return np.result_type(*arrays, np.float16)  # float16 floor keeps ints -> float64 via promotion


def _memory_limit() -> int:
    """Bytes of physical memory of this machine (the ceiling of :func:`check_allocation`)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):  # no sysconf (Windows): no up-front ceiling
        return 1 << 62


def check_allocation(shape: Sequence[int], itemsize: int, what: str) -> None:
    """Refuse up front an array larger than this machine's physical memory.

    ``what`` names the array and the arguments that size it, e.g.
    ``"the output of `input_size`=2000 and `weight` of shape (3, 3)"``. The byte count is
    computed with Python integers, so an extreme argument gives this ``ValueError`` rather than
    an ``OverflowError`` or ``MemoryError`` from NumPy.
    """
    count = 1
    for n in shape:
        count *= int(n)
    size = count * int(itemsize)
    limit = _memory_limit()
    if size > limit:
        raise ValueError(
            f"{what} would have shape {tuple(int(n) for n in shape)}: {_bytes(size)}, more than the "
            f"{_bytes(limit)} of memory of this machine"
        )


def _bytes(n: int) -> str:
    """``n`` bytes in binary units, e.g. ``'116.4 TiB'``."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"):
        if n < 1024 or unit == "EiB":
            return f"{n} B" if unit == "B" else f"{n:.4g} {unit}"
        n /= 1024  # type: ignore[assignment]
    return f"{n} B"  # pragma: no cover
