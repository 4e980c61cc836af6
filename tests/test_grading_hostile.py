"""Hostile student functions: no shortcut passes however it is reached, and no check crashes or hangs.

- a library implementation held in a default argument, a closure, a callable object, a
  ``functools.partial``, a dict entry, or reached through a private entry point
  (``torch.ops.aten``, NumPy's ``multiarray``) or a thread of the student's own, fails with the
  shortcut message;
- a function that changes the grader while it runs (its judge, its comparison, a reference, the
  profile hook) is refused;
- an exception whose ``__str__`` raises, an object whose ``__repr__`` raises, a huge broadcast view
  of the wrong shape, a lazy or meta-device module, ``sys.exit`` and an endless loop all end in a
  :class:`CheckFailure` with a readable message.
"""

from __future__ import annotations

import functools
import signal
import sys
import threading
import time

import numpy as np
import pytest
import torch

import convlab.grading as grading
import convlab.grading.running as running
from convlab.grading import ASSIGNMENTS, CheckFailure, ShortcutError

ALL_FUNCTIONS = [fn for fns in ASSIGNMENTS.values() for fn in fns]
_multiarray = getattr(np, "_core", None) or np.core


def check(name):
    return getattr(grading, f"check_{name}")


def _convolve1d(f, g, mode="full"):
    full = np.zeros(len(f) + len(g) - 1)
    for k, tap in enumerate(g):
        full[k : k + len(f)] += tap * f
    start = {"full": 0, "same": (len(g) - 1) // 2, "valid": len(g) - 1}[mode]
    return full[start : start + {"full": len(full), "same": len(f), "valid": len(f) - len(g) + 1}[mode]]


def _fails(name, fn, *fragments, kind=CheckFailure, **kwargs):
    with pytest.raises(kind) as info:
        check(name)(fn, **kwargs)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in:\n{message}"
    return message


# --------------------------------------------------------------------------- shortcuts, however reached


class _Holder:
    def __init__(self, fn):
        self.fn = fn

    def __call__(self, f, g, mode="full"):
        return self.fn(f, g, mode)


def _closure():
    conv = np.convolve

    def convolve1d(f, g, mode="full"):
        return conv(f, g, mode)

    return convolve1d


_TABLE = {"conv": np.convolve}
_PARTIAL = functools.partial(np.convolve, mode="full")
_MODES = {"full": 2, "same": 1, "valid": 0}

WALKAROUNDS = {
    "default argument": lambda f, g, mode="full", _c=np.convolve: _c(f, g, mode),
    "closure": _closure(),
    "callable object": _Holder(np.convolve),
    "partial in a wrapper": lambda f, g, mode="full", _p=_PARTIAL: (
        _p(f, g) if mode == "full" else _convolve1d(f, g, mode)
    ),
    "dict entry": lambda f, g, mode="full": _TABLE["conv"](f, g, mode),
    "numpy's multiarray": lambda f, g, mode="full": _multiarray.correlate(f, g[::-1], _MODES[mode]),
    "scipy imported inside": lambda f, g, mode="full": __import__("scipy.signal").signal.convolve(f, g, mode),
    "torch.ops.aten": lambda f, g, mode="full": (
        torch.ops.aten.conv1d(
            torch.from_numpy(f)[None, None],
            torch.from_numpy(g[::-1].copy())[None, None],
            None,
            [1],
            [len(g) - 1],
        )[0, 0].numpy()
        if mode == "full"
        else _convolve1d(f, g, mode)
    ),
}


@pytest.mark.parametrize("how", WALKAROUNDS)
def test_a_reference_reached_any_way_is_a_shortcut(how):
    _fails("convolve1d", WALKAROUNDS[how], "The exercise is to implement `convolve1d`", kind=ShortcutError)


def test_private_torch_entry_points_are_shortcuts():
    def via_ops(x, w, b=None, stride=1, padding=0):
        t = torch.ops.aten.convolution.default(
            torch.from_numpy(x),
            torch.from_numpy(w),
            None,
            [stride] * 2,
            [padding] * 2,
            [1, 1],
            False,
            [0, 0],
            1,
        )
        return (t + (0 if b is None else torch.from_numpy(b)[:, None, None])).numpy()

    _fails("conv2d", via_ops, "torch.ops.aten.convolution", kind=ShortcutError)

    def via_private(x, size, align_corners=False):
        t = torch._C._nn.upsample_bilinear2d(torch.from_numpy(x), tuple(size), align_corners)
        return t.numpy()

    _fails("interpolate_bilinear", via_private, "upsample_bilinear2d", kind=ShortcutError)


def test_a_shortcut_in_a_thread_of_the_students_own_is_seen():
    def threaded(f, g, mode="full"):
        out = {}
        worker = threading.Thread(target=lambda: out.update(y=np.convolve(f, g, mode)))
        worker.start()
        worker.join()
        return out["y"]

    _fails("convolve1d", threaded, "numpy.convolve", kind=ShortcutError)


def test_a_student_function_may_call_its_own_helpers_and_numpy():
    def convolve1d(f, g, mode="full"):
        return _convolve1d(np.asarray(f), np.asarray(g)[::-1][::-1], mode)

    check("convolve1d")(convolve1d, n_random=5, seed=1)


# --------------------------------------------------------------------------- the grader out of reach


def _tampering(target, attr, value):
    """A right answer that first replaces ``target.attr`` (put back by the test)."""

    def convolve1d(f, g, mode="full"):
        setattr(target, attr, value)
        return np.zeros(3)  # wrong, and the replaced grader is meant to let it pass

    return convolve1d


@pytest.mark.parametrize(
    ("target", "attr", "value"),
    [
        (running.Exercise, "_judge", lambda *a, **k: None),
        (running, "compare", lambda *a, **k: None),
        (grading.comparison, "unchanged", lambda *a, **k: True),
        (np, "array_equal", lambda *a, **k: True),
    ],
    ids=["judge", "compare", "unchanged", "numpy"],
)
def test_a_function_that_changes_the_grader_is_refused(target, attr, value):
    original = getattr(target, attr)
    try:
        _fails("convolve1d", _tampering(target, attr, value), "changed the grader while it ran", attr)
        # and the next check refuses to run until the session is restarted
        _fails("convolve1d", _convolve1d, "has been replaced in this session; restart the kernel")
    finally:
        setattr(target, attr, original)
    check("convolve1d")(_convolve1d)


def test_rewriting_a_references_code_is_refused():
    import convlab.signal

    code = convlab.signal.convolve1d.__code__
    try:
        convlab.signal.convolve1d.__code__ = (lambda f, g, mode="full": np.zeros(1)).__code__
        _fails("convolve1d", _convolve1d, "convlab.signal.convolve1d", "has been replaced")
    finally:
        convlab.signal.convolve1d.__code__ = code


def test_switching_the_watch_off_is_refused():
    def unwatched(f, g, mode="full"):
        sys.setprofile(None)
        return np.convolve(f, g, mode)

    _fails("convolve1d", unwatched, "changed the grader while it ran (`sys.setprofile`)")
    assert sys.getprofile() is None


# --------------------------------------------------------------------------- no crash, no hang


class _Unprintable(Exception):
    def __str__(self):
        raise RuntimeError("no")


class _BadRepr:
    def __repr__(self):
        raise RuntimeError("no")

    __str__ = __repr__


@pytest.mark.parametrize("name", ALL_FUNCTIONS)
def test_an_exception_that_cannot_be_printed_is_reported(name):
    def raising(*args, **kwargs):
        raise _Unprintable

    _fails(name, raising, "your function raised _Unprintable: <a _Unprintable that cannot be shown>")


@pytest.mark.parametrize("name", ALL_FUNCTIONS)
def test_an_object_that_cannot_be_printed_is_reported(name):
    _fails(name, lambda *args, **kwargs: _BadRepr(), "_BadRepr")
    _fails(name, lambda *args, **kwargs: (_BadRepr(), _BadRepr()), "failed on case ")


def test_a_huge_broadcast_view_of_the_wrong_shape_is_not_copied():
    huge = np.broadcast_to(np.float64(1.5), (10**6, 10**6))  # 10^12 values, 8 TB if copied
    start = time.perf_counter()
    message = _fails(
        "convolve1d", lambda f, g, mode="full": huge, "expected shape (5,); received shape (1000000, 1000000)"
    )
    assert "too large to print: 1000000000000 values; first ones [1.5 1.5 1.5 1.5 1.5 1.5]" in message
    assert time.perf_counter() - start < 30  # generous: the machine is shared; a copy never ends
    big = torch.zeros(1).expand(10**6, 10**6)
    _fails("pixel_shuffle", lambda x, r: big, "expected a numpy.ndarray; received torch.Tensor")


def test_lazy_and_meta_modules_are_reported():
    _fails(
        "convolutionalize",
        lambda linear, in_channels, kernel_size: torch.nn.LazyConv2d(linear.out_features, kernel_size),
        "not initialised",
    )
    _fails(
        "convolutionalize",
        lambda linear, c, k: torch.nn.Conv2d(
            c, linear.out_features, k, bias=linear.bias is not None, device="meta"
        ),
        "meta device",
    )


def test_sys_exit_is_reported():
    _fails("convolve1d", lambda f, g, mode="full": sys.exit(3), "your function raised SystemExit: 3")


@pytest.fixture
def short_budget(monkeypatch):
    monkeypatch.setattr(running, "CALL_BUDGET_S", 0.5)


def _endless(f, g, mode="full"):
    while True:
        try:
            np.sum(f)
        except Exception:  # a loop that swallows errors is stopped too
            pass


def test_an_endless_loop_stops_with_the_budget_in_the_message(short_budget):
    previous = signal.signal(signal.SIGALRM, signal.SIG_DFL)
    try:
        start = time.perf_counter()
        _fails(
            "convolve1d",
            _endless,
            "did not return within 0.5 s on this case (the check allows 0.5 s per call)",
        )
        assert time.perf_counter() - start < 20
        assert signal.getsignal(signal.SIGALRM) is signal.SIG_DFL  # handler and timer put back
        assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    finally:
        signal.signal(signal.SIGALRM, previous)


def test_a_timer_of_the_caller_survives_a_check(short_budget):
    fired = []
    previous = signal.signal(signal.SIGALRM, lambda *a: fired.append(True))
    try:
        signal.setitimer(signal.ITIMER_REAL, 30.0)
        check("convolve1d")(_convolve1d)
        remaining = signal.getitimer(signal.ITIMER_REAL)[0]
        assert 0 < remaining <= 30.0 and not fired
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_torch_replacing_its_own_functions_is_not_tampering():
    """Importing torch._dynamo (torch.compile, the profiler) wraps torch.manual_seed; checks still run."""
    import numpy as np
    import torch._dynamo  # noqa: F401

    from convlab.grading import check_convolve1d
    from convlab.grading.shortcuts import tampered

    assert tampered() is None

    def convolve1d(f, g, mode="full"):
        f, g = np.asarray(f, dtype=float), np.asarray(g, dtype=float)
        full = np.zeros(len(f) + len(g) - 1)
        for k in range(len(g)):
            full[k : k + len(f)] += g[k] * f
        start = {"full": 0, "same": (len(g) - 1) // 2, "valid": len(g) - 1}[mode]
        return full[start : start + {"full": len(full), "same": len(f), "valid": len(f) - len(g) + 1}[mode]]

    check_convolve1d(convolve1d)
