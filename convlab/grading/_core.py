"""The machinery every check shares: cases, comparison, messages, diagnoses, shortcut blocking, seeds.

A check (``check_convolve1d`` and friends) builds a list of :class:`Case` objects, computes the
expected output of each with the course's reference implementation *before* the student's function
runs (on copies of the inputs), then calls the student's function on fresh copies while the
library versions of the operation are switched off (:func:`blocking_shortcuts`), and finally
compares, in float64, with a norm-relative tolerance. When a result is wrong, each
:class:`Misconception` of the exercise is computed on the same inputs; if the student's output
equals one of them, its hint goes into the message.

Nothing here trusts what a notebook can change cheaply: the NumPy functions used for comparing
and printing are private references taken when this module is imported (the exercise notebooks
import :mod:`convlab.grading` in their imports cell, before any solution cell runs), and the
reference implementations are checked to come from the installed :mod:`convlab` package.
"""

from __future__ import annotations

import builtins
import copy
import functools
import importlib
import math
import os
import sys
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "SEED_ENV",
    "CheckFailure",
    "ShortcutError",
    "Case",
    "Misconception",
    "resolve_seed",
    "case_rng",
    "run_check",
    "blocking_shortcuts",
    "trusted_reference",
    "reference",
]

#: Environment variable that pins the seed of the randomised (hidden) cases for a reproducible re-grade.
SEED_ENV = "CONVLAB_GRADING_SEED"

# Private references, taken before any student cell runs (see the module docstring).
_asarray = np.asarray
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
_urandom = os.urandom
_environ_get = os.environ.get
_crc32 = zlib.crc32
_default_rng = np.random.default_rng
_deepcopy = copy.deepcopy
_CONVLAB_DIR = Path(__file__).resolve().parent.parent

_MAX_PRINTED = 64  # arrays with more elements are summarised in messages


class CheckFailure(AssertionError):
    """Raised by a ``check_*`` function when the student's function is wrong; the message says why."""


class ShortcutError(CheckFailure):
    """Raised when the function under check calls a library implementation of the operation."""


# --------------------------------------------------------------------------- cases and seeds


@dataclass
class Case:
    """One call of the exercise function.

    ``args``/``kwargs`` are passed as given (copied first); ``raises`` names the exception the
    reference raises for this input (the student's function must raise the same kind).
    ``random`` marks cases drawn from the seeded generator.
    """

    args: tuple
    kwargs: dict = field(default_factory=dict)
    raises: type[BaseException] | None = None
    random: bool = False


@dataclass
class Misconception:
    """A known mistake: ``compute`` takes the case's arguments and returns what the mistake gives.

    ``applies`` can restrict the diagnosis to some cases (for example, even kernels only).
    """

    hint: str
    compute: Callable[..., Any]
    applies: Callable[..., bool] | None = None


def resolve_seed(seed: int | None = None) -> int:
    """The seed of the randomised cases: ``seed`` if given, else ``$CONVLAB_GRADING_SEED``, else fresh.

    Examples
    --------
    >>> resolve_seed(7)
    7
    """
    if seed is not None:
        return int(seed)
    pinned = _environ_get(SEED_ENV, "").strip()
    if pinned:
        try:
            return int(pinned)
        except ValueError:
            raise ValueError(f"`{SEED_ENV}` must be an integer; got {SEED_ENV}={pinned!r}") from None
    return int.from_bytes(_urandom(4), "little")


def case_rng(seed: int, name: str) -> np.random.Generator:
    """A generator for the random cases of one check: each check draws its own stream from one seed."""
    return _default_rng([seed, _crc32(name.encode())])


def trusted_reference(module: str, name: str) -> Callable:
    """Return ``module.name`` after making sure it is the installed package's own function.

    A notebook could replace ``convlab.signal.convolve1d`` with its own function, which would then
    agree with itself; this refuses any reference whose code does not live in the package.
    """
    obj = getattr(importlib.import_module(module), name)
    target = obj.__init__ if isinstance(obj, type) else obj
    code = getattr(target, "__code__", None)
    if code is None or not Path(code.co_filename).resolve().is_relative_to(_CONVLAB_DIR):
        raise CheckFailure(
            f"the reference `{module}.{name}` has been replaced in this session; restart the kernel "
            "and run the notebook again from the top"
        )
    return obj


