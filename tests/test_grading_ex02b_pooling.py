"""The checks of ``ex02b_pooling``: the model answer passes, every planted bug fails with its
diagnosis, library shortcuts earn nothing, and the written questions are graded with hints."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import convlab.grading as grading
from convlab.course.layout import Course
from convlab.grading import CheckFailure, ShortcutError

SOURCE = Course(Path(__file__).resolve().parents[1] / "exercises").source("ex02b_pooling")


def _model() -> dict[str, object]:
    """The imports cell and the solution cells of the source notebook: the model answers."""
    namespace: dict[str, object] = {"__name__": "convlab_solution_ex02b_pooling"}
    for cell in json.loads(SOURCE.read_text())["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell["cell_type"] == "code" and (meta.get("solution") or meta.get("grade_id") == "imports"):
            exec("".join(cell["source"]), namespace)
    return namespace


MODEL = _model()


def fails_with(name, fn, *fragments, kind=CheckFailure, **kwargs):
    with pytest.raises(kind) as info:
        getattr(grading, f"check_{name}")(fn, **kwargs)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in:\n{message}"
    return message


# --------------------------------------------------------------------------- student-like bugs


def _pool_loop(x, k, s, *, window_index=False, last_tie=False, global_index=False):
    n, c, h, w = x.shape
    ho, wo = (h - k) // s + 1, (w - k) // s + 1
    out, idx = np.zeros((n, c, ho, wo)), np.zeros((n, c, ho, wo), dtype=np.int64)
    for b, ch, i, j in np.ndindex(n, c, ho, wo):
        best, where = -np.inf, 0
        for a in range(k):
            for e in range(k):
                v = x[b, ch, i * s + a, j * s + e]
                if v > best or (last_tie and v == best):
                    best = v
                    where = a * k + e if window_index else (i * s + a) * w + (j * s + e)
        out[b, ch, i, j] = best
        idx[b, ch, i, j] = where + ((b * c + ch) * h * w if global_index else 0)
    return out, idx


def pool_stride_one(x, kernel_size, stride=None):
    return _pool_loop(x, kernel_size, 1 if stride is None else stride)


def pool_window_index(x, kernel_size, stride=None):
    return _pool_loop(x, kernel_size, stride or kernel_size, window_index=True)


def pool_last_tie(x, kernel_size, stride=None):
    return _pool_loop(x, kernel_size, stride or kernel_size, last_tie=True)


def pool_global_index(x, kernel_size, stride=None):
    return _pool_loop(x, kernel_size, stride or kernel_size, global_index=True)


def backward_assigned(grad_output, indices, input_shape):
    n, c, h, w = input_shape
    dx = np.zeros((n, c, h * w))
    for b, ch in np.ndindex(n, c):
        dx[b, ch, indices[b, ch].ravel()] = grad_output[b, ch].ravel()  # last write wins
    return dx.reshape(input_shape)


def backward_whole_array(grad_output, indices, input_shape):
    dx = np.zeros(int(np.prod(input_shape)))
    np.add.at(dx, indices.ravel(), grad_output.ravel())
    return dx.reshape(input_shape)


def _field(layers, *, multiply=True, jump_first=False, padding=True, dilation=True, centre=True):
    size, jump, start = 1, 1, 0.0
    for k, s, p, d in layers:
        span = (d if dilation else 1) * (k - 1)
        if jump_first:
            jump *= s
        size += span * jump
        start += (span / 2 - (p if padding else 0)) * jump
        if multiply and not jump_first:
            jump *= s
    return size, jump, start if centre else start - (size - 1) / 2


PLANTED = {
    "max_pool2d": [
        (pool_stride_one, "stride defaults to 1"),
        (pool_window_index, "positions inside the window"),
        (pool_last_tie, "last maximum"),
        (pool_global_index, "whole (N, C, H, W) array"),
    ],
    "max_pool2d_backward": [
        (backward_assigned, "keep only one of their gradients"),
        (backward_whole_array, "whole flattened (N, C, H, W) array"),
    ],
    "receptive_field": [
        (lambda layers: _field(layers, multiply=False), "jump is never multiplied"),
        (lambda layers: _field(layers, jump_first=True), "multiply the jump before using it"),
        (lambda layers: _field(layers, padding=False), "padding is ignored in the start offset"),
        (lambda layers: _field(layers, dilation=False), "dilation is ignored"),
        (lambda layers: _field(layers, centre=False), "first pixel of the field"),
    ],
}
PLANTED_CASES = [(name, i) for name, bugs in PLANTED.items() for i in range(len(bugs))]


@pytest.mark.parametrize("name", list(PLANTED))
def test_model_answer_passes(name, capsys):
    getattr(grading, f"check_{name}")(MODEL[name])
    getattr(grading, f"check_{name}")(MODEL[name], n_random=60, seed=11)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and all(line.startswith(f"✔ {name} passed") for line in lines)


@pytest.mark.parametrize(("name", "index"), PLANTED_CASES, ids=[f"{n}-{i}" for n, i in PLANTED_CASES])
def test_planted_bug_fails_with_its_diagnosis(name, index):
    bug, diagnosis = PLANTED[name][index]
    message = fails_with(name, bug, diagnosis, f"`{name}` failed on case")
    assert message.count("Diagnosis:") == 1, message  # the one hint that reproduces the output


@pytest.mark.parametrize(("name", "index"), PLANTED_CASES, ids=[f"{n}-{i}" for n, i in PLANTED_CASES])
def test_planted_bug_fails_the_random_cases_too(name, index):
    bug, diagnosis = PLANTED[name][index]
    getattr(grading, f"check_{name}")  # loads the module
    with pytest.raises(CheckFailure):
        check = getattr(grading, f"check_{name}")
        check(bug, n_random=60, seed=3)


def test_the_diagnoses_reproduce_the_bugs_they_name():
    """A bug that matches no misconception gets no hint: a plain wrong answer stays undiagnosed."""
    message = fails_with("max_pool2d", lambda x, k, s=None: (MODEL["max_pool2d"](x, k, s)[0] * 2, None))
    assert "Diagnosis" not in message


def test_the_model_answers_equal_torch():
    """The reference the checks use is torch's: spot-check the model answers against it."""
    rng = np.random.default_rng(0)
    x = rng.integers(0, 3, (2, 3, 7, 8)).astype(np.float64)
    xt = torch.tensor(x, requires_grad=True)
    out_t, idx_t = torch.nn.functional.max_pool2d(xt, 3, 2, return_indices=True)
    out, idx = MODEL["max_pool2d"](x, 3, 2)
    np.testing.assert_array_equal(out, out_t.detach().numpy())
    np.testing.assert_array_equal(idx, idx_t.numpy())
    g = rng.standard_normal(out.shape)
    out_t.backward(torch.tensor(g))
    np.testing.assert_allclose(MODEL["max_pool2d_backward"](g, idx, x.shape), xt.grad.numpy(), atol=1e-12)


