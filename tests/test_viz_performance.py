"""Figures of the GPU lab draw exactly the numbers they are given, and reject malformed results."""

import pytest

from convlab.viz import throughput_figure, upsampling_benchmark_figure

ROWS = [
    {"op": "transposed k4s2p1", "precision": "fp32", "tflops": 2.0},
    {"op": "transposed k4s2p1", "precision": "bf16", "tflops": 6.0},
    {"op": "conv3x3 + shuffle", "precision": "fp32", "tflops": 1.5},
    {"op": "conv3x3 + shuffle", "precision": "bf16", "tflops": None},
]


def test_upsampling_figure_draws_one_bar_per_measured_row():
    ax = upsampling_benchmark_figure(ROWS).axes[0]
    heights = sorted(p.get_height() for p in ax.patches)
    assert heights == [1.5, 2.0, 6.0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["transposed k4s2p1", "conv3x3 + shuffle"]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["fp32", "bf16 (not on this device)"]


def test_throughput_figure_labels_each_rate():
    ax = throughput_figure({"fp32": 10.0, "AMP": 17.5}, reference=20).axes[0]
    assert sorted(p.get_width() for p in ax.patches) == [10.0, 17.5]
    assert {t.get_text().strip() for t in ax.texts} == {"10.0", "17.5"}


@pytest.mark.parametrize(
    ("rows", "error", "match"),
    [
        ("fp32", TypeError, "`rows`"),
        ([], ValueError, "`rows`"),
        ([1], TypeError, "`rows`"),
        ([{"op": "a", "precision": "fp32"}], ValueError, "tflops"),
    ],
)
def test_upsampling_figure_rejects_bad_rows(rows, error, match):
    with pytest.raises(error, match=match):
        upsampling_benchmark_figure(rows)


@pytest.mark.parametrize(
    ("throughput", "error"),
    [([1.0], TypeError), ({}, ValueError), ({"a": "fast"}, TypeError), ({"a": -1.0}, ValueError)],
)
def test_throughput_figure_rejects_bad_input(throughput, error):
    with pytest.raises(error, match="`throughput`"):
        throughput_figure(throughput)
