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


def _inside_figure(fig, artist) -> bool:
    fig.canvas.draw()
    box, frame = artist.get_window_extent(), fig.bbox
    return frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 and box.y1 <= frame.y1


@pytest.mark.parametrize(
    "make",
    [
        lambda title: upsampling_benchmark_figure(ROWS, title=title),
        lambda title: throughput_figure({"fp32": 10.0, "AMP": 17.5}, title=title),
    ],
    ids=["upsampling", "throughput"],
)
def test_titles_are_laid_out_inside_the_figure(make):
    # Setting a title after tight_layout used to push it above the figure's top edge.
    title = "this run: NVIDIA H100 80GB HBM3, 2026-11-23"
    fig = make(title)
    ax = fig.axes[0]
    assert ax.get_title() == title
    assert _inside_figure(fig, ax.title)
    with pytest.raises(TypeError, match="`title`"):
        make(3)


def test_throughput_figure_labels_its_reference_line():
    ax = throughput_figure({"fp32": 10.0}, reference=20, reference_label="other model").axes[0]
    (line,) = ax.get_lines()
    assert tuple(line.get_xdata()) == (20.0, 20.0)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["other model"]
    assert throughput_figure({"fp32": 10.0}).axes[0].get_legend() is None
    with pytest.raises(TypeError, match="`reference_label`"):
        throughput_figure({"fp32": 10.0}, reference=20, reference_label=None)
