"""Running a check: an exercise declared as a table, turned into a ``check_<name>`` function.

:func:`exercise` takes the exercise's signature, its reference, its fixed cases, a function that
draws one random case and its misconceptions, and returns the check. Running it:

1. computes the expected output of every case with the reference *before* the student's function
   runs, on copies of the inputs;
2. calls the student's function on fresh copies, with the library versions of the operation
   switched off (:mod:`convlab.grading.shortcuts`);
3. compares case by case (:mod:`convlab.grading.comparison`) and reports the smallest failing
   case (fewest input elements; ties: the first declared, fixed before random), in at most
   :data:`~convlab.grading.comparison.MAX_LINES` lines; each misconception that applies is
   computed on the same inputs, and its hint is shown when it reproduces the student's output
   (at most two, the one reproducing it on the most failing cases first).

A keyword argument equal to the signature's default is left out of the student's call, so that
the student's own default is what gets tested; when the failing call relied on a default and the
same call with it given explicitly is right, the message says which default is wrong.
"""

from __future__ import annotations

import contextvars
import copy
import ctypes
import inspect
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from convlab.grading.cases import Case, Misconception, Signature, case_rng, draw, resolve_seed
from convlab.grading.comparison import (
    MAX_LINES,
    CheckFailure,
    Mismatch,
    ShortcutError,
    Shown,
    compare,
    kind,
    matches,
    safe_str,
    type_name,
    unchanged,
    wrap_line,
)
from convlab.grading.shortcuts import (
    OutOfTime,
    Watch,
    _replaced,
    protect,
    reference,
    shortcut_message,
    tampered,
    unwatched,
)

# An exercise module needs these names only: they are re-exported from here.
__all__ = ["exercise", "Exercise", "Case", "Misconception", "draw", "reference"]

_deepcopy = copy.deepcopy
_monotonic = time.monotonic

#: Seconds one call of the student's function may take before the check stops it.
CALL_BUDGET_S = 10.0

#: Off the main thread: seconds granted after the budget, while ``OutOfTime`` is being raised in the
#: student's function, before the check reports the timeout and leaves the function behind.
GRACE_S = 1.0

_WINDOW_S = 0.05  # how long one asynchronous OutOfTime stays pending before it is withdrawn
_getprofile = sys.getprofile
_sleep = time.sleep
_set_async_exc = ctypes.pythonapi.PyThreadState_SetAsyncExc


class _Withdrawn(BaseException):
    """Raised by the watchdog in its own thread, to reset CPython's pending-exception flag."""


def _alarm(signum, frame):
    raise OutOfTime


def _checkpoint() -> None:
    """A Python call: the interpreter raises any exception scheduled for this thread here at the latest."""


