"""The interpolation explorer: its state function and its widget callbacks, headless."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from convlab.widgets import InterpolationExplorer, default_image, interpolation_explorer, interpolation_state


@pytest.mark.parametrize(
    ("mode", "scale", "ac"),
    [("nearest", 2, None), ("nearest-exact", 1.5, None), ("bilinear", 2.5, False), ("bilinear", 3, True),
     ("bicubic", 2, False), ("bicubic", 2, True)],
)  # fmt: skip
def test_state_matches_torch(mode, scale, ac):
    st = interpolation_state(mode, scale, ac)
    ref = F.interpolate(
        torch.tensor(default_image())[None, None], scale_factor=scale, mode=mode, align_corners=ac
    )
    assert st["valid"]
    np.testing.assert_allclose(st["output"], ref[0, 0].numpy(), atol=1e-10)
    assert st["output_size"] == tuple(ref.shape[2:])
    assert f"mode={mode!r}" in st["torch_call"]


def test_state_source_coordinates_follow_the_formulas():
    n, m = 5, 10
    j = np.arange(m)
    st = interpolation_state("bilinear", 2, False)
    np.testing.assert_allclose(st["source_x"], np.clip((j + 0.5) * n / m - 0.5, 0, n - 1))
    st = interpolation_state("bilinear", 2, True)
    np.testing.assert_allclose(st["source_x"], j * (n - 1) / (m - 1))
    st = interpolation_state("nearest", 2, None)
    np.testing.assert_array_equal(st["source_x"], j // 2)


def test_state_reports_align_corners_with_nearest():
    st = interpolation_state("nearest", 2, True)
    assert st["valid"] is False and "align_corners" in st["message"]


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"mode": "area"}, ValueError, "`mode`"),
        ({"scale_factor": 0}, ValueError, "`scale_factor`"),
        ({"scale_factor": "2"}, TypeError, "`scale_factor`"),
        ({"image": np.ones(3)}, ValueError, "`image`"),
        ({"align_corners": 1}, TypeError, "`align_corners`"),
    ],
)
def test_state_rejects_bad_arguments(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        interpolation_state(**kwargs)


def test_widget_callbacks_update_state_summary_and_image():
    explorer = interpolation_explorer()
    assert isinstance(explorer, InterpolationExplorer)
    assert explorer.state["output_size"] == (12, 12) and explorer.image.value[:4] == b"\x89PNG"
    explorer.controls["scale_factor"].value = 3.0
    assert explorer.state["output_size"] == (15, 15) and "15x15" in explorer.summary.value
    explorer.controls["mode"].value = "nearest"  # align_corners=False is still set
    assert explorer.state["valid"] is False and "impossible" in explorer.summary.value
    assert explorer.image.value == b""
    explorer.controls["align_corners"].value = None
    assert explorer.state["valid"] and explorer.state["mode"] == "nearest"