def reference(module: str, name: str) -> Callable:
    """A callable that runs the trusted reference ``module.name`` (resolved at call time)."""

    def call(*args, **kwargs):
        return trusted_reference(module, name)(*args, **kwargs)

    call.__name__ = name
    return call


# --------------------------------------------------------------------------- shortcut blocking

# Library implementations of the exercises' operations. Any that is imported when a check runs is
# switched off for the duration of the student's call, wherever a module or the notebook holds it.
_LIBRARY_SHORTCUTS: dict[str, tuple[str, ...]] = {
    "numpy": ("convolve", "correlate", "polymul"),
    "numpy.lib.polynomial": ("polymul",),
    "scipy.signal": (
        "convolve",
        "correlate",
        "convolve2d",
        "correlate2d",
        "fftconvolve",
        "oaconvolve",
        "lfilter",
        "upfirdn",
        "resample",
        "resample_poly",
    ),
    "scipy.ndimage": ("convolve", "correlate", "convolve1d", "correlate1d", "zoom", "map_coordinates"),
    "torch": (
        "conv1d",
        "conv2d",
        "conv3d",
        "conv_transpose1d",
        "conv_transpose2d",
        "conv_transpose3d",
        "convolution",
        "pixel_shuffle",
        "pixel_unshuffle",
        "max_unpool2d",
        "conv_tbc",
    ),
    "torch.nn.functional": (
        "conv1d",
        "conv2d",
        "conv3d",
        "conv_transpose1d",
        "conv_transpose2d",
        "conv_transpose3d",
        "interpolate",
        "upsample",
        "upsample_bilinear",
        "upsample_nearest",
        "grid_sample",
        "pixel_shuffle",
        "pixel_unshuffle",
        "max_unpool1d",
        "max_unpool2d",
        "max_unpool3d",
        "unfold",
        "fold",
    ),
    "torch._C._nn": (
        "upsample_bilinear2d",
        "upsample_nearest2d",
        "upsample_bicubic2d",
        "max_unpool2d",
        "im2col",
        "col2im",
    ),
    "torch.nn.grad": ("conv1d_input", "conv1d_weight", "conv2d_input", "conv2d_weight"),
}

# The course's own references: every public function of these modules.
_CONVLAB_MODULES = (
    "convlab.signal",
    "convlab.functional",
    "convlab.arithmetic",
    "convlab.matrix",
    "convlab.autograd",
    "convlab.transposed",
    "convlab.upsample",
    "convlab.fcn",
    "convlab.metrics",
)

# Extra library functions blocked by single checks (autograd for the backward pass, for example),
# as (importable module, attribute path) pairs; attributes of classes are patched on the class.
AUTOGRAD_SHORTCUTS = (
    ("torch.autograd", "grad"),
    ("torch.autograd", "backward"),
    ("torch", "Tensor.backward"),
    ("torch.func", "vjp"),
    ("torch.func", "grad"),
    ("torch.func", "jacrev"),
)


def _resolve(module: str, path: str) -> tuple[object, str, object] | None:
    """(owner, attribute, value) for ``module.path``, or None when it is not available."""
    mod = sys.modules.get(module)
    if mod is None:
        return None
    owner: object = mod
    *parents, attr = path.split(".")
    for parent in parents:
        owner = getattr(owner, parent, None)
        if owner is None:
            return None
    value = getattr(owner, attr, None)
    return None if value is None else (owner, attr, value)


def preload() -> None:
    """Import torch and the course's reference modules now, so that the first check is quick and
    the references are the package's own before any notebook cell can touch them."""
    for name in ("torch", *_CONVLAB_MODULES):
        try:
            importlib.import_module(name)
        except ImportError:  # a reference module not written yet
            continue