class _Budget:
    """Stop the student's function with :class:`OutOfTime` after ``seconds``, then again and again.

    In the main thread (Jupyter, Colab, the grader) a ``SIGALRM`` timer does it every 0.1 s, with
    the previous handler and timer put back afterwards; the signal also ends a ``time.sleep``.
    Elsewhere (a check called from a thread, or no ``SIGALRM``) :meth:`call` runs the function in a
    worker thread of its own, with the caller's ``contextvars`` and under the same watch, while the
    caller waits: a watchdog raises the exception in the worker with ``PyThreadState_SetAsyncExc``,
    and :data:`GRACE_S` seconds after the budget the caller reports the timeout whatever the worker
    does, so the check always returns. A thread of its own, because an asynchronous exception
    reaches a thread only between bytecodes, never one blocked in ``time.sleep`` or on a lock
    (python/cpython#144748).

    The watchdog leaves each exception pending for :data:`_WINDOW_S` seconds, withdraws it, then
    raises :class:`_Withdrawn` in itself and catches it. CPython 3.11 keeps its pending-exception
    flag up after ``PyThreadState_SetAsyncExc(id, NULL)`` until some thread consumes an exception,
    and while the flag is up, every thread running under a profile or trace function (the watch, a
    debugger, coverage) spins at its next Python function call: a bare ``NULL`` withdrawal hung
    every check called from a thread on ``while True: pass``, and an exception left pending for a
    sleeping thread would hang them too. So, while one is pending, the watchdog calls C only.

    What cannot be interrupted: one long call into compiled code (a huge ``np.dot``) looks for
    neither signals nor asynchronous exceptions until it returns. In the main thread the check
    reports the timeout when that call returns (measured with a 0.5 s budget and one product of two
    4000 × 4000 matrices, 4 to 6 s: the check returned after 4.3 s). Off the main thread it returns
    after the budget plus :data:`GRACE_S` (there: after 1.6 s) and the call goes on in the
    background until it returns; its function is stopped then. A function that catches
    ``BaseException`` and carries on is stopped only when it lets one through.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def start(self) -> None:
        self.begun = _monotonic()
        self.signal = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
        if self.signal:
            self.handler = signal.signal(signal.SIGALRM, _alarm)
            self.timer = signal.setitimer(signal.ITIMER_REAL, self.seconds, 0.1)

    def call(self, fn: Callable, args: tuple, kwargs: dict, watch: Watch | None = None) -> object:
        """``fn(*args, **kwargs)`` within the budget (after :meth:`start`); :class:`OutOfTime` if spent."""
        if self.signal:
            return fn(*args, **kwargs)
        self.lock, self.finished, self.returned = threading.Lock(), threading.Event(), False
        self.outcome: tuple[str, object] = ("raised", OutOfTime())
        context = contextvars.copy_context()  # NumPy's errstate, decimal contexts...: as in the caller
        worker = threading.Thread(target=context.run, args=(self._work, fn, args, kwargs, watch), daemon=True)
        worker.start()
        threading.Thread(target=self._watchdog, args=(worker,), daemon=True).start()
        if not self.finished.wait(self.seconds + GRACE_S):
            raise OutOfTime  # the worker is left behind; the watchdog goes on stopping it
        status, value = self.outcome
        if status == "raised":
            raise value  # type: ignore[misc]
        return value

    def _work(self, fn: Callable, args: tuple, kwargs: dict, watch: Watch | None) -> None:
        """The worker thread: call ``fn``, then make sure that no ``OutOfTime`` can arrive any more."""
        hook, outcome = _getprofile(), None
        while True:
            try:
                if outcome is None:
                    try:
                        outcome = ("ok", fn(*args, **kwargs))
                    except BaseException as exc:  # the student's error, or OutOfTime
                        outcome = ("raised", exc)
                with self.lock:
                    self.returned = True  # the watchdog sends no more exceptions
                _checkpoint()  # one it sent before is raised here at the latest
                break
            except OutOfTime as exc:
                outcome = outcome or ("raised", exc)
        timeout = isinstance(outcome[1], OutOfTime)  # which interrupts the hook itself, switching it off
        if watch is not None and _getprofile() is not hook and not timeout and watch.tampering is None:
            watch.tampering = "sys.setprofile"  # as Watch.__exit__ does for the calling thread
        self.outcome = outcome
        self.finished.set()

    def _watchdog(self, worker: threading.Thread) -> None:
        unwatched()  # this thread is the grader's: not the student's, and not to be interrupted
        target, me = ctypes.c_ulong(worker.ident or 0), ctypes.c_ulong(threading.get_ident())
        out_of_time, withdrawn = ctypes.py_object(OutOfTime), ctypes.py_object(_Withdrawn)
        wait, given_up = self.seconds, self.seconds + GRACE_S
        while not self.finished.wait(wait):
            with self.lock:
                if not self.returned and worker.is_alive():  # a finished thread's id may be reused
                    _set_async_exc(target, out_of_time)
                    _sleep(_WINDOW_S)  # C only while it is pending (see the class docstring)
                    _set_async_exc(target, None)
                    try:
                        _set_async_exc(me, withdrawn)
                        _checkpoint()
                    except _Withdrawn:
                        pass
            # while the check waits, try every 0.1 s; once it has given up, less and less often
            wait = 0.05 if _monotonic() - self.begun < given_up else min(2 * max(wait, 0.5), 10.0)

    def _stop(self) -> None:  # idempotent: it may be interrupted and run again
        if self.signal:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self.handler)
            delay, interval = self.timer
            if delay > 0:  # someone else's timer was running: give it its remaining time
                signal.setitimer(signal.ITIMER_REAL, max(delay - (_monotonic() - self.begun), 1e-3), interval)

    def stop(self) -> None:
        """Switch the timer off, even when its exception arrives meanwhile."""
        while True:
            try:
                self._stop()
                return
            except OutOfTime:
                continue


def _call(fn: Callable, args: tuple, kwargs: dict, watch: Watch) -> tuple[str, object]:
    """One call of the student's function, watched and within its budget: (status, result)."""
    budget = _Budget(CALL_BUDGET_S)
    try:
        with watch:
            try:
                budget.start()
                return "ok", budget.call(fn, args, kwargs, watch)
            finally:
                budget.stop()  # before the watch ends: nothing can interrupt that afterwards
    except OutOfTime:
        return "timeout", None
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # the student's error (even SystemExit), reported with the case
        return "raised", exc


