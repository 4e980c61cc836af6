"""The machinery shared by the checks: seeds, trusted references, shortcut blocking, comparison."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import convlab.signal
from convlab.grading import CheckFailure, ShortcutError, check_convolve1d
from convlab.grading.cases import resolve_seed
from convlab.grading.comparison import relative_error
from convlab.grading.running import Case, exercise
from convlab.grading.running import Misconception as M
from convlab.grading.shortcuts import Watch


def _convolve1d(f, g, mode="full"):
    full = np.zeros(len(f) + len(g) - 1)
    for k, tap in enumerate(g):
        full[k : k + len(f)] += tap * f
    start = {"full": 0, "same": (len(g) - 1) // 2, "valid": len(g) - 1}[mode]
    size = {"full": len(full), "same": len(f), "valid": len(f) - len(g) + 1}[mode]
    return full[start : start + size]


def test_seed_explicit_then_environment_then_fresh(monkeypatch):
    monkeypatch.setenv("CONVLAB_GRADING_SEED", "31")
    assert resolve_seed(5) == 5
    assert resolve_seed() == 31
    monkeypatch.setenv("CONVLAB_GRADING_SEED", "not-a-number")
    with pytest.raises(ValueError, match="`CONVLAB_GRADING_SEED` must be an integer"):
        resolve_seed()
    monkeypatch.delenv("CONVLAB_GRADING_SEED")
    assert len({resolve_seed() for _ in range(4)}) > 1


def test_a_pinned_seed_gives_the_same_random_cases(monkeypatch, capsys):
    calls = []

    def recording(f, g, mode="full"):
        calls.append((f.tolist(), g.tolist(), mode))
        return _convolve1d(f, g, mode)

    monkeypatch.setenv("CONVLAB_GRADING_SEED", "77")
    check_convolve1d(recording, n_random=10)
    first, calls[:] = list(calls), []
    check_convolve1d(recording, n_random=10)
    assert calls == first
    check_convolve1d(recording, n_random=10, seed=78)
    assert calls != first
    assert capsys.readouterr().err == ""


def test_a_replaced_reference_is_refused(monkeypatch):
    monkeypatch.setattr(convlab.signal, "convolve1d", lambda f, g, mode="full": np.zeros(3))
    with pytest.raises(CheckFailure, match="has been replaced"):
        check_convolve1d(_convolve1d)


def test_check_is_an_assertion_and_stops_at_the_first_wrong_case():
    assert issubclass(CheckFailure, AssertionError) and issubclass(ShortcutError, CheckFailure)
    with pytest.raises(AssertionError, match="case 1 of 6"):
        check_convolve1d(lambda f, g, mode="full": _convolve1d(f, g, mode) * 2)


def test_the_watch_sees_a_call_and_puts_the_previous_profile_back():
    import sys

    originals = (np.convolve, np.correlate, torch.nn.functional.interpolate, torch.pixel_shuffle)
    with pytest.raises(ZeroDivisionError), Watch() as watch:
        np.convolve([1.0], [1.0])
        1 / 0  # noqa: B018
    assert watch.found == "numpy.convolve" and watch.tampering is None
    assert sys.getprofile() is None
    assert (np.convolve, np.correlate, torch.nn.functional.interpolate, torch.pixel_shuffle) == originals


def test_relative_error_is_norm_relative():
    assert relative_error(np.array([3.0, 4.0]), np.array([0.0, 0.0])) == 5.0
    assert relative_error(np.array([1.0, 1.0]), np.array([1.0, 0.0])) == pytest.approx(1.0)


# --------------------------------------------------------------------------- declaring an exercise


def _double(x, scale=2.0):
    return x * scale


def _declared(misconceptions=(), cases=None):
    reference = _double
    reference.__qualname__ = "tests._double"
    return exercise(
        "double(x, scale=2.0)",
        reference,
        cases or [Case(np.array([1.0, 2.0])), Case(np.array([3.0]), scale=3.0)],
        lambda rng: Case(rng.standard_normal(3).round(2), scale=float(rng.integers(1, 4))),
        misconceptions,
        doc="Check ``double(x, scale=2.0)``.",
    )


def test_a_declared_check_has_the_shared_docstring_and_signature():
    import inspect

    check = _declared()
    assert check.__name__ == "check_double"
    assert list(inspect.signature(check).parameters) == ["double", "n_random", "seed"]
    assert "Parameters\n----------\ndouble : callable" in check.__doc__
    assert "Number of random cases added to the 2 fixed ones" in check.__doc__
    assert "tests._double : the reference" in check.__doc__


def test_cases_bind_by_name_and_leave_defaults_to_the_student(capsys):
    calls = []

    def double(x, scale=10.0):
        calls.append(scale)
        return x * (2.0 if scale == 10.0 else scale)  # uses its own default

    _declared()(double)
    assert calls == [10.0, 3.0]  # the first case states no scale: the student's default is used
    assert "passed 2 cases" in capsys.readouterr().out


def test_misconceptions_receive_arguments_by_name_changes_and_expected():
    hints = [
        M("forgot the scale", lambda x: x),
        M("scale applied twice", scale=lambda scale: scale * scale),
        M("reversed", lambda expected: expected[::-1]),
        M("only for scale 3", lambda x: x * 9, when=lambda scale: scale == 3.0),
    ]
    check = _declared(hints)
    with pytest.raises(CheckFailure, match="Diagnosis: forgot the scale"):
        check(lambda x, scale=2.0: x)
    with pytest.raises(CheckFailure, match="Diagnosis: scale applied twice"):
        check(lambda x, scale=2.0: x * scale * scale)
    with pytest.raises(CheckFailure, match="Diagnosis: reversed"):
        check(lambda x, scale=2.0: (x * scale)[::-1])
    message = str(
        pytest.raises(CheckFailure, check, lambda x, scale=2.0: x * scale if scale == 2 else x * 9).value
    )
    assert "case 2 of 2" in message and "Diagnosis: only for scale 3" in message
    assert "Diagnosis: scale applied twice" in message  # 3 * 3 = 9: both reproduce the output


def test_a_misconception_of_one_part_of_a_tuple_output():
    check = exercise(
        "split(x)",
        lambda x: (x + 1, x - 1),
        [Case(np.array([1.0, 2.0]))],
        misconceptions=[M("the second part has the wrong sign", lambda x: 1 - x, part=1)],
        doc="Check ``split(x)``.",
    )
    with pytest.raises(CheckFailure, match="the second part has the wrong sign"):
        check(lambda x: (x + 1, 1 - x))


def test_a_declaration_that_names_an_unknown_argument_is_refused():
    with pytest.raises(TypeError, match="asks for `y`"):
        _declared([M("wrong", lambda y: y)])
    with pytest.raises(TypeError, match="changes unknown arguments"):
        _declared([M("wrong", y=1)])
    with pytest.raises(TypeError, match="either `compute` or argument changes"):
        M("wrong", lambda x: x, scale=1)
    with pytest.raises(TypeError):
        _declared(cases=[Case(1, 2, 3)])  # more arguments than the signature has


@pytest.mark.parametrize(
    ("kwargs", "kind", "fragment"),
    [
        ({"n_random": "3"}, TypeError, "`n_random` must be an integer; got n_random='3'"),
        ({"n_random": 2.0}, TypeError, "`n_random` must be an integer"),
        ({"n_random": True}, TypeError, "`n_random` must be an integer"),
        ({"n_random": -1}, ValueError, "`n_random` must be non-negative; got n_random=-1"),
        ({"seed": -5}, ValueError, "`seed` must be a non-negative integer; got seed=-5"),
        ({"seed": "7"}, TypeError, "`seed` must be an integer or None; got seed='7'"),
        ({"seed": 1.5}, TypeError, "`seed` must be an integer or None"),
    ],
)
def test_the_checks_validate_their_own_arguments(kwargs, kind, fragment):
    with pytest.raises(kind) as info:
        check_convolve1d(_convolve1d, **kwargs)
    assert fragment in str(info.value)
    assert not isinstance(info.value, CheckFailure)  # a mistake of the caller, not of the student


def test_one_name_for_the_seed_variable():
    import convlab._seed
    import convlab.course.autograde
    import convlab.grading

    assert convlab.grading.SEED_ENV == convlab._seed.SEED_ENV == "CONVLAB_GRADING_SEED"
    assert convlab.course.autograde.SEED_ENV is convlab._seed.SEED_ENV
