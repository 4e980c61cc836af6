"""Running a check: an exercise declared as a table, turned into a ``check_<name>`` function.

:func:`exercise` takes the exercise's signature, its reference, its fixed cases, a function that
draws one random case and its misconceptions, and returns the check. Running it:

1. computes the expected output of every case with the reference *before* the student's function
   runs, on copies of the inputs;
2. calls the student's function on fresh copies, with the library versions of the operation
   switched off (:mod:`convlab.grading.shortcuts`);
3. compares case by case (:mod:`convlab.grading.comparison`); on the first wrong case, each
   misconception that applies is computed on the same inputs, and its hint is shown when it
   reproduces the student's output.
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

from convlab.grading.cases import Case, Misconception, Signature, case_rng, draw, resolve_seed
from convlab.grading.comparison import (
    CheckFailure,
    Mismatch,
    ShortcutError,
    compare,
    describe_argument,
    kind,
    matches,
    safe_str,
    type_name,
    unchanged,
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
    An :class:`AssertionError` naming the first failing case, the expected and received output
    and, when it recognises one, the misconception behind the error.
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

    def _call_all(self, fn, cases, bound, watch) -> tuple[list[tuple[str, object]], list[dict]]:
        """Call ``fn`` on each case (on copies), stopping at the first call that settles the check."""
        results: list[tuple[str, object]] = []
        inputs: list[dict] = []
        for case, (given, _) in zip(cases, bound, strict=True):
            given = _deepcopy(given)
            inputs.append(given)
            args, kwargs = self.signature.split(given)
            results.append(_call(fn, args, kwargs, watch))
            status, value = results[-1]
            if watch.found or watch.tampering or status == "timeout":
                break
            if status == "raised" and (case.raises is None or not isinstance(value, case.raises)):
                break
        return results, inputs

    def run(self, fn: object, *, n_random: int = 0, seed: int | None = None) -> None:
        """Check ``fn``; print one line on success, raise :class:`CheckFailure` on the first wrong case."""
        name = self.name
        seed = self._check_arguments(fn, n_random, seed)
        cases = self.cases(seed, n_random)
        bound = [self.signature.bind(case) for case in cases]
        # 1. expected values, from the reference, on copies, before any student code runs
        expected = [self._expected(case, values) for case, (_, values) in zip(cases, bound, strict=True)]
        originals = [_deepcopy(given) for given, _ in bound]
        # 2. the student's calls, watched, each within the time budget
        watch = Watch(self.blocked)
        results, inputs = self._call_all(fn, cases, bound, watch)
        changed = watch.tampering or tampered()
        if changed is not None:
            raise CheckFailure(
                f"`{name}` changed the grader while it ran (`{changed}`), so the check cannot judge it. "
                "Restart the kernel and run the notebook again from the top."
            )
        if watch.found is not None:
            raise ShortcutError(shortcut_message(name, watch.found))
        # 3. compare, case by case
        n_fixed = len(self.fixed)
        for index, (case, (status, got)) in enumerate(zip(cases, results, strict=False)):
            values = bound[index][1]
            problem = self._judge(case, values, status, got, expected[index], originals[index], inputs[index])
            if problem is None:
                continue
            hints = self._diagnose(case, values, status, got, expected[index])
            where = f"case {index + 1} of {n_fixed}"
            if case.random:
                where = (
                    f"random case {index - n_fixed + 1} of {len(cases) - n_fixed} (seed {seed}; reproduce "
                    f"with check_{name}({name}, n_random={n_random}, seed={seed}))"
                )
            lines = [f"`{name}` failed on {where}:"]
            lines += [describe_argument(k, v) for k, v in bound[index][0].items()]
            lines += ["  " + line.replace("\n", "\n  ") for line in problem]
            lines += [f"Diagnosis: {hint}" for hint in hints]
            raise CheckFailure("\n".join(lines))
        if n_random:
            print(f"✔ {name} passed {n_fixed} fixed and {len(cases) - n_fixed} random cases (seed {seed})")
        else:
            print(f"✔ {name} passed {len(cases)} cases")

    def _judge(self, case, values, status, got, expected, original, used) -> list[str] | None:
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

    def _diagnose(self, case, values, status, got, expected) -> list[str]:
        if status != "ok" or case.raises is not None:  # the problem says it: no error raised
            return []
        try:
            value = self._value(got, values)
        except Exception:
            return []
        hints = []
        for m in self.misconceptions:
            try:
                if not m.applies(values, case):
                    continue
                wrong = self._value(m.output(values, case, expected, self.reference), values)
            except Exception:
                continue
            if matches(value, wrong, None) and not matches(expected, wrong, None):
                hints.append(m.hint)
        return hints


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
