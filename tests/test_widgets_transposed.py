"""The transposed-convolution explorer: its state function and its widget callbacks, headless."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from convlab.widgets import TransposedExplorer, transposed_explorer, transposed_state

SEED_X = np.arange(1.0, 10.0).reshape(3, 3)
SEED_5 = [[1, 0, 2, 0, 3], [0, 6, 0, 8, 0], [4, 0, 5, 0, 6], [0, 12, 0, 14, 0], [7, 0, 8, 0, 9]]
SEED_6 = [
    [1, 0, 2, 0, 3, 0],
    [0, 1, 0, 2, 0, 3],
    [4, 0, 6, 0, 8, 0],
    [0, 4, 0, 5, 0, 6],
    [7, 0, 12, 0, 14, 0],
    [0, 7, 0, 8, 0, 9],
]


@pytest.mark.parametrize(
    ("i", "k", "s", "p", "op"), [(2, 4, 3, 0, 0), (3, 3, 2, 1, 1), (4, 2, 2, 0, 1), (1, 3, 1, 1, 0)]
)
def test_state_views_agree_with_torch(rng, i, k, s, p, op):
    x = rng.standard_normal((i, i))
    w = rng.standard_normal((k, k))
    st = transposed_state(i, k, s, p, op, input=x, weight=w)
    ref = F.conv_transpose2d(torch.tensor(x)[None, None], torch.tensor(w)[None, None], stride=s, padding=p,
                             output_padding=op)[0, 0].numpy()  # fmt: skip
    assert st["valid"] and st["consistent"]
    assert st["output_size"] == ref.shape[0]
    np.testing.assert_allclose(st["scatter"], ref, atol=1e-12)
    np.testing.assert_allclose(st["zero_insert"]["output"], ref, atol=1e-12)
    assert st["zero_insert"]["pad"] == k - p - 1
    np.testing.assert_array_equal(st["zero_insert"]["flipped"], w[::-1, ::-1])
    assert f"stride={s}, padding={p}, output_padding={op}" in st["torch_call"]


def test_state_seed_example_2x2_k4_s3_is_7x7():
    st = transposed_state(2, 4, 3)
    assert st["output_size"] == 7 and st["canvas"].shape == (7, 7)
    # the overlap column/row 3 receives two (or four) stamps of ones
    assert st["scatter"][0, 3] == 1 + 2 and st["scatter"][3, 3] == 1 + 2 + 3 + 4


@pytest.mark.parametrize(
    ("kwargs", "word"),
    [({"output_padding": 2}, "output_padding"), ({"padding": 4, "input_size": 1}, "padding")],
)
def test_state_reports_impossible_combinations(kwargs, word):
    st = transposed_state(**{"input_size": 3, "kernel_size": 3, "stride": 2, **kwargs})
    assert st["valid"] is False
    assert word in st["message"]


def test_state_tensorflow_same_reproduces_the_seed_matrices():
    five = transposed_state(3, 3, 2, mode="tensorflow", output_shape=5, weight=np.eye(3))
    six = transposed_state(3, 3, 2, mode="tensorflow", output_shape=6, weight=np.eye(3))
    assert five["valid_output_shapes"] == [5, 6]
    np.testing.assert_array_equal(five["tf_result"], SEED_5)
    np.testing.assert_array_equal(six["tf_result"], SEED_6)
    assert six["tf_pad"] == (0, 1)  # the extra pixel goes after
    assert "output_shape=[1, 6, 6, 1]" in six["tf_call"]


def test_state_tensorflow_reports_invalid_output_shape():
    st = transposed_state(3, 3, 2, mode="tensorflow", output_shape=7)
    assert st["valid"] is False and "output_shape" in st["message"]
    assert transposed_state(3, 3, 2, mode="tensorflow", tf_padding="VALID")["valid_output_shapes"] == [7, 8]


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"stride": 0}, ValueError, "`stride`"),
        ({"input_size": 2.5}, TypeError, "`input_size`"),
        ({"mode": "caffe"}, ValueError, "`mode`"),
        ({"input": np.ones((2, 2))}, ValueError, "`input`"),
        ({"kernel_size": 20}, ValueError, "`kernel_size`"),
    ],
)
def test_state_rejects_bad_arguments(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        transposed_state(**kwargs)


def test_widget_callbacks_update_state_summary_and_image():
    explorer = transposed_explorer()
    assert isinstance(explorer, TransposedExplorer)
    assert explorer.state["output_size"] == 7 and explorer.image.value[:4] == b"\x89PNG"
    explorer.controls["stride"].value = 2
    assert explorer.state["output_size"] == 6 and "6×6" in explorer.summary.value
    explorer.controls["output_padding"].value = 2  # not smaller than the stride
    assert explorer.state["valid"] is False
    assert "impossible" in explorer.summary.value and explorer.image.value == b""
    explorer.controls["output_padding"].value = 0
    explorer.controls["mode"].value = "tensorflow"
    assert list(explorer.controls["output_shape"].options) == [3, 4]
    assert explorer.controls["padding"].disabled
    explorer.controls["output_shape"].value = 4
    assert explorer.state["output_size"] == 4 and "conv2d_transpose" in explorer.summary.value
    explorer.controls["mode"].value = "pytorch"
    assert explorer.controls["output_shape"].disabled and explorer.state["mode"] == "pytorch"
