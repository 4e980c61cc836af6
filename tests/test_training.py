"""convlab.training: the CPU path, determinism, validation of the GPU switches, evaluate and predict."""

import numpy as np
import pytest
import torch

import convlab
from convlab.data import ShapesDataset, make_shapes
from convlab.fcn import FCN
from convlab.metrics import mean_iou, pixel_accuracy
from convlab.training import autocast_dtype, evaluate, predict, train


@pytest.fixture(scope="module")
def small_data():
    return make_shapes(24, size=32, seed=0)


def _net(seed=0, variant="8s"):
    torch.manual_seed(seed)
    return FCN(4, variant, width=4, fc_channels=16)


def test_device_is_cpu_here():
    assert convlab.device() == torch.device("cpu")


def test_loss_falls_and_history_is_complete(small_data):
    history = train(_net(), small_data, small_data, epochs=4, batch_size=8, lr=1e-2, progress=False)
    assert len(history.loss) == len(history.val_miou) == len(history.images_per_s) == 4
    assert history.loss[-1] < 0.7 * history.loss[0]
    assert all(0 <= m <= 1 for m in history.val_miou) and all(r > 0 for r in history.images_per_s)
    # the CPU defaults: no mixed precision, no channels-last
    assert history.device == "cpu" and history.amp is None and history.channels_last is False


def test_cpu_training_is_reproducible(small_data):
    a = train(_net(1), small_data, epochs=1, batch_size=8, seed=3, progress=False)
    b = train(_net(1), small_data, epochs=1, batch_size=8, seed=3, progress=False)
    assert a.loss == b.loss  # same process, same shapes and threads: the same kernels run
    c = train(_net(1), small_data, epochs=1, batch_size=8, seed=4, progress=False)
    assert a.loss != c.loss  # the seed drives the shuffling


def test_explicit_cpu_switches_and_dataset_input():
    data = ShapesDataset(8, size=32, seed=1)
    history = train(
        _net(), data, epochs=1, batch_size=4, amp=True, channels_last=True, device="cpu", progress=False
    )
    assert history.amp == "bfloat16" and history.channels_last is True
    assert np.isfinite(history.loss[0])


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"amp": "yes"}, TypeError, "`amp`"),
        ({"amp": 1}, TypeError, "`amp`"),
        ({"channels_last": "nhwc"}, TypeError, "`channels_last`"),
        ({"epochs": 0}, ValueError, "`epochs`"),
        ({"batch_size": -1}, ValueError, "`batch_size`"),
        ({"lr": -1.0}, ValueError, "`lr`"),
        ({"progress": "no"}, TypeError, "`progress`"),
        ({"num_threads": 0}, ValueError, "`num_threads`"),
        ({"num_threads": 1.5}, TypeError, "`num_threads`"),
    ],
)
def test_train_validates_arguments(small_data, kwargs, error, match):
    options = {"epochs": 1, "progress": False, **kwargs}
    with pytest.raises(error, match=match):
        train(_net(), small_data, **options)


@pytest.mark.parametrize(
    ("word", "bar", "lines"),
    [
        (None, True, False),
        ("", True, False),
        ("bar", True, False),
        ("print", False, True),
        ("OFF", False, False),
    ],
)
def test_auto_progress_follows_the_environment(monkeypatch, capsys, small_data, word, bar, lines):
    """progress="auto" (the default): a tqdm bar, unless CONVLAB_PROGRESS asks for lines or silence."""
    import tqdm.auto

    made = []

    class Bar(tqdm.auto.tqdm):
        def __init__(self, *args, **kwargs):
            made.append(kwargs.get("total"))
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(tqdm.auto, "tqdm", Bar)
    if word is None:
        monkeypatch.delenv("CONVLAB_PROGRESS", raising=False)
    else:
        monkeypatch.setenv("CONVLAB_PROGRESS", word)
    train(_net(), small_data, small_data, epochs=2, batch_size=12)
    out = capsys.readouterr().out
    assert made == ([2] if bar else [])
    assert ("epoch 1/2: loss" in out and "epoch 2/2: loss" in out) == lines
    if not lines:
        assert "epoch 1/2" not in out


def test_auto_progress_rejects_an_unknown_word(monkeypatch, small_data):
    monkeypatch.setenv("CONVLAB_PROGRESS", "loud")
    with pytest.raises(ValueError, match="CONVLAB_PROGRESS='loud'"):
        train(_net(), small_data, epochs=1)
    # an explicit mode does not read the variable
    train(_net(), small_data, epochs=1, progress=False)


def test_train_validates_data():
    images, masks = make_shapes(4, size=32)
    with pytest.raises(ValueError, match="`train_data`"):
        train(_net(), (images, masks[:, 0]), epochs=1, progress=False)
    with pytest.raises(TypeError, match="`train_data`"):
        train(_net(), images, epochs=1, progress=False)
    with pytest.raises(TypeError, match="`model`"):
        train("net", (images, masks), epochs=1, progress=False)