_DOC = """{doc}

Parameters
----------
{name} : callable
    Your function, called as ``{signature}``.
n_random : int, optional
    Number of random cases added to the {n_fixed} fixed ones (the hidden tests use many).
seed : int, optional
    Seed of the random cases; default ``$CONVLAB_GRADING_SEED``, else drawn afresh.

Raises
------
CheckFailure
    An :class:`AssertionError` naming the smallest failing case, the expected and received
    output and, when it recognises one, the misconception behind the error.
ShortcutError
    When ``{name}`` calls a library implementation of the operation (convlab's references,
    torch, scipy.signal/ndimage, numpy.convolve/correlate), however it reaches it.

See Also
--------
{reference} : the reference the check compares with.
"""


class Exercise:
    """The declaration behind one check (see :func:`exercise`); ``run`` checks a function."""

    def __init__(
        self,
        signature: str,
        reference: Callable,
        cases: Sequence[Case],
        random: Callable[[Any], Case] | None = None,
        misconceptions: Sequence[Misconception] = (),
        *,
        raises: tuple[type[BaseException], ...] = (),
        blocked: Sequence[tuple[str, str]] = (),
        evaluate: Callable[..., Any] | None = None,
    ) -> None:
        self.signature = Signature(signature)
        self.name = self.signature.name
        self.reference, self.fixed, self.random = reference, list(cases), random
        self.misconceptions = list(misconceptions)
        self.raises, self.blocked, self.evaluate = raises, tuple(blocked), evaluate
        for case in self.fixed:
            self.signature.bind(case)  # a case that does not fit the signature fails here
        for m in self.misconceptions:
            m.check_names(self.signature)

    # ------------------------------------------------------------------ the three steps

    def cases(self, seed: int, n_random: int) -> list[Case]:
        cases = [_deepcopy(c) for c in self.fixed]
        rng = case_rng(seed, self.name)
        for _ in range(n_random):
            case = self.random(rng)
            case.random = True
            cases.append(case)
        return cases

    def _value(self, output: Any, values: dict[str, Any]) -> Any:
        if self.evaluate is None:
            return output
        return Signature.call(self.evaluate, values, output=output)

    def _expected(self, case: Case, values: dict[str, Any]) -> Any:
        try:
            output = self.reference(*_deepcopy(tuple(values.values())))
        except self.raises as exc:
            case.raises = next(k for k in self.raises if isinstance(exc, k))
            case.reason = safe_str(exc)
            return None
        return self._value(output, values)

    def _check_arguments(self, fn: object, n_random: object, seed: object) -> int:
        """Validate the check's own arguments and the grader's integrity; return the seed to use."""
        if isinstance(n_random, bool) or not isinstance(n_random, int):
            raise TypeError(f"`n_random` must be an integer; got n_random={n_random!r}")
        if n_random < 0:
            raise ValueError(f"`n_random` must be non-negative; got n_random={n_random}")
        seed = resolve_seed(seed)
        if not callable(fn):
            raise CheckFailure(f"check_{self.name} expects your function `{self.name}`; got {type_name(fn)}")
        changed = tampered()
        if changed is not None:
            raise CheckFailure(_replaced(f"`{changed}`"))
        return seed

    def _student_call(self, given: dict[str, Any]) -> dict[str, Any]:
        """The arguments the student's function gets: a keyword equal to the signature's default
        is left out, so that the student's own default is what gets tested (at no extra call)."""
        params = self.signature.parameters
        return {k: v for k, v in given.items() if not _is_default(v, params[k].default)}

    def _call_all(self, fn, cases, calls, watch) -> tuple[list[tuple[str, object]], list[dict]]:
        """Call ``fn`` on each case (on copies) in order, stopping at a call that settles the check
        (a shortcut, tampering or a timeout): every case up to it is judged, and the smallest of
        those that fail is reported."""
        results: list[tuple[str, object]] = []
        inputs: list[dict] = []
        for given in calls:
            given = _deepcopy(given)
            inputs.append(given)
            args, kwargs = self.signature.split(given)
            results.append(_call(fn, args, kwargs, watch))
            if watch.found or watch.tampering or results[-1][0] == "timeout":
                break
        return results, inputs

    def _settle(self, name: str, watch: Watch) -> None:
        """Refuse a run in which the student's function changed the grader or took a shortcut."""
        changed = watch.tampering or tampered()
        if changed is not None:
            raise CheckFailure(
                f"`{name}` changed the grader while it ran (`{changed}`), so the check cannot judge it. "
                "Restart the kernel and run the notebook again from the top."
            )
        if watch.found is not None:
            raise ShortcutError(shortcut_message(name, watch.found))

    def run(self, fn: object, *, n_random: int = 0, seed: int | None = None) -> None:
        """Check ``fn``; print one line on success, raise :class:`CheckFailure` on the smallest wrong case."""
        name = self.name
        seed = self._check_arguments(fn, n_random, seed)
        cases = self.cases(seed, n_random)
        bound = [self.signature.bind(case) for case in cases]
        # 1. expected values, from the reference, on copies, before any student code runs
        expected = [self._expected(case, values) for case, (_, values) in zip(cases, bound, strict=True)]
        calls = [self._student_call(given) for given, _ in bound]
        for case, call in zip(cases, calls, strict=True):  # what a misconception's `case` sees
            case.kwargs = {k: v for k, v in case.kwargs.items() if k in call}
        originals = [_deepcopy(given) for given in calls]
        # 2. the student's calls, watched, each within the time budget
        watch = Watch(self.blocked)
        results, inputs = self._call_all(fn, cases, calls, watch)
        self._settle(name, watch)
        # 3. judge every case that ran; report the smallest failing one
        failing = []
        for index, (status, got) in enumerate(results):
            case, values = cases[index], bound[index][1]
            problem = self._judge(case, values, status, got, expected[index], originals[index], inputs[index])
            if problem is not None:
                failing.append((index, problem))
        if failing:
            sizes = {index: _count(bound[index][1]) for index, _ in failing}
            failing.sort(key=lambda item: (sizes[item[0]], cases[item[0]].random, item[0]))
            run = _Run(self, fn, watch, cases, bound, calls, results, expected)
            hints = self._diagnose(run, [index for index, _ in failing])
            self._settle(name, watch)  # the diagnosis may have called the student's function again
            index, problem = failing[0]
            raise self._failure(run, index, problem, hints, seed, n_random)
        n_fixed = len(self.fixed)
        if n_random:
            print(f"✔ {name} passed {n_fixed} fixed and {len(cases) - n_fixed} random cases (seed {seed})")
        else:
            print(f"✔ {name} passed {len(cases)} cases")

    # ------------------------------------------------------------------ the message

    def _call_text(self, call: dict[str, Any]) -> str:
        """``correlate1d(f, g, mode='same')``: the call as made, scalars inline, arrays by name."""
        args, kwargs = self.signature.split(call)
        names = [k for k in call if k not in kwargs]
        shown = [_inline(v) or k for k, v in zip(names, args, strict=True)]
        shown += [f"{k}={_inline(v) or k}" for k, v in kwargs.items()]
        return f"{self.name}({', '.join(shown)})"

    def _failure(self, run: _Run, index: int, problem: list, hints: list[str], seed: int, n_random: int):
        name, case, n_fixed = self.name, run.cases[index], len(self.fixed)
        call = run.calls[index]
        if case.random:
            where = f"random case {index - n_fixed + 1} of {len(run.cases) - n_fixed} (seed {seed})"
        else:
            where = f"case {index + 1} of {n_fixed}"
        call_text = self._call_text(call)
        items: list = [f"`{name}` failed on {where}:", f"  called as {call_text}"]
        wrong = run.wrong_defaults
        if wrong:  # the same call with these given explicitly is right
            params = self.signature.parameters
            declared = ", ".join(f"{k}={params[k].default!r}" for k in wrong)
            plural = "s" if len(wrong) > 1 else ""
            items[-1] += f" — with your default{plural} for {', '.join(wrong)}"
            items.append(
                f"  (your default{plural} {'are' if plural else 'is'} not the exercise's {declared}: "
                f"with {declared} given explicitly, your function returns the right result here)"
            )
        items += [Shown(k, v, describe=True) for k, v in call.items() if not _inline(v)]
        items += [("  " + line) if isinstance(line, str) else _Indented(line) for line in problem]
        if case.random:
            items.append(f"  reproduce it with check_{name}({name}, n_random={n_random}, seed={seed})")
        items += [f"Diagnosis: {hint}" for hint in hints]
        message = "\n".join(_fit(items))
        return CheckFailure(message, function=name, case=f"{where}: {call_text}", diagnoses=hints)

    # ------------------------------------------------------------------ judging

    def _judge(self, case, values, status, got, expected, original, used) -> list | None:
        if status == "timeout":
            return [
                f"your function did not return within {CALL_BUDGET_S:g} s on this case (the check allows "
                f"{CALL_BUDGET_S:g} s per call); is there a loop that never ends? A function is stopped "
                "between Python steps, so one long NumPy or torch call in it runs to its end first."
            ]
        if status == "raised":
            error = f"{type_name(got)}: {safe_str(got)}"
            if case.raises is not None and isinstance(got, case.raises):
                pass
            elif isinstance(got, NotImplementedError):
                return ["your function raised NotImplementedError: it is not written yet."]
            elif case.raises is not None:
                return [f"expected {case.raises.__name__} for this input; your function raised {error}"]
            else:
                return [f"your function raised {error}"]
        elif case.raises is not None:
            return [
                f"these arguments have no valid answer: expected your function to raise "
                f"{case.raises.__name__}; it returned {kind(got)}"
            ]
        try:
            modified = not unchanged(original, used)
        except Exception:
            modified = True
        if modified:
            return ["your function modified its input arrays; compute the result in a new array instead."]
        if status == "raised":
            return None
        try:
            compare(self._value(got, values), expected)
        except Mismatch as mismatch:
            return mismatch.lines
        except Exception as exc:
            why = f"{type_name(exc)}: {safe_str(exc)}"
            return [f"your function returned {kind(got)}, which the check cannot read: {why}"]
        return None

    # ------------------------------------------------------------------ diagnosing

    def _diagnose(self, run: _Run, failing: list[int]) -> list[str]:
        """At most two diagnoses, each true of the reported (smallest) failing case.

        - a case that must raise and did not: only ``no `ValueError` when <the reason>``;
        - a misconception: its output equals the student's (and differs from the expected one)
          on the reported case; the best first: the one reproducing the student's output on the
          most of the (up to :data:`_RANKED`) smallest failing cases, then declaration order.
        """
        index = failing[0]
        case, (status, got) = run.cases[index], run.results[index]
        hints: list[str] = []
        if status != "timeout":
            self._wrong_defaults(run, index)  # said in the message's call line
        if case.raises is not None:
            if not (status == "raised" and isinstance(got, case.raises)):
                hints.append(self._no_raise(case, run.bound[index][0]))
            return hints[:2]
        if status != "ok":
            return hints
        ranked = []
        for order, m in enumerate(self.misconceptions):
            if not self._reproduces(m, run, index):
                continue
            score = sum(self._reproduces(m, run, j) for j in failing[1:_RANKED])
            ranked.append((-score, order, m.hint))
        for _, _, hint in sorted(ranked):
            if hint not in hints:
                hints.append(hint)
        return hints[:2]

    def _reproduces(self, m: Misconception, run: _Run, index: int) -> bool:
        """True when misconception ``m`` gives the student's output on case ``index``, and that
        output is wrong."""
        case, (status, got), values = run.cases[index], run.results[index], run.bound[index][1]
        if status != "ok" or case.raises is not None:
            return False
        try:
            value = self._value(got, values)
            if not m.applies(values, case):
                return False
            wrong = self._value(m.output(values, case, run.expected[index], self.reference), values)
        except Exception:
            return False
        return matches(value, wrong, None) and not matches(wrong, run.expected[index], None)

    def _no_raise(self, case: Case, given: dict[str, Any]) -> str:
        """``no `ValueError` when the kernel does not fit the padded input (i=2, k=5)``."""
        reason = getattr(case, "reason", "")
        reason = reason.split(": ")[0].split("; ")[0].strip().rstrip(".")[:120]
        word = "although" if " must " in f" {reason} " else "when"
        params = self.signature.parameters
        shown = []
        for k, v in given.items():
            if _is_array(v):
                shown.append(f"{k} of shape {tuple(v.shape)}")
            elif not _is_default(v, params[k].default):
                shown.append(f"{k}={_inline(v) or safe_str(v, 40, use_repr=True)}")
        condition = f"{word} {reason} ({', '.join(shown)})" if reason else f"for {', '.join(shown)}"
        return f"no `{case.raises.__name__}` {condition}"

    def _wrong_defaults(self, run: _Run, index: int) -> None:
        """When the failing call relied on the student's defaults and the same call with one of
        them given explicitly is right, that default is wrong (a few calls, on failure only)."""
        call, values = run.calls[index], run.bound[index][1]
        left = [k for k in values if k not in call]
        if not left:
            return
        case, expected = run.cases[index], run.expected[index]

        def right_with(names: list[str]) -> bool:
            given = {**call, **{k: values[k] for k in names}}
            given = {k: given[k] for k in values if k in given}  # in signature order
            original, used = _deepcopy(given), _deepcopy(given)
            args, kwargs = self.signature.split(used)
            status, got = _call(run.fn, args, kwargs, run.watch)
            if run.watch.found or run.watch.tampering:
                return False
            return self._judge(case, values, status, got, expected, original, used) is None

        culprits = [k for k in left if right_with([k])]
        if not culprits and len(left) > 1 and right_with(left):
            culprits = left
        run.wrong_defaults = culprits