def _shortcut_targets(extra: Sequence[tuple[str, str]]) -> dict[int, tuple[str, object, list]]:
    """Map id(original) -> (qualified name, original, [(owner, attr)] where it is found by name)."""
    preload()
    targets: dict[int, tuple[str, object, list]] = {}
    specs = [(m, a) for m, attrs in _LIBRARY_SHORTCUTS.items() for a in attrs]
    for name in _CONVLAB_MODULES:
        mod = sys.modules.get(name)
        specs += [(name, a) for a in getattr(mod, "__all__", ())] if mod else []
    for module, path in [*specs, *extra]:
        found = _resolve(module, path)
        if found is None or not callable(found[2]):
            continue
        owner, attr, value = found
        entry = targets.setdefault(id(value), (f"{module}.{path}", value, []))
        entry[2].append((owner, attr))  # patched by name too: lazily loaded attributes miss the scan
    return targets


class _Monitor:
    """Records the blocked functions the student's code called (even if it caught the error)."""

    def __init__(self, exercise: str) -> None:
        self.exercise = exercise
        self.called: list[str] = []

    def sentinel(self, qualname: str) -> Callable:
        def blocked(*args, **kwargs):
            self.called.append(qualname)
            raise ShortcutError(_shortcut_message(self.exercise, qualname))

        blocked.__name__ = qualname.rsplit(".", 1)[-1]
        blocked.__qualname__ = blocked.__name__
        return blocked


def _shortcut_message(exercise: str, qualname: str) -> str:
    return (
        f"`{exercise}` called `{qualname}` while being checked. The exercise is to implement "
        f"`{exercise}` yourself: library versions of the operation (convlab's references, torch, "
        "scipy.signal/ndimage, numpy.convolve/correlate) are switched off while a check runs."
    )


class blocking_shortcuts:  # noqa: N801 - used as a context manager, reads like a function
    """Context manager: switch the library implementations off while the student's code runs.

    Every module already imported (and the namespace of ``functions``, the student's code) that
    holds one of the blocked functions gets a stand-in that raises :class:`ShortcutError`; the
    originals are put back on exit, also when the code raises. ``monitor.called`` lists the
    blocked functions that were called, so a student's ``try/except`` cannot hide the call.
    """

    def __init__(self, exercise: str, functions: Sequence[object] = (), extra=()) -> None:
        self.exercise = exercise
        self.functions = functions
        self.extra = tuple(extra)
        self.monitor = _Monitor(exercise)
        self._undo: list[tuple[Any, str, object, bool]] = []
        self.targets: dict[int, tuple[str, object, list]] = {}

    def __enter__(self) -> _Monitor:
        self.targets = targets = _shortcut_targets(self.extra)
        sentinels = {key: self.monitor.sentinel(name) for key, (name, _, _) in targets.items()}
        namespaces = [
            vars(m) for m in list(sys.modules.values()) if isinstance(getattr(m, "__dict__", None), dict)
        ]
        for fn in self.functions:
            namespace = getattr(fn, "__globals__", None)
            if isinstance(namespace, dict):
                namespaces.append(namespace)
        try:
            for namespace in namespaces:
                for key, value in list(namespace.items()):
                    sentinel = sentinels.get(id(value))
                    if sentinel is not None and value is targets[id(value)][1]:
                        namespace[key] = sentinel
                        self._undo.append((namespace, key, value, True))
            for key, (_, original, owners) in targets.items():
                for owner, attr in owners:
                    if owner.__dict__.get(attr) is not sentinels[key]:
                        setattr(owner, attr, sentinels[key])
                        self._undo.append((owner, attr, original, False))
            # A library imported *during* the call (``import scipy.signal`` inside the function)
            # is switched off as soon as the import returns.
            self._import = builtins.__import__
            self._late = {m for m in _LIBRARY_SHORTCUTS if m not in sys.modules}
            self._depth = 0
            builtins.__import__ = self._importing
            self._undo.append((builtins, "__import__", self._import, False))
        except BaseException:
            self._restore()
            raise
        return self.monitor

    def _importing(self, name, *args, **kwargs):
        self._depth += 1
        try:
            module = self._import(name, *args, **kwargs)
        finally:
            self._depth -= 1
        if self._depth:  # modules are complete only when the outermost import returns
            return module
        arrived = [m for m in self._late if m in sys.modules]
        for module_name in arrived:
            self._late.discard(module_name)
            owner = sys.modules[module_name]
            for attr in _LIBRARY_SHORTCUTS[module_name]:
                value = getattr(owner, attr, None)
                if callable(value):
                    qualname = f"{module_name}.{attr}"
                    self.targets.setdefault(id(value), (qualname, value, []))
                    setattr(owner, attr, self.monitor.sentinel(qualname))
                    self._undo.append((owner, attr, value, False))
        return module

    def _restore(self) -> None:
        while self._undo:
            holder, key, value, is_dict = self._undo.pop()
            if is_dict:
                holder[key] = value
            else:
                setattr(holder, key, value)

    def __exit__(self, *exc) -> None:
        self._restore()

    def is_blocked(self, fn: object) -> str | None:
        """The qualified name of ``fn`` (or of the function a ``functools.partial`` wraps) if blocked."""
        while isinstance(fn, functools.partial):
            fn = fn.func
        hit = self.targets.get(id(fn))
        return hit[0] if hit is not None and hit[1] is fn else None


