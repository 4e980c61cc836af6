"""Keeping the library out of the student's function, and the student's function out of the grader.

While the student's function runs, a profile hook (:class:`Watch`, ``sys.setprofile``) sees every
Python and C function it calls, by identity, however it was reached (an alias, a closure, a default
argument, ``functools.partial``, a callable object, a dict entry, a private entry point such as
``torch.ops.aten.conv2d`` or NumPy's ``multiarray.correlate``). A call of a library version of the
operation (convlab's references, torch, scipy.signal/ndimage, numpy's convolve) makes the check fail
with :class:`~convlab.grading.comparison.ShortcutError`.

The grader keeps its own functions out of reach: when :mod:`convlab.grading` is imported (before
any solution cell runs), :func:`protect` records the functions of the grader, of the references and
of NumPy, torch and the builtins; every check verifies them before it starts and after the
student's function ran (:func:`tampered`), and refuses to judge when one was replaced.
"""

from __future__ import annotations

import builtins
import functools
import importlib
import re
import sys
import threading
import types
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from convlab.grading.comparison import CheckFailure, type_name

__all__ = [
    "AUTOGRAD_SHORTCUTS",
    "Watch",
    "preload",
    "protect",
    "reference",
    "shortcut_message",
    "tampered",
    "trusted_reference",
]

_CONVLAB_DIR = Path(__file__).resolve().parent.parent
_setprofile, _getprofile = sys.setprofile, sys.getprofile
_threading_setprofile = threading.setprofile
_modules = sys.modules


def trusted_reference(module: str, name: str) -> Callable:
    """Return ``module.name`` after making sure it is the installed package's own function.

    A notebook could replace ``convlab.signal.convolve1d`` with its own function, which would then
    agree with itself; this refuses any reference whose code does not live in the package.
    """
    obj = getattr(importlib.import_module(module), name)
    target = obj.__init__ if isinstance(obj, type) else obj
    code = getattr(target, "__code__", None)
    if code is None or not Path(code.co_filename).resolve().is_relative_to(_CONVLAB_DIR):
        raise CheckFailure(_replaced(f"the reference `{module}.{name}`"))
    return obj


def _replaced(what: str) -> str:
    return (
        f"{what} has been replaced in this session; restart the kernel and run the notebook again "
        "from the top"
    )


def reference(module: str, name: str, adapt: Callable | None = None) -> Callable:
    """A callable that runs the trusted reference ``module.name`` (resolved at call time).

    ``adapt(ref, *args)`` maps the exercise's arguments onto the reference's, when they differ.
    """

    def call(*args, **kwargs):
        ref = trusted_reference(module, name)
        return ref(*args, **kwargs) if adapt is None else adapt(ref, *args, **kwargs)

    call.__name__ = name
    call.__qualname__ = f"{module}.{name}"
    return call


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
    # private entry points the public ones end in
    "numpy._core.multiarray": ("correlate", "correlate2"),
    "numpy.core.multiarray": ("correlate", "correlate2"),
    "scipy.signal._sigtools": ("_convolve2d", "_correlateND"),
    "scipy.ndimage._nd_image": ("correlate", "correlate1d", "zoom_shift", "geometric_transform"),
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
# as (importable module, attribute path) pairs.
AUTOGRAD_SHORTCUTS = (
    ("torch.autograd.graph", "_engine_run_backward"),
    ("torch.autograd", "grad"),
    ("torch.autograd", "backward"),
    ("torch", "Tensor.backward"),
    ("torch.func", "vjp"),
    ("torch.func", "grad"),
    ("torch.func", "jacrev"),
)


# torch's private entry points, by name (torch._C._VariableFunctions, torch._C._nn, torch.ops.aten).
_TORCH_PATTERN = re.compile(
    r"(^|_)conv(olution|_|\d|$)|upsample|unpool|pixel_(un)?shuffle|im2col|col2im|grid_sampler"
)
_TORCH_OP = "torch.ops"  # marks the code of OpOverload(Packet).__call__: the op's name decides


def _resolve(module: str, path: str) -> object | None:
    owner: object = _modules.get(module)
    for part in path.split("."):
        owner = getattr(owner, part, None)
    return owner