def test_evaluate_and_predict_agree_with_metrics(small_data):
    net = _net()
    images, masks = small_data
    labels = predict(net, images, batch_size=5, device="cpu")
    assert labels.shape == masks.shape and labels.dtype == np.int64
    scores = evaluate(net, small_data, 4, batch_size=7, device="cpu")
    assert scores["pixel_accuracy"] == pytest.approx(pixel_accuracy(labels, masks))
    assert scores["mean_iou"] == pytest.approx(mean_iou(labels, masks, 4))
    assert predict(net, images[0], device="cpu").shape == masks[0].shape
    assert net.training  # evaluation leaves the mode as it found it


def test_autocast_dtype():
    assert autocast_dtype("cpu") == torch.bfloat16
    assert autocast_dtype(torch.device("mps")) == torch.float16


def test_history_keeps_every_metric_and_print_progress_shows_each_epoch(small_data, capsys):
    history = train(_net(), small_data, small_data, epochs=2, batch_size=8, lr=1e-2, progress="print")
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("epoch")]
    assert len(lines) == 2 and "loss" in lines[0] and "val mIoU" in lines[0] and lines[1].endswith(" s")
    assert len(history.val_scores) == 2
    assert history.val_scores[-1]["mean_iou"] == history.val_miou[-1]
    with pytest.raises(TypeError, match="progress"):
        train(_net(), small_data, epochs=1, progress="bar")


def test_evaluate_reports_the_paper_metrics_and_honours_ignore_index(small_data):
    from convlab.data import ignore_boundaries
    from convlab.metrics import frequency_weighted_iou, mean_accuracy, per_class_iou

    net = _net()
    images, masks = small_data
    banded = ignore_boundaries(masks, 1)
    scores = evaluate(net, (images, banded), 4, device="cpu")
    pred = predict(net, images, device="cpu")
    assert scores["pixel_accuracy"] == pytest.approx(pixel_accuracy(pred, banded, ignore_index=255))
    assert scores["mean_accuracy"] == pytest.approx(mean_accuracy(pred, banded, 4, ignore_index=255))
    assert scores["mean_iou"] == pytest.approx(mean_iou(pred, banded, 4, ignore_index=255))
    assert scores["frequency_weighted_iou"] == pytest.approx(
        frequency_weighted_iou(pred, banded, 4, ignore_index=255)
    )
    np.testing.assert_allclose(scores["per_class_iou"], per_class_iou(pred, banded, 4, ignore_index=255))
    assert scores["confusion"].sum() == np.sum(banded != 255)


def test_the_loss_leaves_out_the_ignore_index_whatever_its_value(small_data):
    from convlab.data import ignore_boundaries

    images, masks = small_data
    run = dict(epochs=2, batch_size=8, progress=False, device="cpu")
    a = train(_net(), (images, ignore_boundaries(masks, 1)), **run)
    b = train(_net(), (images, ignore_boundaries(masks, 1, ignore_index=7)), ignore_index=7, **run)
    c = train(_net(), (images, masks), **run)
    np.testing.assert_allclose(a.loss, b.loss, rtol=1e-5)  # same pixels counted (CPU, same seed)
    assert not np.allclose(a.loss, c.loss, rtol=1e-3)  # the band's pixels do change the loss


def test_num_threads_applies_during_the_call_and_is_restored(small_data, monkeypatch):
    seen = []
    real_forward = FCN.forward

    def spy(self, x):
        seen.append(torch.get_num_threads())
        return real_forward(self, x)

    monkeypatch.setattr(FCN, "forward", spy)
    before = torch.get_num_threads()
    net = _net()
    train(net, small_data, small_data, epochs=1, batch_size=12, progress=False, num_threads=1)
    assert seen and set(seen) == {1}  # training steps and the validation pass
    assert torch.get_num_threads() == before
    seen.clear()
    evaluate(net, small_data, 4, num_threads=1)
    predict(net, small_data[0][:2], num_threads=1)
    assert seen and set(seen) == {1}
    assert torch.get_num_threads() == before
    seen.clear()
    predict(net, small_data[0][:2])  # default: torch's own setting is left alone
    assert set(seen) == {before}


def test_num_threads_is_restored_when_training_fails(small_data):
    before = torch.get_num_threads()
    bad = (small_data[0], np.full_like(small_data[1], 7))  # class 7 of a 4-class net
    with pytest.raises((IndexError, RuntimeError)):
        train(_net(), bad, epochs=1, progress=False, num_threads=1, ignore_index=255)
    assert torch.get_num_threads() == before


def test_one_thread_gives_the_same_training_up_to_float_rounding(small_data):
    # different thread counts may split reductions differently: equal up to rounding, not bitwise
    a = train(_net(2), small_data, epochs=1, batch_size=8, progress=False, num_threads=1)
    b = train(_net(2), small_data, epochs=1, batch_size=8, progress=False)
    np.testing.assert_allclose(a.loss, b.loss, rtol=1e-4)