# --------------------------------------------------------------------------- comparison


def _tolerance(*values: object) -> float:
    """Norm-relative tolerance: 1e-9 in float64, 1e-5 when float32 (or half) data is involved."""
    for value in values:
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


def _kind(value: object) -> str:
    if _is_torch(value):
        return f"torch.Tensor of shape {tuple(value.shape)}, dtype {value.dtype}"
    if isinstance(value, _ndarray):
        return f"{type(value).__name__} of shape {value.shape}, dtype {value.dtype}"
    if isinstance(value, tuple | list):
        return f"{type(value).__name__} of length {len(value)}"
    return type(value).__name__


def format_value(value: object, indent: str = "    ") -> str:
    """A short printable form: small arrays in full, large ones by shape and a few statistics."""
    if _is_torch(value) or isinstance(value, _ndarray):
        arr = _to_float64(value) if not (isinstance(value, _ndarray) and value.dtype.kind in "iub") else value
        if arr.size <= _MAX_PRINTED:
            text = _array2string(arr, precision=4, suppress_small=True, max_line_width=100)
        else:
            flat = _to_float64(arr).ravel()
            text = (
                f"(too large to print: {arr.size} values; first ones {_array2string(flat[:6], precision=4)})"
            )
        return indent + text.replace("\n", "\n" + indent)
    return indent + repr(value)


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


class _Mismatch(Exception):
    """Internal: a comparison that failed, with the lines describing why."""

    def __init__(self, lines: list[str], close_enough_shape: bool = False) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


