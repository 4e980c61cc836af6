"""The receptive-field explorer: its state against convlab.arithmetic and torch, its callbacks headless."""

import pytest
import torch

from convlab.arithmetic import receptive_field
from convlab.widgets.receptive_field import (
    RECEPTIVE_FIELD_PRESETS,
    receptive_field_explorer,
    receptive_field_state,
)


@pytest.mark.parametrize("preset", list(RECEPTIVE_FIELD_PRESETS))
def test_presets_match_arithmetic_and_torch_shapes(preset):
    state = receptive_field_state(RECEPTIVE_FIELD_PRESETS[preset], input_size=224)
    assert state["valid"], state["message"]
    x = torch.zeros(1, 1, 224, 224)
    for n, row in enumerate(state["rows"]):
        assert (row["size"], row["jump"], row["start"]) == receptive_field(state["layers"][: n + 1])
        x = torch.nn.functional.conv2d(
            x, torch.zeros(1, 1, row["k"], row["k"]), None, row["s"], row["p"], row["d"]
        )
        assert row["output_size"] == x.shape[-1]


def test_vgg_and_fcn_numbers():
    vgg = receptive_field_state(RECEPTIVE_FIELD_PRESETS["VGG-16 to pool5"])["rows"]
    assert (vgg[-1]["name"], vgg[-1]["size"], vgg[-1]["jump"]) == ("pool5", 212, 32)
    fcn = receptive_field_state(RECEPTIVE_FIELD_PRESETS["FCN-32s to fc7 (conv1_1 padded by 100)"], 500)
    fc6 = next(r for r in fcn["rows"] if r["name"] == "fc6")
    assert (fc6["size"], fc6["jump"], fc6["output_size"]) == (
        404,
        32,
        15,
    )  # floor pooling; Caffe's ceil pooling gives 16


def test_output_size_becomes_none_when_the_input_stops_fitting():
    rows = receptive_field_state("7, 1, 0, 1\n3, 1, 0, 1", input_size=8)["rows"]
    assert [r["output_size"] for r in rows] == [2, None]
    assert [r["size"] for r in rows] == [7, 9]


@pytest.mark.parametrize(
    "spec, match",
    [
        ("3, 1, 1", "line 1"),
        ("", "empty"),
        ("# only a comment", "empty"),
        ("conv: 3, 0, 1, 1", "stride"),
        ("3 1 1 1\nx", "line 2"),
    ],
)
def test_bad_stacks_are_reported_not_raised(spec, match):
    state = receptive_field_state(spec)
    assert not state["valid"] and match in state["message"]


def test_names_spaces_and_comments():
    state = receptive_field_state("# a stack\nconv a: 3 1 1 1\n\n 2,2,0,1")
    assert state["names"] == ["conv a", "layer 2"] and state["layers"] == [(3, 1, 1, 1), (2, 2, 0, 1)]
    with pytest.raises(TypeError, match="`spec`"):
        receptive_field_state([(3, 1, 1, 1)])
    assert "input_size" in receptive_field_state("3,1,1,1", input_size=0)["message"]


def test_explorer_callbacks():
    explorer = receptive_field_explorer()
    assert explorer.state["rows"][-1]["size"] == 212 and explorer.image.value[:4] == b"\x89PNG"
    explorer.controls["preset"].value = "3x3 convolutions dilated 1, 2, 4, 8"
    assert [r["size"] for r in explorer.state["rows"]] == [3, 7, 15, 31]
    explorer.controls["spec"].value = "3, 1"
    assert not explorer.state["valid"] and "impossible" in explorer.table.value
    assert explorer.image.value == b""
    explorer.controls["spec"].value = "5, 2, 2, 1"
    explorer.controls["input_size"].value = 9
    assert explorer.state["rows"][0]["output_size"] == 5 and "<table" in explorer.table.value
    with pytest.raises(ValueError, match="`preset`"):
        receptive_field_explorer("nope")