_RANKED = 6  # failing cases on which each diagnosis is tried, to rank them


class _Run:
    """What one run of a check gathered, for the diagnosis and the message."""

    def __init__(self, exercise, fn, watch, cases, bound, calls, results, expected) -> None:
        self.exercise, self.fn, self.watch = exercise, fn, watch
        self.cases, self.bound, self.calls = cases, bound, calls
        self.results, self.expected = results, expected
        self.wrong_defaults: list[str] = []  # the arguments whose default the student got wrong


class _Indented:
    """A :class:`Shown` value of the problem lines, indented like them."""

    def __init__(self, shown: Shown) -> None:
        self.shown = shown

    def render(self, level: int, indent: str = "") -> list[str]:
        return self.shown.render(level, indent + "  ")


def _is_default(value: object, default: object) -> bool:
    """True when ``value`` is the signature's ``default`` (a scalar, string, tuple or None)."""
    if default is inspect.Parameter.empty:
        return False
    if default is None or value is None:
        return value is default
    if type(value) is not type(default) or not isinstance(default, int | float | str | bool | tuple):
        return False
    try:
        return bool(value == default)
    except Exception:
        return False


def _is_array(value: object) -> bool:
    return isinstance(value, np.ndarray) or type_name(value) == "Tensor"


def _inline(value: object) -> str:
    """The repr of a value short enough to show inside a call, else ''."""
    if value is None or isinstance(value, bool | int | float | str | np.integer | np.floating):
        text = safe_str(value, 40, use_repr=True)
    elif (
        isinstance(value, tuple | list)
        and len(value) <= 6
        and all(isinstance(v, int | float | np.integer) and not isinstance(v, bool) for v in value)
    ):
        text = safe_str(value, 40, use_repr=True)
    else:
        return ""
    return text if len(text) <= 30 else ""