def compare(got: object, expected: object, *, what: str = "output", tol: float | None = None) -> None:
    """Raise :class:`_Mismatch` unless ``got`` equals ``expected`` (type, shape, dtype, then values)."""
    if isinstance(expected, tuple):
        if not isinstance(got, tuple | list) or len(got) != len(expected):
            raise _Mismatch(
                [f"expected a tuple of {len(expected)} values; received {_kind(got)}: {got!r}"[:400]]
            )
        for i, (g, e) in enumerate(zip(got, expected, strict=True)):
            compare(g, e, what=f"{what}[{i}]", tol=tol)
        return
    if isinstance(expected, bool | int | _integer) and not isinstance(expected, bool | _bool_):
        if not (type(got) is int or isinstance(got, _integer)):
            raise _Mismatch([f"{what}: expected an integer ({expected}); received {_kind(got)}: {got!r}"])
        if int(got) != int(expected):
            raise _Mismatch([f"{what}: expected {int(expected)}; received {int(got)}"])
        return
    if isinstance(expected, float | _floating):
        if not (type(got) in (float, int) or isinstance(got, _floating | _integer)):
            raise _Mismatch([f"{what}: expected a float ({float(expected):.6g}); received {_kind(got)}"])
        tol = 1e-9 if tol is None else tol
        g, e = float(got), float(expected)
        if not math.isfinite(g) or abs(g - e) > tol * max(abs(e), 1e-12):
            raise _Mismatch([f"{what}: expected {e:.10g}; received {g:.10g} (relative tolerance {tol:g})"])
        return
    # arrays: numpy or torch, matching the reference's library, shape and dtype
    want_torch = _is_torch(expected)
    if want_torch and not _is_torch(got):
        raise _Mismatch([f"{what}: expected a torch.Tensor; received {_kind(got)}"])
    if not want_torch and type(got) is not _ndarray:
        raise _Mismatch([f"{what}: expected a numpy.ndarray; received {_kind(got)}"])
    if tuple(got.shape) != tuple(expected.shape):
        raise _Mismatch(
            [
                f"{what}: expected shape {tuple(expected.shape)}; received shape {tuple(got.shape)}",
                "expected:",
                format_value(expected),
                "received:",
                format_value(got),
            ]
        )
    if got.dtype != expected.dtype:
        raise _Mismatch([f"{what}: expected dtype {expected.dtype}; received dtype {got.dtype}"])
    tol = _tolerance(expected) if tol is None else tol
    g = _to_float64(got)
    if not bool(_all(_isfinite(g))):
        raise _Mismatch([f"{what} contains NaN or infinity:", format_value(got)])
    err = relative_error(g, expected)
    if err > tol:
        e = _to_float64(expected)
        worst = _unravel_index(int(_argmax(_abs(g - e))), e.shape) if e.size else ()
        raise _Mismatch(
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


def _matches(got: object, candidate: object, tol: float | None) -> bool:
    try:
        compare(got, candidate, tol=tol)
    except _Mismatch:
        return False
    except Exception:
        return False
    return True


def _unchanged(before: object, after: object) -> bool:
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
        return a.keys() == b.keys() and all(_unchanged(a[k], b[k]) for k in a)
    if isinstance(before, dict):
        return (
            isinstance(after, dict)
            and before.keys() == after.keys()
            and all(_unchanged(before[k], after[k]) for k in before)
        )
    if isinstance(before, tuple | list):
        return len(before) == len(after) and all(_unchanged(x, y) for x, y in zip(before, after, strict=True))
    return bool(before == after)


# --------------------------------------------------------------------------- running a check


def _describe_case(names: Sequence[str], case: Case) -> list[str]:
    lines = []
    for name, value in zip(names, case.args, strict=False):
        lines.append(_describe_arg(name, value))
    lines += [_describe_arg(k, v) for k, v in case.kwargs.items()]
    return lines


def _describe_arg(name: str, value: object) -> str:
    if _is_torch(value) or isinstance(value, _ndarray):
        return f"  {name}: {_kind(value)}\n{format_value(value, '      ')}"
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.nn.Module):
        return f"  {name} = {value!r}"
    return f"  {name} = {value!r}"