SHORTCUTS = {
    "max_pool2d": [
        (
            lambda x, k, s=None: tuple(
                t.numpy()
                for t in torch.nn.functional.max_pool2d(torch.from_numpy(x), k, s, return_indices=True)
            ),
            "max_pool2d",
        ),
        (
            lambda x, k, s=None: __import__("convlab.functional").functional.max_pool2d(
                x, k, s, return_indices=True
            ),
            "convlab.functional.max_pool2d",
        ),
    ],
    "max_pool2d_backward": [
        (
            lambda g, idx, shape: torch.nn.functional.max_unpool2d(
                torch.from_numpy(g), torch.from_numpy(idx), 1, output_size=shape[2:]
            ).numpy(),
            "max_unpool2d",
        ),
        (
            lambda g, idx, shape: __import__("convlab.functional").functional.max_unpool2d(
                g, idx, 1, output_size=shape[2:]
            ),
            "convlab.functional.max_unpool2d",
        ),
    ],
    "receptive_field": [
        (
            lambda layers: tuple(__import__("convlab.arithmetic").arithmetic.receptive_field(layers)),
            "convlab.arithmetic.receptive_field",
        ),
    ],
}


@pytest.mark.parametrize(("name", "index"), [(n, i) for n, v in SHORTCUTS.items() for i in range(len(v))])
def test_calling_a_library_earns_nothing(name, index):
    shortcut, qualname = SHORTCUTS[name][index]
    fails_with(name, shortcut, qualname, kind=ShortcutError)


def test_autograd_is_switched_off_for_the_backward_pass():
    def via_autograd(g, idx, shape):
        x = torch.zeros(shape, dtype=torch.float64, requires_grad=True)
        flat = x.reshape(shape[0], shape[1], -1)
        picked = torch.gather(flat, 2, torch.from_numpy(idx).reshape(shape[0], shape[1], -1))
        (dx,) = torch.autograd.grad((picked * torch.from_numpy(g).reshape(picked.shape)).sum(), x)
        return dx.numpy()

    fails_with("max_pool2d_backward", via_autograd, "torch.autograd.grad", kind=ShortcutError)


def test_stub_and_mutation_are_reported():
    def stub(*args):
        raise NotImplementedError

    fails_with("max_pool2d", stub, "not written yet")

    def mutating(x, k, s=None):
        result = MODEL["max_pool2d"](x, k, s)
        x[...] = 0
        return result

    fails_with("max_pool2d", mutating, "modified its input")


def test_pooling_functions_are_restored_after_a_check():
    originals = (torch.nn.functional.max_pool2d, torch.max_pool2d, torch.Tensor.backward)
    with pytest.raises(CheckFailure):
        grading.check_max_pool2d_backward(lambda *a: 1 / 0)
    assert (torch.nn.functional.max_pool2d, torch.max_pool2d, torch.Tensor.backward) == originals
    assert torch.nn.functional.max_pool2d(torch.ones(1, 1, 2, 2), 2).item() == 1.0


# --------------------------------------------------------------------------- written questions


def test_answers_are_graded_with_hints(capsys):
    for question in ("pool_rows", "conv_params", "stride2_field"):
        grading.check_answer(question, MODEL[question])
    assert capsys.readouterr().out.count("is right") == 3
    assert (
        MODEL["pool_rows"]
        == torch.nn.functional.max_pool2d(torch.zeros(1, 1, 7, 7), 2, 2, 1, ceil_mode=True).shape[-2]
    )
    assert MODEL["conv_params"] == sum(p.numel() for p in torch.nn.Conv2d(64, 128, 3).parameters())
    with pytest.raises(CheckFailure, match="right padding"):
        grading.check_answer("pool_rows", 5)
    with pytest.raises(CheckFailure, match="bias"):
        grading.check_answer("conv_params", 128 * 64 * 9)
    with pytest.raises(CheckFailure, match="jump doubles"):
        grading.check_answer("stride2_field", 9)
    with pytest.raises(CheckFailure, match="not right") as info:
        grading.check_answer("stride2_field", 30)
    assert "Diagnosis" not in str(info.value)
    with pytest.raises(CheckFailure, match="must be an integer"):
        grading.check_answer("stride2_field", None)
    grading.check_answer("stride2_field", 31.0)  # an integral float is accepted
    with pytest.raises(ValueError, match="`question`"):
        grading.check_answer("nope", 1)
