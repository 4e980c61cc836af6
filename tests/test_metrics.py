"""convlab.metrics against hand-made examples and an independent count with loops."""

import numpy as np
import pytest
import torch

from convlab.metrics import (
    confusion_matrix,
    frequency_weighted_iou,
    mean_accuracy,
    mean_iou,
    per_class_iou,
    pixel_accuracy,
)
from convlab.training import scores_from_confusion


def _loop_confusion(pred, target, k, ignore=None):
    m = np.zeros((k, k), dtype=np.int64)
    for p, t in zip(np.ravel(pred), np.ravel(target), strict=True):
        if ignore is not None and t == ignore:
            continue
        m[t, p] += 1
    return m


def _loop_miou(pred, target, k):
    ious = []
    for c in range(k):
        inter = sum(1 for p, t in zip(np.ravel(pred), np.ravel(target), strict=True) if p == c and t == c)
        union = sum(1 for p, t in zip(np.ravel(pred), np.ravel(target), strict=True) if p == c or t == c)
        if union:
            ious.append(inter / union)
    return sum(ious) / len(ious)


def test_hand_made_example():
    target = np.array([[0, 0, 1], [1, 2, 2]])
    pred = np.array([[0, 1, 1], [1, 2, 0]])
    expected = np.array([[1, 1, 0], [0, 2, 0], [1, 0, 1]])
    np.testing.assert_array_equal(confusion_matrix(pred, target, 3), expected)
    assert pixel_accuracy(pred, target) == pytest.approx(4 / 6)
    # IoU: class 0: 1/(2+2-1)=1/3, class 1: 2/(2+3-2)=2/3, class 2: 1/(2+1-1)=1/2
    assert mean_iou(pred, target, 3) == pytest.approx((1 / 3 + 2 / 3 + 1 / 2) / 3)


def test_absent_classes_are_skipped_not_counted():
    target = np.array([0, 0, 1, 1])
    pred = np.array([0, 0, 1, 1])
    assert mean_iou(pred, target, num_classes=10) == 1.0  # classes 2..9 absent from both
    # a class only in the prediction counts (IoU 0), a class only in the target too
    assert mean_iou(np.array([0, 0, 3, 1]), target, 4) == pytest.approx((1 + 0.5 + 0) / 3)


def test_against_loops_on_random_labels(rng):
    for k in (2, 4, 7):
        pred = rng.integers(0, k, size=(3, 5, 6))
        target = rng.integers(0, k, size=(3, 5, 6))
        np.testing.assert_array_equal(confusion_matrix(pred, target, k), _loop_confusion(pred, target, k))
        assert mean_iou(pred, target, k) == pytest.approx(_loop_miou(pred, target, k))
        assert pixel_accuracy(pred, target) == pytest.approx(np.mean(pred == target))


def test_ignore_index(rng):
    target = rng.integers(0, 3, size=50)
    target[::7] = 255
    pred = rng.integers(0, 3, size=50)
    keep = target != 255
    np.testing.assert_array_equal(
        confusion_matrix(pred, target, 3, ignore_index=255), _loop_confusion(pred, target, 3, ignore=255)
    )
    assert pixel_accuracy(pred, target, ignore_index=255) == pytest.approx(
        np.mean(pred[keep] == target[keep])
    )
    assert mean_iou(pred, target, 3, ignore_index=255) == pytest.approx(
        _loop_miou(pred[keep], target[keep], 3)
    )


def test_torch_tensors_accepted():
    pred = torch.tensor([[0, 1], [2, 2]])
    target = torch.tensor([[0, 1], [1, 2]])
    np.testing.assert_array_equal(
        confusion_matrix(pred, target, 3), _loop_confusion(pred.numpy(), target.numpy(), 3)
    )
    assert pixel_accuracy(pred, target) == 0.75


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: confusion_matrix([0, 1], [0, 1, 1], 2), ValueError, "same shape"),
        (lambda: confusion_matrix([0, 2], [0, 1], 2), ValueError, "`pred`"),
        (lambda: confusion_matrix([0, 1], [0, -1], 2), ValueError, "`target`"),
        (lambda: confusion_matrix([0, 1], [0, 255], 2), ValueError, "ignore_index"),
        (lambda: confusion_matrix([0.0, 1.0], [0, 1], 2), TypeError, "`pred`"),
        (lambda: confusion_matrix([0, 1], [0, 1], 0), ValueError, "`num_classes`"),
        (lambda: confusion_matrix([0, 1], [0, 1], 2.0), TypeError, "`num_classes`"),
        (lambda: pixel_accuracy(np.array([], int), np.array([], int)), ValueError, "empty"),
        (lambda: mean_iou([True, False], [1, 0], 2), TypeError, "`pred`"),
    ],
)
def test_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()


