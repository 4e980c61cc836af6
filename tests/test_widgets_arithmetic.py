"""The arithmetic explorer: its state against convlab.arithmetic and torch, its callbacks headless."""

import itertools

import pytest
import torch

from convlab.arithmetic import conv_output_size, conv_transpose_output_size
from convlab.widgets.arithmetic import arithmetic_explorer, arithmetic_state, dumoulin_visin_case

GRID = list(itertools.product([1, 4, 7], [1, 2, 3, 5], [1, 2, 3], [0, 1, 2], [1, 2]))


def _torch_size(module, i):
    with torch.no_grad():
        return module(torch.zeros(1, 1, i, i)).shape[-1]


@pytest.mark.parametrize(("i", "k", "s", "p", "d"), GRID)
def test_state_matches_arithmetic_and_torch(i, k, s, p, d):
    state = arithmetic_state(i, k, s, p, d)
    try:
        expected = conv_output_size(i, k, s, p, d)
    except ValueError:
        assert not state["valid"] and state["output_size"] is None and state["message"]
        with pytest.raises(RuntimeError):
            _torch_size(eval(state["torch_call"], {"torch": torch}), i)
        return
    assert state["valid"] and state["message"] == ""
    assert state["output_size"] == expected
    assert state["formula"].endswith(f"= {expected}")
    assert state["effective_kernel"] == d * (k - 1) + 1
    assert _torch_size(eval(state["torch_call"], {"torch": torch}), i) == expected


@pytest.mark.parametrize(("i", "k", "s", "p", "d"), GRID[::3])
@pytest.mark.parametrize("a", [0, 1, 2])
def test_transposed_state_matches_arithmetic_and_torch(i, k, s, p, d, a):
    state = arithmetic_state(i, k, s, p, d, transposed=True, output_padding=a)
    try:
        expected = conv_transpose_output_size(i, k, s, p, a, d)
    except ValueError:
        assert not state["valid"] and state["message"]
        return
    assert state["valid"], state["message"]
    assert state["output_size"] == expected
    assert state["case"].startswith("transposed")
    module = eval(state["torch_call"], {"torch": torch})
    assert isinstance(module, torch.nn.ConvTranspose2d)
    assert _torch_size(module, i) == expected


def test_impossible_combinations_are_reported_not_raised():
    state = arithmetic_state(2, 5)
    assert not state["valid"] and "does not fit" in state["message"]
    state = arithmetic_state(5, 3, s=2, transposed=True, output_padding=2)
    assert not state["valid"] and "output_padding" in state["message"]
    state = arithmetic_state(5, 3, output_padding=1)
    assert not state["valid"] and "transposed" in state["message"]
    state = arithmetic_state(0, 3)
    assert not state["valid"] and "`i`" in state["message"]


def test_state_rejects_non_integers():
    with pytest.raises(TypeError, match="`k`"):
        arithmetic_state(5, 2.5)
    with pytest.raises(TypeError, match="`transposed`"):
        arithmetic_state(5, 3, transposed="yes")


@pytest.mark.parametrize(
    ("args", "name"),
    [
        ((4, 3, 1, 0), "no padding, unit strides"),
        ((5, 4, 1, 2), "arbitrary padding, unit strides"),
        ((5, 3, 1, 1), "half (same) padding, unit strides"),
        ((5, 3, 1, 2), "full padding, unit strides"),
        ((5, 3, 2, 0), "no padding, non-unit strides"),
        ((5, 3, 2, 1), "padding, non-unit strides"),
        ((6, 3, 2, 1), "padding, non-unit strides, odd: a = (i+2p-k) mod s = 1"),
        ((7, 3, 1, 2, 2), "dilated, half (same) padding, unit strides"),
    ],
)
def test_dumoulin_visin_case_names(args, name):
    assert dumoulin_visin_case(*args) == name


def test_explorer_callbacks_headless():
    explorer = arithmetic_explorer(i=5, k=3, s=2, p=1)
    assert "output size: 3×3" in explorer.summary.value
    assert explorer.image.value[:4] == b"\x89PNG"
    explorer.controls["s"].value = 1  # observe fires update
    assert explorer.state["output_size"] == 5
    assert "half (same) padding" in explorer.summary.value
    assert "torch.nn.Conv2d(1, 1, kernel_size=3, stride=1, padding=1, dilation=1)" in explorer.summary.value
    explorer.controls["k"].value = 7
    explorer.controls["p"].value = 0
    assert not explorer.state["valid"]
    assert "impossible" in explorer.summary.value and explorer.image.value == b""
    explorer.controls["k"].value = 3
    explorer.controls["s"].value = 2
    explorer.controls["transposed"].value = True
    explorer.controls["output_padding"].value = 1
    assert explorer.state["output_size"] == conv_transpose_output_size(5, 3, 2, 0, 1)
    assert "ConvTranspose2d" in explorer.summary.value
    state = explorer.update()
    assert state == explorer.state