def run_check(
    name: str,
    fn: object,
    cases: Sequence[Case],
    reference: Callable,
    *,
    arg_names: Sequence[str],
    misconceptions: Sequence[Misconception] = (),
    evaluate: Callable[[object, Case], object] | None = None,
    tol: float | None = None,
    seed: int | None = None,
    n_random: int = 0,
    extra_blocked: Sequence[tuple[str, str]] = (),
    reference_errors: tuple[type[BaseException], ...] = (),
) -> None:
    """Check ``fn`` on ``cases`` against ``reference``; raise :class:`CheckFailure` on the first wrong one.

    ``evaluate(result, case)`` turns a returned object into comparable values (for example a
    module into its outputs on probe inputs) and may raise ``_Mismatch``; it is applied after the
    shortcut blocking ends. When the reference raises one of ``reference_errors`` for a case,
    the student's function must raise the same kind of exception there.
    """
    if not callable(fn):
        raise CheckFailure(f"check_{name} expects your function `{name}`; got {type(fn).__name__}")
    # 1. expected values, from the reference, on copies, before any student code runs
    expected: list[object] = []
    originals: list[tuple] = []
    for case in cases:
        originals.append(_deepcopy((case.args, case.kwargs)))
        if case.raises is not None:
            expected.append(None)
            continue
        args, kwargs = _deepcopy((case.args, case.kwargs))
        try:
            value = reference(*args, **kwargs)
        except reference_errors as exc:
            case.raises = next(kind for kind in reference_errors if isinstance(exc, kind))
            expected.append(None)
            continue
        expected.append(evaluate(value, case) if evaluate is not None else value)
    # 2. the student's calls, with the library versions switched off
    results: list[tuple[str, object]] = []
    inputs: list[tuple] = []
    blocker = blocking_shortcuts(name, [fn], extra_blocked)
    with blocker as monitor:
        direct = blocker.is_blocked(fn)
        if direct is not None:
            raise ShortcutError(_shortcut_message(name, direct))
        for case in cases:
            args, kwargs = _deepcopy((case.args, case.kwargs))
            inputs.append((args, kwargs))
            try:
                results.append(("ok", fn(*args, **kwargs)))
            except ShortcutError:
                raise
            except Exception as exc:  # the student's error, reported with the case below
                results.append(("raised", exc))
                if case.raises is None or not isinstance(exc, case.raises):
                    break
    if monitor.called:
        raise ShortcutError(_shortcut_message(name, monitor.called[0]))
    # 3. compare, case by case
    n_fixed = sum(not c.random for c in cases)
    for index, (case, (status, got)) in enumerate(zip(cases, results, strict=False)):
        problem = _judge(case, status, got, expected[index], originals[index], inputs[index], evaluate, tol)
        if problem is None:
            continue
        hints = _diagnose(case, status, got, expected[index], misconceptions, evaluate, tol)
        raise CheckFailure(
            _failure_message(
                name, arg_names, case, index, n_fixed, len(cases), problem, hints, seed, n_random
            )
        )
    if n_random:
        print(f"✔ {name} passed {n_fixed} fixed and {len(cases) - n_fixed} random cases (seed {seed})")
    else:
        print(f"✔ {name} passed {len(cases)} cases")


def _judge(case, status, got, expected, original, used, evaluate, tol) -> list[str] | None:
    if status == "raised":
        if case.raises is not None and isinstance(got, case.raises):
            pass
        elif isinstance(got, NotImplementedError):
            return ["your function raised NotImplementedError: it is not written yet."]
        elif case.raises is not None:
            return [
                f"expected {case.raises.__name__} for this input; "
                f"your function raised {type(got).__name__}: {got}"
            ]
        else:
            return [f"your function raised {type(got).__name__}: {got}"]
    elif case.raises is not None:
        return [
            f"these arguments have no valid answer: expected your function to raise "
            f"{case.raises.__name__}; it returned {_kind(got)}"
        ]
    if not _unchanged(original, used):
        return ["your function modified its input arrays; compute the result in a new array instead."]
    if status == "raised":
        return None
    try:
        value = evaluate(got, case) if evaluate is not None else got
        compare(value, expected, tol=tol)
    except _Mismatch as mismatch:
        return mismatch.lines
    return None


def _diagnose(case, status, got, expected, misconceptions, evaluate, tol) -> list[str]:
    if status != "ok":
        return []
    try:
        value = evaluate(got, case) if evaluate is not None else got
    except Exception:
        return []
    hints = []
    for m in misconceptions:
        try:
            if m.applies is not None and not m.applies(*case.args, **case.kwargs):
                continue
            args, kwargs = _deepcopy((case.args, case.kwargs))
            wrong = m.compute(*args, **kwargs)
            if evaluate is not None:
                wrong = evaluate(wrong, case)
        except Exception:
            continue
        if _matches(value, wrong, tol) and not _matches(expected, wrong, tol):
            hints.append(m.hint)
    return hints


def _failure_message(name, arg_names, case, index, n_fixed, n_cases, problem, hints, seed, n_random) -> str:
    if case.random:
        where = (
            f"random case {index - n_fixed + 1} of {n_cases - n_fixed} (seed {seed}; reproduce with "
            f"check_{name}({name}, n_random={n_random}, seed={seed}))"
        )
    else:
        where = f"case {index + 1} of {n_fixed}"
    lines = [f"`{name}` failed on {where}:", *_describe_case(arg_names, case)]
    lines += ["  " + line.replace("\n", "\n  ") for line in problem]
    lines += [f"Diagnosis: {hint}" for hint in hints]
    return "\n".join(lines)
