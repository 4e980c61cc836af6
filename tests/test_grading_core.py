"""The machinery shared by the checks: seeds, trusted references, shortcut blocking, comparison."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import convlab.signal
from convlab.grading import CheckFailure, ShortcutError, check_convolve1d
from convlab.grading._core import blocking_shortcuts, relative_error, resolve_seed


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


def test_blocking_restores_everything_on_error():
    originals = (np.convolve, np.correlate, torch.nn.functional.interpolate, torch.pixel_shuffle)
    with pytest.raises(ZeroDivisionError), blocking_shortcuts("demo") as monitor:
        with pytest.raises(ShortcutError, match="`demo` called `numpy.convolve`"):
            np.convolve([1.0], [1.0])
        assert monitor.called == ["numpy.convolve"]
        1 / 0  # noqa: B018
    assert (np.convolve, np.correlate, torch.nn.functional.interpolate, torch.pixel_shuffle) == originals


def test_relative_error_is_norm_relative():
    assert relative_error(np.array([3.0, 4.0]), np.array([0.0, 0.0])) == 5.0
    assert relative_error(np.array([1.0, 1.0]), np.array([1.0, 0.0])) == pytest.approx(1.0)
