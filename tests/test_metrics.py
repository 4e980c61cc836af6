"""convlab.metrics against hand-made examples and an independent count with loops."""

import numpy as np
import pytest
import torch

from convlab.metrics import confusion_matrix, mean_iou, pixel_accuracy


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
