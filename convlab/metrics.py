"""Segmentation metrics, as the FCN paper reports them: pixel accuracy, mean accuracy, mean IU and
frequency-weighted IU, with per-class IoU and the confusion matrix they all come from (chapter 8).

Every function accepts NumPy arrays or torch tensors of integer labels (a tensor is moved to the CPU
first) and an ``ignore_index`` (e.g. 255, the "void" band of PASCAL VOC) whose target pixels are left
out. They count with :func:`numpy.bincount`, so they are exact and fast on millions of pixels.

With :math:`M` the confusion matrix (rows: true class, columns: predicted), :math:`n_{ij} = M_{ij}`,
:math:`t_i = \\sum_j n_{ij}` the pixels of class :math:`i` and
:math:`\\mathrm{IU}_i = n_{ii} / (t_i + \\sum_j n_{ji} - n_{ii})`,
the paper's four numbers are: pixel accuracy :math:`\\sum_i n_{ii} / \\sum_i t_i`; mean accuracy
:math:`\\frac{1}{K'} \\sum_i n_{ii} / t_i`; mean IU :math:`\\frac{1}{K'} \\sum_i \\mathrm{IU}_i`;
frequency-weighted IU :math:`\\sum_i t_i \\mathrm{IU}_i / \\sum_i t_i` (sums over the :math:`K'`
classes that have a denominator).

See the chapter :doc:`/chapters/fcn`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from convlab._validate import check_allocation, check_array, check_int, check_positive

__all__ = [
    "confusion_matrix",
    "pixel_accuracy",
    "mean_accuracy",
    "mean_iou",
    "frequency_weighted_iou",
    "per_class_iou",
]


def _labels(value: Any, name: str) -> np.ndarray:
    """``value`` (array or tensor) as a NumPy integer array; floats and bools are rejected."""
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # a torch tensor, without importing torch
        value = value.detach().cpu().numpy()
    arr = check_array(value, name, allow_empty=True)
    if arr.dtype == np.bool_ or not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"`{name}` must hold integer class labels; got dtype {arr.dtype}")
    return arr


def _pair_of_labels(pred: Any, target: Any) -> tuple[np.ndarray, np.ndarray]:
    pred = _labels(pred, "pred")
    target = _labels(target, "target")
    if pred.shape != target.shape:
        raise ValueError(
            f"`pred` and `target` must have the same shape; got pred.shape={pred.shape}, "
            f"target.shape={target.shape}"
        )
    if pred.size == 0:
        raise ValueError(f"`pred` and `target` must not be empty; got shape {pred.shape}")
    return pred.ravel(), target.ravel()


def confusion_matrix(pred: Any, target: Any, num_classes: int, ignore_index: int | None = None) -> np.ndarray:
    """Count how often each target class was predicted as each class.

    Parameters
    ----------
    pred, target : array_like or torch.Tensor of int, same shape
        Predicted and true class of every pixel (any shape, e.g. ``(N, H, W)``).
    num_classes : int
        Number of classes ``K``; labels must lie in ``[0, K)``.
    ignore_index : int, optional
        Pixels whose *target* equals this value (e.g. 255, the "void" label of PASCAL VOC) are not
        counted; their prediction is not checked.

    Returns
    -------
    numpy.ndarray, shape (K, K), int64
        ``M[i, j]`` = number of pixels of true class ``i`` predicted as class ``j``
        (rows: target, columns: prediction).

    Raises
    ------
    TypeError
        If the labels are not integers or ``num_classes`` is not an int.
    ValueError
        If the shapes differ, the inputs are empty, ``num_classes < 1`` or so large that the
        ``(K, K)`` matrix would exceed this machine's physical memory, or a label (other than
        ``ignore_index`` in ``target``) lies outside ``[0, K)``.

    See Also
    --------
    sklearn.metrics.confusion_matrix : the same layout (rows true, columns predicted).
    torchmetrics.functional.confusion_matrix : the torch equivalent.

    Notes
    -----
    With :math:`t_p` and :math:`y_p` the true and predicted class of pixel :math:`p`,
    :math:`M_{ij} = \\#\\{p : t_p = i,\\ y_p = j\\}`, computed as one ``bincount`` of :math:`K t_p + y_p`.

    Examples
    --------
    >>> confusion_matrix([0, 1, 1, 2], [0, 1, 2, 2], num_classes=3)
    array([[1, 0, 0],
           [0, 1, 0],
           [0, 1, 1]])
    """
    pred, target = _pair_of_labels(pred, target)
    k = check_positive(num_classes, "num_classes")
    check_allocation((k, k), np.dtype(np.int64).itemsize, f"the confusion matrix of `num_classes`={k}")
    if ignore_index is not None:
        ignore_index = check_int(ignore_index, "ignore_index")
        keep = target != ignore_index
        pred, target = pred[keep], target[keep]
    for name, arr in (("pred", pred), ("target", target)):
        if arr.size and (arr.min() < 0 or arr.max() >= k):
            bad = arr.min() if arr.min() < 0 else arr.max()
            hint = (
                "" if ignore_index is not None or name == "pred" else " (pass `ignore_index` for void labels)"
            )
            raise ValueError(f"`{name}` labels must lie in [0, num_classes={k}); found {bad}{hint}")
    counts = np.bincount(k * target.astype(np.int64) + pred.astype(np.int64), minlength=k * k)
    return counts.reshape(k, k)


def pixel_accuracy(pred: Any, target: Any, ignore_index: int | None = None) -> float:
    """Fraction of pixels whose predicted class equals the true class.

    Parameters
    ----------
    pred, target : array_like or torch.Tensor of int, same shape
        Predicted and true class of every pixel.
    ignore_index : int, optional
        Pixels whose target equals this value are left out.

    Returns
    -------
    float
        :math:`\\frac{1}{P}\\sum_p [y_p = t_p]`, in ``[0, 1]``; ``nan`` if every pixel is ignored.

    Raises
    ------
    TypeError, ValueError
        As :func:`confusion_matrix` (shapes, dtypes, empty inputs).

    See Also
    --------
    confusion_matrix : its trace over its sum is the pixel accuracy.
    torchmetrics.functional.accuracy : the torch equivalent (``task="multiclass"``, micro average).

    Notes
    -----
    Accuracy is dominated by the largest class: on images that are 80 % background, predicting
    background everywhere scores 0.8. :func:`mean_iou` does not have this blind spot.

    Examples
    --------
    >>> pixel_accuracy([0, 1, 1, 2], [0, 1, 2, 2])
    0.75
    """
    pred, target = _pair_of_labels(pred, target)
    if ignore_index is not None:
        ignore_index = check_int(ignore_index, "ignore_index")
        keep = target != ignore_index
        pred, target = pred[keep], target[keep]
    if target.size == 0:
        return float("nan")
    return float(np.mean(pred == target))


def mean_iou(pred: Any, target: Any, num_classes: int, ignore_index: int | None = None) -> float:
    """Mean over classes of intersection over union, counting only classes that occur.

    Parameters
    ----------
    pred, target : array_like or torch.Tensor of int, same shape
        Predicted and true class of every pixel.
    num_classes : int
        Number of classes ``K``.
    ignore_index : int, optional
        Pixels whose target equals this value are left out.

    Returns
    -------
    float
        The mean IoU in ``[0, 1]``; ``nan`` if no pixel is counted.

    Raises
    ------
    TypeError, ValueError
        As :func:`confusion_matrix`.

    See Also
    --------
    confusion_matrix : the counts the IoU is computed from.
    torchmetrics.functional.jaccard_index : the torch equivalent (``average="macro"``).

    Notes
    -----
    For class :math:`c`, :math:`\\mathrm{IoU}_c = \\frac{M_{cc}}{\\sum_j M_{cj} + \\sum_i M_{ic} - M_{cc}}`
    (true positives over true positives + false negatives + false positives). The mean runs over
    the classes present in the prediction *or* the target (denominator :math:`> 0`): a class absent
    from both is neither right nor wrong and is skipped instead of counted as 0 or 1.

    Examples
    --------
    >>> round(mean_iou([0, 1, 1, 2], [0, 1, 2, 2], num_classes=4), 4)  # (1 + 1/2 + 1/2) / 3
    0.6667
    """
    ious = per_class_iou(pred, target, num_classes, ignore_index=ignore_index)
    present = ~np.isnan(ious)
    if not present.any():
        return float("nan")
    return float(np.mean(ious[present]))


def per_class_iou(pred: Any, target: Any, num_classes: int, ignore_index: int | None = None) -> np.ndarray:
    """Intersection over union of every class, ``nan`` for a class absent from prediction and target.

    Parameters
    ----------
    pred, target : array_like or torch.Tensor of int, same shape
        Predicted and true class of every pixel.
    num_classes : int
        Number of classes ``K``.
    ignore_index : int, optional
        Pixels whose target equals this value are left out.

    Returns
    -------
    numpy.ndarray, shape (K,), float64
        :math:`\\mathrm{IoU}_c` for :math:`c = 0, \\dots, K-1`; ``nan`` where the union is empty.

    Raises
    ------
    TypeError, ValueError
        As :func:`confusion_matrix`.

    See Also
    --------
    mean_iou : the mean of the non-``nan`` entries.
    torchmetrics.functional.jaccard_index : the torch equivalent (``average="none"``).

    Notes
    -----
    :math:`\\mathrm{IoU}_c = M_{cc} / (\\sum_j M_{cj} + \\sum_i M_{ic} - M_{cc})`.

    Examples
    --------
    >>> per_class_iou([0, 1, 1, 2], [0, 1, 2, 2], num_classes=4)
    array([1. , 0.5, 0.5, nan])
    """
    m = confusion_matrix(pred, target, num_classes, ignore_index=ignore_index)
    return _iou_from_confusion(m)


def _iou_from_confusion(m: np.ndarray) -> np.ndarray:
    """Per-class IoU ``(K,)`` of a confusion matrix (rows true); NaN where the union is empty.

    The one place the IoU rule lives: :func:`per_class_iou`, :func:`mean_iou`,
    :func:`frequency_weighted_iou` and :func:`convlab.training.scores_from_confusion` use it.
    """
    tp = np.diag(m).astype(np.float64)
    union = m.sum(axis=0) + m.sum(axis=1) - tp
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, tp / np.maximum(union, 1), np.nan)


def mean_accuracy(pred: Any, target: Any, num_classes: int, ignore_index: int | None = None) -> float:
    """Mean over classes of the per-class pixel accuracy (recall), counting classes present in the target.

    Parameters
    ----------
    pred, target : array_like or torch.Tensor of int, same shape
        Predicted and true class of every pixel.
    num_classes : int
        Number of classes ``K``.
    ignore_index : int, optional
        Pixels whose target equals this value are left out.

    Returns
    -------
    float
        :math:`\\frac{1}{K'}\\sum_c M_{cc} / \\sum_j M_{cj}` over the :math:`K'` classes that occur
        in the target; ``nan`` if no pixel is counted.

    Raises
    ------
    TypeError, ValueError
        As :func:`confusion_matrix`.

    See Also
    --------
    pixel_accuracy : the same count pooled over classes, dominated by the largest class.
    torchmetrics.functional.accuracy : the torch equivalent (``average="macro"``).

    Notes
    -----
    A class that is only predicted, never true, has no accuracy of its own; its false positives
    lower the accuracy of the classes they were taken from instead.

    Examples
    --------
    >>> mean_accuracy([0, 1, 1, 2], [0, 1, 2, 2], num_classes=3)  # (1 + 1 + 1/2) / 3
    0.8333333333333334
    """
    m = confusion_matrix(pred, target, num_classes, ignore_index=ignore_index)
    total = m.sum(axis=1)
    present = total > 0
    if not present.any():
        return float("nan")
    return float(np.mean(np.diag(m)[present] / total[present]))


def frequency_weighted_iou(
    pred: Any, target: Any, num_classes: int, ignore_index: int | None = None
) -> float:
    """IoU of every class weighted by its share of the (counted) target pixels.

    Parameters
    ----------
    pred, target : array_like or torch.Tensor of int, same shape
        Predicted and true class of every pixel.
    num_classes : int
        Number of classes ``K``.
    ignore_index : int, optional
        Pixels whose target equals this value are left out.

    Returns
    -------
    float
        :math:`\\sum_c t_c\\, \\mathrm{IoU}_c / \\sum_c t_c` with :math:`t_c = \\sum_j M_{cj}`; ``nan`` if no
        pixel is counted.

    Raises
    ------
    TypeError, ValueError
        As :func:`confusion_matrix`.

    See Also
    --------
    mean_iou : every class weighted equally.

    Notes
    -----
    A class with :math:`t_c = 0` gets weight 0, so classes only predicted never enter (their false
    positives still lower the IoU of the classes they were taken from).

    Examples
    --------
    >>> frequency_weighted_iou([0, 1, 1, 2], [0, 1, 2, 2], num_classes=3)  # (1*1 + 1*0.5 + 2*0.5) / 4
    0.625
    """
    m = confusion_matrix(pred, target, num_classes, ignore_index=ignore_index)
    total = m.sum(axis=1).astype(np.float64)
    if total.sum() == 0:
        return float("nan")
    ious = np.nan_to_num(_iou_from_confusion(m))
    return float(np.sum(total * ious) / total.sum())