def _count(values: dict[str, Any]) -> int:
    """Total number of input elements of a case (its size, to find the smallest failing one)."""

    def count(value: object) -> int:
        try:
            if _is_array(value):
                return int(value.numel()) if type_name(value) == "Tensor" else int(value.size)
            if isinstance(value, tuple | list):
                return sum(count(v) for v in value)
            if isinstance(value, dict):
                return sum(count(v) for v in value.values())
            if value is None:
                return 0
            parameters = getattr(value, "parameters", None)
            if callable(parameters):  # a torch module
                return sum(int(p.numel()) for p in parameters())
        except Exception:
            pass
        return 1

    return sum(count(v) for v in values.values())


def _fit(items: list) -> list[str]:
    """The message's lines: each :class:`Shown` value at the most detailed level that lets the
    whole message fit in :data:`MAX_LINES` lines as IPython shows it, its lines cut at spaces to
    :data:`WIDTH` columns (the message itself keeps each line whole: a ``Diagnosis:`` line is one
    line, as the class report reads it)."""
    levels = {i: 0 for i, item in enumerate(items) if not isinstance(item, str)}

    cache: dict[tuple[int, int], list[str]] = {}  # (id of the item, level) -> its lines

    def block(i: int) -> list[str]:
        item = items[i]
        if isinstance(item, str):
            return [item]
        key = (id(item), levels[i])
        if key not in cache:
            cache[key] = item.render(levels[i], "  ") if isinstance(item, Shown) else item.render(levels[i])
        return cache[key]

    def shown_lines(lines: list[str]) -> int:  # as IPython shows them, long lines cut
        return sum(len(wrap_line(line)) for line in lines)

    while True:
        lines = [line for i in range(len(items)) for line in block(i)]
        if shown_lines(lines) <= MAX_LINES:
            return lines
        open_ = [i for i, level in levels.items() if level < Shown.LEVELS - 1]
        if not open_:
            break
        biggest = max(open_, key=lambda i: (len(block(i)), -i))
        levels[biggest] += 1
    # still too long (very many arguments): leave out argument values from the last one
    for i in sorted((i for i, item in enumerate(items) if isinstance(item, Shown)), reverse=True):
        items = [*items[:i], *items[i + 1 :]]
        levels = {(j if j < i else j - 1): level for j, level in levels.items() if j != i}
        lines = [line for j in range(len(items)) for line in block(j)]
        if shown_lines(lines) <= MAX_LINES:
            break
    return lines


