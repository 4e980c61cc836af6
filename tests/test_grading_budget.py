"""The per-call time budget: a check stops an endless student function, on the main thread and off it.

Each endless function (a loop without calls, a loop calling NumPy, a long ``time.sleep``) must end
in a :class:`CheckFailure` whose message names the budget in seconds, whether the check is called
from the main thread (``SIGALRM``) or from another thread (a worker thread and
``PyThreadState_SetAsyncExc``). The budget is patched down to 0.5 s. No timing is asserted beyond
"it finishes": a thread is joined with a generous timeout, and the main-thread cases run under a
``faulthandler`` guard that ends the test process, with every thread's traceback, instead of
hanging forever.
"""

from __future__ import annotations

import faulthandler
import sys
import threading
import time

import numpy as np
import pytest
from test_grading_hostile import _convolve1d  # a correct student convolve1d, shared

import convlab.grading.running as running
from convlab.grading import CheckFailure, ShortcutError, check_convolve1d

BUDGET_S = 0.5
HANG_S = 60.0  # far beyond budget + grace: reaching it means the check hangs


@pytest.fixture(autouse=True)
def short_budget(monkeypatch):
    monkeypatch.setattr(running, "CALL_BUDGET_S", BUDGET_S)


@pytest.fixture
def hang_guard():
    faulthandler.dump_traceback_later(HANG_S, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


def _pure_loop(f, g, mode="full"):
    while True:
        pass


def _numpy_loop(f, g, mode="full"):
    while True:
        np.sum(np.asarray(f) * 2)


def _sleep(f, g, mode="full"):
    time.sleep(1e9)


ENDLESS = {"pure-Python loop": _pure_loop, "loop calling NumPy": _numpy_loop, "time.sleep": _sleep}
TIMEOUT_MESSAGE = (
    f"did not return within {BUDGET_S:g} s on this case (the check allows {BUDGET_S:g} s per call)"
)


def _in_thread(fn, **kwargs):
    """Run ``check_convolve1d(fn)`` in a new thread; return what it raised (None if it passed)."""
    box: dict[str, BaseException | None] = {}

    def target():
        try:
            check_convolve1d(fn, **kwargs)
            box["error"] = None
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(HANG_S)
    assert not thread.is_alive(), f"the check hangs in a thread (still running after {HANG_S:g} s)"
    return box["error"]


def _assert_timeout(error):
    assert isinstance(error, CheckFailure), f"expected CheckFailure, got {error!r}"
    message = str(error)
    assert message.startswith("`convolve1d` failed on case 1 of ")
    assert TIMEOUT_MESSAGE in message, message
    assert "one long NumPy or torch call in it runs to its end first" in message


@pytest.mark.parametrize("fn", ENDLESS.values(), ids=ENDLESS.keys())
def test_the_main_thread_stops_an_endless_function(fn, hang_guard):
    assert threading.current_thread() is threading.main_thread()
    with pytest.raises(CheckFailure) as info:
        check_convolve1d(fn)
    _assert_timeout(info.value)


@pytest.mark.parametrize("fn", ENDLESS.values(), ids=ENDLESS.keys())
def test_a_thread_stops_an_endless_function(fn):
    _assert_timeout(_in_thread(fn))


def test_a_check_in_a_thread_still_passes_after_one_was_left_sleeping():
    """A sleeping student thread is left behind, its timeouts still being sent; under the next
    check's profile hook a thread must not spin (CPython 3.11's pending-exception flag)."""
    _assert_timeout(_in_thread(_sleep))
    assert _in_thread(_convolve1d) is None
    assert _in_thread(_convolve1d, n_random=3, seed=1) is None


def test_a_check_in_a_thread_reports_errors_shortcuts_and_tampering():
    def raises(f, g, mode="full"):
        raise ValueError("no idea")

    def tampers(f, g, mode="full"):
        sys.setprofile(None)
        return _convolve1d(f, g, mode)

    error = _in_thread(raises)
    assert isinstance(error, CheckFailure) and "your function raised ValueError: no idea" in str(error)
    error = _in_thread(lambda f, g, mode="full": np.convolve(f, g, mode))
    assert isinstance(error, ShortcutError) and "numpy.convolve" in str(error)
    error = _in_thread(tampers)
    assert isinstance(error, CheckFailure) and "changed the grader while it ran" in str(error)


def test_a_check_in_a_thread_keeps_the_callers_numpy_error_state():
    """The student's function runs in a worker thread with the caller's context (np.errstate)."""

    def divides(f, g, mode="full"):
        np.divide(np.ones(1), np.zeros(1))
        return _convolve1d(f, g, mode)

    box = {}

    def target():
        with np.errstate(divide="raise"):
            try:
                check_convolve1d(divides)
            except BaseException as exc:
                box["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(HANG_S)
    assert not thread.is_alive()
    assert "your function raised FloatingPointError" in str(box.get("error"))


def test_a_timer_is_put_back_on_the_main_thread(hang_guard):
    import signal

    previous = signal.signal(signal.SIGALRM, signal.SIG_DFL)
    try:
        with pytest.raises(CheckFailure):
            check_convolve1d(_sleep)
        assert signal.getsignal(signal.SIGALRM) is signal.SIG_DFL
        assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    finally:
        signal.signal(signal.SIGALRM, previous)
