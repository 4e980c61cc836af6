"""The worked examples of the reference texts the course grew from, reproduced exactly.

- 2x2 input, 4x4 kernel, stride 3 -> 7x7: each input pixel stamps the kernel, overlaps are summed.
- 3x3 input zero-inserted with stride 2 -> 5x5, padded to 7x7, a valid 3x3 convolution -> 5x5.
- 4x4 input, 3x3 kernel, no padding: the 4x16 matrix C with y = C x and dL/dx = C^T dL/dy.
- TensorFlow's conv2d_transpose of [[1,2,3],[4,5,6],[7,8,9]] with the 3x3 identity kernel,
  stride 2, 'SAME', to 5x5 and to 6x6.

Every example has small integer entries, so every partial sum is an exactly representable
integer and the results are exact in any summation order (any BLAS kernel, any CPU): the
comparisons below are exact on purpose.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as tF

from convlab import functional as F
from convlab.matrix import conv_matrix
from convlab.transposed import (
    conv_transpose2d_matrix,
    conv_transpose2d_scatter,
    conv_transpose2d_zero_insert,
    tf_conv2d_transpose,
    zero_insert,
)

VIEWS = [conv_transpose2d_scatter, conv_transpose2d_zero_insert, conv_transpose2d_matrix, F.conv_transpose2d]


# ------------------------------------------------------------------------------------------
# 2x2 input, 4x4 kernel, stride 3 -> 7x7


@pytest.mark.parametrize("view", VIEWS)
def test_stamp_2x2_with_4x4_kernel_stride_3(view):
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    k = np.arange(1.0, 17.0).reshape(4, 4)
    # By hand: the four 4x4 stamps x[i, j] * k, placed 3 apart; row 0 / column 3 is where they meet.
    red, green, blue, yellow = 1 * k, 2 * k, 3 * k, 4 * k
    expected = np.zeros((7, 7))
    expected[0:4, 0:4] += red
    expected[0:4, 3:7] += green
    expected[3:7, 0:4] += blue
    expected[3:7, 3:7] += yellow
    assert expected.shape == ((2 - 1) * 3 + 4,) * 2  # out = (in - 1) * s + k = 7
    assert expected[0, 3] == red[0, 3] + green[0, 0] == 4 + 2
    assert expected[3, 3] == red[3, 3] + green[3, 0] + blue[0, 3] + yellow[0, 0] == 16 + 26 + 12 + 4
    got = view(x[None, None], k[None, None], stride=3)[0, 0]
    np.testing.assert_array_equal(got, expected)
    ref = tF.conv_transpose2d(torch.from_numpy(x[None, None]), torch.from_numpy(k[None, None]), stride=3)
    np.testing.assert_array_equal(ref[0, 0].numpy(), expected)


# ------------------------------------------------------------------------------------------
# 3x3 -> zero insertion 5x5 -> padding 7x7 -> valid 3x3 convolution 5x5


def test_zero_insert_pad_then_valid_conv_3x3_to_5x5():
    x = np.arange(1.0, 10.0).reshape(3, 3)
    k = np.array([[1.0, 2.0, 0.0], [0.0, 1.0, 3.0], [2.0, 0.0, 1.0]])
    z = zero_insert(x, 2)
    np.testing.assert_array_equal(
        z,
        [[1, 0, 2, 0, 3],
         [0, 0, 0, 0, 0],
         [4, 0, 5, 0, 6],
         [0, 0, 0, 0, 0],
         [7, 0, 8, 0, 9]],
    )  # fmt: skip
    padded = np.pad(z, 1)  # k - 1 - p with k = 3, p = 1
    assert padded.shape == (7, 7)
    # A valid 3x3 convolution (true convolution: the kernel rotated by 180 degrees) -> 5x5.
    valid = F.conv2d(padded[None, None], k[::-1, ::-1].copy()[None, None])[0, 0]
    assert valid.shape == (5, 5)
    # It is the transposed convolution with stride 2, padding 1.
    for view in VIEWS:
        np.testing.assert_allclose(view(x[None, None], k[None, None], stride=2, padding=1)[0, 0], valid)
    # Spot-check one pixel by hand: out[1, 1] sees rows 1..3, cols 1..3 of the padded input;
    # the rotated kernel is [[1, 0, 2], [3, 1, 0], [0, 2, 1]].
    window = padded[1:4, 1:4]
    assert valid[1, 1] == np.sum(window * k[::-1, ::-1]) == 1 * 1 + 2 * 2 + 4 * 0 + 5 * 1


# ------------------------------------------------------------------------------------------
# 4x4 input, 3x3 kernel -> the 4x16 matrix C


def test_matrix_c_for_4x4_input_3x3_kernel():
    w = np.arange(1.0, 10.0).reshape(3, 3)  # w00 .. w22 = 1 .. 9
    c = conv_matrix(4, w)
    expected = np.array(
        [[1, 2, 3, 0, 4, 5, 6, 0, 7, 8, 9, 0, 0, 0, 0, 0],
         [0, 1, 2, 3, 0, 4, 5, 6, 0, 7, 8, 9, 0, 0, 0, 0],
         [0, 0, 0, 0, 1, 2, 3, 0, 4, 5, 6, 0, 7, 8, 9, 0],
         [0, 0, 0, 0, 0, 1, 2, 3, 0, 4, 5, 6, 0, 7, 8, 9]],
        dtype=float,
    )  # fmt: skip
    np.testing.assert_array_equal(c, expected)

    x = np.array([[3, 3, 2, 1], [0, 0, 1, 3], [3, 1, 2, 2], [2, 0, 0, 2]], dtype=float)
    y = c @ x.ravel()  # forward: y = C x, a 2x2 output
    np.testing.assert_array_equal(y.reshape(2, 2), F.conv2d(x[None, None], w[None, None])[0, 0])
    ref = tF.conv2d(torch.from_numpy(x[None, None]), torch.from_numpy(w[None, None]))
    np.testing.assert_array_equal(y.reshape(2, 2), ref[0, 0].numpy())

    # backward: dL/dx = C^T dL/dy, the transposed convolution 2x2 -> 4x4.
    dy = np.array([[1.0, -2.0], [0.5, 3.0]])
    dx = (c.T @ dy.ravel()).reshape(4, 4)
    xt = torch.from_numpy(x[None, None]).requires_grad_()
    tF.conv2d(xt, torch.from_numpy(w[None, None])).backward(torch.from_numpy(dy[None, None]))
    np.testing.assert_array_equal(dx, xt.grad[0, 0].numpy())
    np.testing.assert_array_equal(dx, conv_transpose2d_scatter(dy[None, None], w[None, None])[0, 0])


# ------------------------------------------------------------------------------------------
# TensorFlow conv2d_transpose, 3x3 -> 5x5 and 3x3 -> 6x6


TF_INPUT = np.arange(1.0, 10.0).reshape(1, 3, 3, 1)
TF_KERNEL = np.eye(3).reshape(3, 3, 1, 1)


def test_tf_same_stride_2_to_5x5():
    got = tf_conv2d_transpose(TF_INPUT, TF_KERNEL, output_shape=[1, 5, 5, 1], strides=2, padding="SAME")
    expected = np.array(
        [[1, 0, 2, 0, 3],
         [0, 6, 0, 8, 0],
         [4, 0, 5, 0, 6],
         [0, 12, 0, 14, 0],
         [7, 0, 8, 0, 9]],
        dtype=float,
    )  # fmt: skip
    assert got.shape == (1, 5, 5, 1)
    np.testing.assert_array_equal(got[0, :, :, 0], expected)
    # The text's recipe: zero insertion, one ring of zeros (7x7), a stride-1 3x3 convolution.
    padded = np.pad(zero_insert(TF_INPUT[0, :, :, 0], 2), 1)
    np.testing.assert_array_equal(padded[1:-1, 1:-1][::2, ::2], TF_INPUT[0, :, :, 0])
    np.testing.assert_array_equal(F.conv2d(padded[None, None], np.eye(3)[None, None])[0, 0], expected)


def test_tf_same_stride_2_to_6x6():
    got = tf_conv2d_transpose(TF_INPUT, TF_KERNEL, output_shape=[1, 6, 6, 1], strides=2, padding="SAME")
    expected = np.array(
        [[1, 0, 2, 0, 3, 0],
         [0, 1, 0, 2, 0, 3],
         [4, 0, 6, 0, 8, 0],
         [0, 4, 0, 5, 0, 6],
         [7, 0, 12, 0, 14, 0],
         [0, 7, 0, 8, 0, 9]],
        dtype=float,
    )  # fmt: skip
    assert got.shape == (1, 6, 6, 1)
    np.testing.assert_array_equal(got[0, :, :, 0], expected)
    # The text's recipe: one ring of zeros, then one more row and column at the top-left (8x8).
    padded = np.pad(zero_insert(TF_INPUT[0, :, :, 0], 2), ((2, 1), (2, 1)))
    assert padded.shape == (8, 8)
    np.testing.assert_array_equal(F.conv2d(padded[None, None], np.eye(3)[None, None])[0, 0], expected)