def exercise(
    signature: str,
    reference: Callable,
    cases: Sequence[Case],
    random: Callable[[Any], Case] | None = None,
    misconceptions: Sequence[Misconception] = (),
    *,
    doc: str,
    **options: Any,
) -> Callable[..., None]:
    """Declare an exercise and return its ``check_<name>(<name>, *, n_random=0, seed=None)``.

    Parameters
    ----------
    signature : str
        The exercise function as the notebook declares it, e.g. ``"convolve1d(f, g, mode='full')"``.
        Arguments without a default are passed by position, the others by keyword.
    reference : callable
        The course's implementation, called with every argument by position in that order.
    cases : sequence of Case
        The fixed (visible) cases, written like calls: ``Case(f, g, mode="same")``.
    random : callable, optional
        ``random(rng)`` draws one random (hidden) case from a NumPy generator.
    misconceptions : sequence of Misconception
        Known mistakes and their hints, bound to each case by parameter name.
    doc : str
        What the check asks (its docstring's summary line and body; the shared sections follow).
    **options
        ``raises`` (exceptions the reference raises for impossible arguments, which the student's
        function must raise too), ``blocked`` (extra library functions to switch off, as
        ``(module, attribute path)`` pairs), ``evaluate`` (turns an output into comparable values;
        bound by name, with ``output``).

    Returns
    -------
    callable
        The check; its ``exercise`` attribute holds the declaration.
    """
    declared = Exercise(signature, reference, cases, random, misconceptions, **options)
    protect([declared, *declared.misconceptions])
    name = declared.name

    def check(fn: Callable, *, n_random: int = 0, seed: int | None = None) -> None:
        declared.run(fn, n_random=n_random, seed=seed)

    check.__name__ = check.__qualname__ = f"check_{name}"
    check.__doc__ = _DOC.format(
        doc=inspect.cleandoc(doc),
        name=name,
        signature=signature,
        n_fixed=len(declared.fixed),
        reference=reference.__qualname__,
    )
    params = list(inspect.signature(check).parameters.values())
    check.__signature__ = inspect.Signature(
        [params[0].replace(name=name), *params[1:]], return_annotation=None
    )
    check.exercise = declared
    return check