def _loop_paper_metrics(pred, target, k, ignore=None):
    """The FCN paper's four formulas (section 5), written with loops over pixels and classes."""
    n = [[0] * k for _ in range(k)]
    for p, t in zip(np.ravel(pred), np.ravel(target), strict=True):
        if ignore is not None and t == ignore:
            continue
        n[int(t)][int(p)] += 1
    t_i = [sum(n[i]) for i in range(k)]
    col = [sum(n[j][i] for j in range(k)) for i in range(k)]
    total = sum(t_i)
    ious, accs = [], []
    for i in range(k):
        union = t_i[i] + col[i] - n[i][i]
        ious.append(n[i][i] / union if union else None)
        if t_i[i]:
            accs.append(n[i][i] / t_i[i])
    present = [x for x in ious if x is not None]
    return {
        "pixel_accuracy": sum(n[i][i] for i in range(k)) / total,
        "mean_accuracy": sum(accs) / len(accs),
        "mean_iou": sum(present) / len(present),
        "frequency_weighted_iou": sum(t_i[i] * (ious[i] or 0.0) for i in range(k)) / total,
        "per_class_iou": [np.nan if x is None else x for x in ious],
    }


def test_paper_metrics_hand_made():
    # rows true, columns predicted: class 0 has 3 pixels (2 right), class 1 has 2 (1 right), class 2 none
    # but is predicted once. Class 3 appears nowhere.
    target = np.array([0, 0, 0, 1, 1])
    pred = np.array([0, 0, 1, 1, 2])
    assert mean_accuracy(pred, target, 4) == pytest.approx((2 / 3 + 1 / 2) / 2)  # classes 0, 1 in the target
    iou = per_class_iou(pred, target, 4)
    np.testing.assert_allclose(iou[:3], [2 / 3, 1 / 3, 0.0])
    assert np.isnan(iou[3])
    assert mean_iou(pred, target, 4) == pytest.approx((2 / 3 + 1 / 3 + 0) / 3)
    assert frequency_weighted_iou(pred, target, 4) == pytest.approx((3 * 2 / 3 + 2 * 1 / 3) / 5)


@pytest.mark.parametrize("ignore", [None, 255])
def test_paper_metrics_against_loops(rng, ignore):
    for k in (2, 3, 5):
        target = rng.integers(0, k, size=(2, 6, 7))
        pred = rng.integers(0, k, size=(2, 6, 7))
        pred[0, 0] = 0  # keep class 0 predicted somewhere
        if ignore is not None:
            target[:, ::3, ::2] = ignore
        want = _loop_paper_metrics(pred, target, k, ignore)
        for name, fn in (
            ("pixel_accuracy", lambda p, t, i: pixel_accuracy(p, t, ignore_index=i)),
            ("mean_accuracy", lambda p, t, i, k=k: mean_accuracy(p, t, k, ignore_index=i)),
            ("mean_iou", lambda p, t, i, k=k: mean_iou(p, t, k, ignore_index=i)),
            ("frequency_weighted_iou", lambda p, t, i, k=k: frequency_weighted_iou(p, t, k, ignore_index=i)),
        ):
            assert fn(pred, target, ignore) == pytest.approx(want[name]), name
        np.testing.assert_allclose(per_class_iou(pred, target, k, ignore_index=ignore), want["per_class_iou"])
        scores = scores_from_confusion(confusion_matrix(pred, target, k, ignore_index=ignore))
        for name in ("pixel_accuracy", "mean_accuracy", "mean_iou", "frequency_weighted_iou"):
            assert scores[name] == pytest.approx(want[name]), name


def test_ignored_pixels_change_nothing_whatever_is_predicted_there(rng):
    target = rng.integers(0, 3, size=40)
    target[5:15] = 255
    pred = rng.integers(0, 3, size=40)
    other = pred.copy()
    other[5:15] = (other[5:15] + 1) % 3  # different predictions on the ignored pixels only
    for fn in (mean_accuracy, mean_iou, frequency_weighted_iou):
        assert fn(pred, target, 3, ignore_index=255) == fn(other, target, 3, ignore_index=255)


def test_all_ignored_gives_nan():
    target = np.full(4, 255)
    pred = np.zeros(4, int)
    for fn in (mean_accuracy, mean_iou, frequency_weighted_iou):
        assert np.isnan(fn(pred, target, 3, ignore_index=255))
    assert np.isnan(per_class_iou(pred, target, 3, ignore_index=255)).all()


@pytest.mark.parametrize("fn", [mean_accuracy, frequency_weighted_iou, per_class_iou])
def test_new_metrics_reject_bad_input(fn):
    with pytest.raises(ValueError, match="same shape"):
        fn([0, 1], [0, 1, 1], 2)
    with pytest.raises(TypeError, match="`target`"):
        fn([0, 1], [0.0, 1.0], 2)
    with pytest.raises(TypeError, match="ignore_index"):
        fn([0, 1], [0, 1], 2, ignore_index=1.5)


def test_scores_from_confusion_uses_the_metrics_iou_rule(monkeypatch):
    # one IoU rule for the package: evaluate's dictionary comes from convlab.metrics' helper
    import convlab.metrics
    import convlab.training

    calls = []
    real = convlab.metrics._iou_from_confusion

    def spy(m):
        calls.append(m)
        return real(m)

    monkeypatch.setattr(convlab.training, "_iou_from_confusion", spy)
    m = np.array([[3, 1, 0], [0, 4, 0], [0, 0, 0]])
    scores = convlab.training.scores_from_confusion(m)
    assert len(calls) == 1
    np.testing.assert_allclose(scores["per_class_iou"], [0.75, 0.8, np.nan])  # 3/4, 4/5, empty
    assert scores["mean_iou"] == pytest.approx(0.775)