def preload() -> None:
    """Import torch and the course's reference modules now, so that the first check is quick and
    the references are the package's own before any notebook cell can touch them."""
    for name in ("torch", *_CONVLAB_MODULES):
        try:
            importlib.import_module(name)
        except ImportError:  # a reference module not written yet
            continue


class _Targets:
    """The functions that count as shortcuts: Python ones by code object, C ones by identity."""

    def __init__(self, extra: Sequence[tuple[str, str]]) -> None:
        self.codes: dict[types.CodeType, str] = {}
        self.c_functions: dict[int, tuple[object, str]] = {}
        self.extra, self.seen_modules, self.n_modules = tuple(extra), set(), -1
        self.refresh()

    def refresh(self) -> None:
        """Scan the modules imported since the last scan (a library imported by the student's code)."""
        self.n_modules = len(_modules)
        specs = [*((m, a) for m, attrs in _LIBRARY_SHORTCUTS.items() for a in attrs), *self.extra]
        for name in _CONVLAB_MODULES:
            specs += [(name, a) for a in getattr(_modules.get(name), "__all__", ())]
        for module, path in specs:
            if module in _modules and (module, path) not in self.seen_modules:
                found = _resolve(module, path)
                if found is not None:  # else not there yet (a module being imported): next time
                    self.seen_modules.add((module, path))
                    self.add(found, f"{module}.{path}")
        torch_c = getattr(_modules.get("torch"), "_C", None)
        if torch_c is not None and "torch" not in self.seen_modules:
            self.seen_modules.add("torch")
            for owner in (torch_c._VariableFunctions, torch_c._nn):
                for name in dir(owner):
                    if _TORCH_PATTERN.search(name):
                        self.add(getattr(owner, name, None), f"torch.{name}")
            ops = _modules.get("torch._ops")
            for cls in (getattr(ops, "OpOverloadPacket", None), getattr(ops, "OpOverload", None)):
                code = getattr(vars(cls).get("__call__") if cls else None, "__code__", None)
                if code is not None:
                    self.codes[code] = _TORCH_OP

    def add(self, obj: object, name: str) -> None:
        while isinstance(obj, functools.partial):
            obj = obj.func
        if obj is None:
            return
        if isinstance(obj, types.BuiltinFunctionType):
            self.c_functions.setdefault(id(obj), (obj, name))
            return
        if isinstance(obj, type):
            for attr in ("__init__", "__call__", "forward"):
                self.add(obj.__dict__.get(attr), name)
            return
        code = getattr(obj, "__code__", None)
        if isinstance(code, types.CodeType):
            self.codes.setdefault(code, name)
        wrapped = getattr(obj, "__wrapped__", None)
        if wrapped is not None and wrapped is not obj:
            self.add(wrapped, name)


_GLOBALS = globals()  # the grader's own calls of sys.setprofile come from here
_TAMPERING = {id(_setprofile): "sys.setprofile", id(_threading_setprofile): "threading.setprofile"}


class OutOfTime(BaseException):
    """Raised inside the student's function when its time budget is spent (not an ``Exception``,
    so that ``except Exception`` in the student's code does not swallow it)."""


class Watch:
    """Context manager: watch what the student's function calls (see the module docstring).

    ``found`` is the name of the first library implementation it called (or None); ``tampering``
    names what it did to switch the watch off.
    """

    def __init__(self, extra: Sequence[tuple[str, str]] = ()) -> None:
        self.targets = _Targets(extra)
        self.found: str | None = None
        self.tampering: str | None = None
        self._hook = self.hook  # one bound method, so that sys.getprofile() can be compared with it

    def hook(self, frame, event, arg):
        if event == "call":
            name = self.targets.codes.get(frame.f_code)
            if name is not None:
                if name is _TORCH_OP:
                    op = frame.f_locals.get(frame.f_code.co_varnames[0])  # self (or self_)
                    name = str(getattr(op, "_qualified_op_name", None) or getattr(op, "_name", ""))
                    op_name = name.split("::")[-1].split(".")[0]
                    name = f"torch.ops.{name.replace('::', '.')}" if _TORCH_PATTERN.search(op_name) else None
                if name is not None and self.found is None:
                    self.found = name
        elif event == "c_call":
            hit = self.targets.c_functions.get(id(arg))
            if hit is not None and hit[0] is arg and self.found is None:
                self.found = hit[1]
            elif id(arg) in _TAMPERING and self.tampering is None and frame.f_globals is not _GLOBALS:
                self.tampering = _TAMPERING[id(arg)]
        else:
            return
        if len(_modules) != self.targets.n_modules:
            self.targets.refresh()

    def __enter__(self) -> Watch:
        self._before = _getprofile(), getattr(threading, "_profile_hook", None)
        _threading_setprofile(self._hook)
        _setprofile(self._hook)
        return self

    def __exit__(self, kind, *exc) -> None:
        current = _getprofile()
        _setprofile(self._before[0])
        _threading_setprofile(self._before[1])
        # a timeout that interrupts the hook itself switches it off: that is no tampering
        if current is not self._hook and self.tampering is None and kind is not OutOfTime:
            self.tampering = "sys.setprofile"


