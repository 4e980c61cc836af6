"""Keeping the library out of the student's function: shortcut blocking and trusted references.

While the student's function runs, the library versions of the exercises' operations (convlab's
references, torch, scipy.signal/ndimage, numpy's convolve) are switched off
(:class:`blocking_shortcuts`): a function that merely calls one fails with
:class:`~convlab.grading.comparison.ShortcutError`. The references the checks compare with are
checked to come from the installed package (:func:`trusted_reference`), so a notebook that
replaces ``convlab.signal.convolve1d`` cannot make its own answer the expected one.
"""

from __future__ import annotations

import builtins
import functools
import importlib
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from convlab.grading.comparison import CheckFailure, ShortcutError

__all__ = ["AUTOGRAD_SHORTCUTS", "blocking_shortcuts", "preload", "reference", "trusted_reference"]

_CONVLAB_DIR = Path(__file__).resolve().parent.parent


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
