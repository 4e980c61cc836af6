"""Receptive-field figures: their geometry against convlab.arithmetic, their gradient against torch."""

import numpy as np
import pytest
import torch
import torch.nn.functional as tF

from convlab.arithmetic import receptive_field
from convlab.viz.receptive_field import (
    effective_receptive_field_figure,
    field_table,
    input_gradient,
    receptive_field_figure,
)

CONV, POOL = (3, 1, 1, 1), (2, 2, 0, 1)
VGG16_POOL5 = [CONV, CONV, POOL] * 2 + [CONV, CONV, CONV, POOL] * 3


def _support(grad):
    """First and last row and column where the gradient is non-zero."""
    rows, cols = np.nonzero(grad)
    return rows.min(), rows.max(), cols.min(), cols.max()


def test_field_table_is_prefix_by_prefix():
    table = field_table(VGG16_POOL5)
    assert [f.size for f in table][:3] == [3, 5, 6]
    assert table[-1] == receptive_field(VGG16_POOL5) == (212, 32, 15.5)
    assert field_table([]) == []


@pytest.mark.parametrize("seed", range(6))
def test_gradient_support_is_the_field_on_random_stacks(seed):
    """All-ones kernels cannot cancel: the support is exactly the theoretical field."""
    rng = np.random.default_rng(seed)
    layers = []
    for _ in range(rng.integers(1, 5)):
        k, s, d = (int(v) for v in rng.integers(1, 4, 3))
        layers.append((k, s, int(rng.integers(0, k // 2 + 1)), d))
    field = receptive_field(layers)
    size = field.size + 2 * field.jump + 4
    grad = input_gradient(layers, size)
    out = (grad.shape[0],)
    for k, s, p, d in layers:
        out = ((out[0] + 2 * p - d * (k - 1) - 1) // s + 1,)
    centre = field.start + (out[0] // 2) * field.jump
    lo, hi = centre - (field.size - 1) / 2, centre + (field.size - 1) / 2
    r0, r1, c0, c1 = _support(grad)
    assert (r0, r1) == (c0, c1) == (max(lo, 0), min(hi, size - 1)), (layers, field)


def test_gradient_matches_torch_modules():
    """The same stack as torch.nn layers with all-ones weights gives the same gradient."""
    layers = [(3, 1, 1, 1), (3, 2, 1, 1), (3, 1, 2, 2)]
    convs = []
    for k, s, p, d in layers:
        conv = torch.nn.Conv2d(1, 1, k, s, p, d, bias=False).double()
        torch.nn.init.ones_(conv.weight)
        convs.append(conv)
    x = torch.zeros(1, 1, 17, 17, dtype=torch.float64, requires_grad=True)
    y = torch.nn.Sequential(*convs)(x)
    y[0, 0, y.shape[-2] // 2, y.shape[-1] // 2].backward()
    np.testing.assert_array_equal(input_gradient(layers, 17), x.grad[0, 0].numpy())


def test_vgg16_pool5_field_is_212_pixels_with_avg_pooling():
    """Max pooling's gradient would pick one pixel per window; average pooling has the same geometry."""
    grad = input_gradient(VGG16_POOL5, 256, cell=(4, 4))
    r0, r1, c0, c1 = _support(grad)
    assert r1 - r0 + 1 == c1 - c0 + 1 == 212
    assert (r0 + r1) / 2 == 15.5 + 4 * 32
    x = torch.zeros(1, 1, 256, 256, dtype=torch.float64, requires_grad=True)
    y = x
    for k, _, p, _ in VGG16_POOL5:
        y = tF.avg_pool2d(y, 2) if k == 2 else tF.conv2d(y, torch.ones(1, 1, 3, 3, dtype=y.dtype), padding=p)
    y[0, 0, 4, 4].backward()
    assert _support(x.grad[0, 0].numpy()) == (r0, r1, c0, c1)


def test_random_relu_gradient_stays_inside_the_field():
    layers = [CONV] * 5
    grad = input_gradient(layers, 21, weights="random", channels=4, relu=True, seed=3)
    r0, r1, c0, c1 = _support(grad)
    assert 5 <= r0 and r1 <= 15 and 5 <= c0 and c1 <= 15  # the 11-pixel field of the centre


def test_receptive_field_figure_bars_span_each_field():
    layers = [CONV, POOL, CONV, (3, 1, 2, 2)]
    fig = receptive_field_figure(layers, names=list("abcd"), input_size=12)
    ax = fig.axes[0]
    bars = ax.patches[1:]  # the first patch is the input shading
    assert len(bars) == len(layers)
    for bar, field in zip(bars, field_table(layers), strict=True):
        assert bar.get_width() == field.size
        assert bar.get_x() + bar.get_width() / 2 == field.start
    assert [t.get_text() for t in ax.get_yticklabels()] == list("abcd")
    assert ax.patches[0].get_x() == -0.5  # the input shading covers pixels 0..11
    assert len(ax.lines) == len(layers)
    np.testing.assert_allclose(ax.lines[1].get_xdata(), [0.5, 2.5, 4.5])  # centres jump 2


def test_receptive_field_figure_bad_input():
    with pytest.raises(ValueError, match="`names`"):
        receptive_field_figure([CONV], names=["a", "b"])
    with pytest.raises(ValueError, match="`layers`"):
        receptive_field_figure([])
    with pytest.raises(ValueError, match="stride"):
        receptive_field_figure([(3, 0, 1, 1)])


def test_effective_field_figure_geometry():
    layers = [CONV] * 4
    fig = effective_receptive_field_figure(layers, 15)
    left, right = fig.axes
    image = left.images[0]
    assert image.get_extent() == [-0.5, 14.5, 14.5, -0.5]
    np.testing.assert_allclose(
        image.get_array(), np.abs(input_gradient(layers, 15)) / 19**2
    )  # (1 + x + x^2)^4: 19
    (box,) = left.patches
    assert (box.get_x(), box.get_y(), box.get_width(), box.get_height()) == (2.5, 2.5, 9, 9)
    assert [line.get_xdata()[0] for line in right.lines[1:]] == [2.5, 11.5]


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"size": 2}, ValueError, "`size`.*too small"),
        ({"size": 0}, ValueError, "`size`"),
        ({"weights": "zeros"}, ValueError, "`weights`"),
        ({"cell": (9, 0)}, ValueError, "`cell`"),
        ({"relu": 1}, TypeError, "`relu`"),
        ({"channels": 0}, ValueError, "`channels`"),
    ],
)
def test_input_gradient_bad_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        input_gradient([CONV, CONV, (3, 1, 0, 1)], **({"size": 9} | kwargs))