def unwatched() -> None:
    """Switch the watch off in the calling thread (a thread of the grader's own)."""
    _setprofile(None)


def shortcut_message(exercise: str, qualname: str) -> str:
    return (
        f"`{exercise}` called `{qualname}` while being checked. The exercise is to implement "
        f"`{exercise}` yourself: library versions of the operation (convlab's references, torch, "
        "scipy.signal/ndimage, numpy.convolve/correlate) do not count while a check runs."
    )


# --------------------------------------------------------------------------- the grader's integrity

_PROTECTED: list[tuple[str, dict, str, object, tuple]] = []
_SNAPSHOT_TAKEN: list[bool] = []
_PROTECTED_MODULES = ("math", "copy", "inspect", "numpy", "torch", "torch.nn.functional")
# the builtins the grader relies on (a kernel swaps others, such as ``input``, on every cell)
_BUILTINS = (
    "abs all any bool callable dict enumerate float getattr hasattr id int isinstance issubclass iter len "
    "list map max min next range repr set sorted str sum tuple type vars zip"
)


def _fingerprint(obj: object) -> tuple:
    closure = getattr(obj, "__closure__", None) or ()
    cells = []
    for cell in closure:
        try:
            cells.append(id(cell.cell_contents))
        except ValueError:  # an empty cell
            cells.append(None)
    return (
        id(getattr(obj, "__code__", None)),
        id(getattr(obj, "__defaults__", None)),
        id(getattr(obj, "__kwdefaults__", None)),
        tuple(cells),
    )


# torch replaces these itself: importing torch._dynamo (torch.compile, the profiler) wraps
# ``torch.manual_seed``; the grader does not use them.
_REPLACED_BY_LIBRARIES = {"torch.manual_seed"}


def _record(label: str, namespace: dict, everything: bool) -> None:
    """Record the callables of ``namespace`` (every value when ``everything``)."""
    for name, value in list(namespace.items()):
        if f"{label}.{name}" in _REPLACED_BY_LIBRARIES:
            continue
        if everything or callable(value):
            _PROTECTED.append((f"{label}.{name}", namespace, name, value, _fingerprint(value)))
            if isinstance(value, type) and value.__module__.startswith("convlab"):
                _record(f"{label}.{name}", value.__dict__, False)


def protect(objects: Iterable[object] | None = None) -> None:
    """Record the grader's functions (or ``objects``' attributes) as they are now; see :func:`tampered`.

    Called once when :mod:`convlab.grading` is imported, without ``objects``: the grader's modules
    (every name), the other convlab modules, NumPy, torch and the builtins (their functions and
    classes); and for each declared exercise, with its declaration and misconceptions.
    """
    if objects is None:
        if not _SNAPSHOT_TAKEN:
            _SNAPSHOT_TAKEN.append(True)
            for name, module in list(_modules.items()):
                if name.startswith("convlab.") or name in _PROTECTED_MODULES:
                    _record(name, vars(module), False)
            for name in _BUILTINS.split():
                value = vars(builtins)[name]
                _PROTECTED.append((f"builtins.{name}", vars(builtins), name, value, _fingerprint(value)))
        return
    for obj in objects:
        _record(type_name(obj), vars(obj), True)


def tampered() -> str | None:
    """The name of the first recorded function that has been replaced or rewritten, else None."""
    for label, namespace, name, value, fingerprint in _PROTECTED:
        current = namespace.get(name, namespace)
        if current is not value or _fingerprint(value) != fingerprint:
            return label
    return None
