"""Train, evaluate and run segmentation networks, on a GPU when there is one (chapters 8 and 9).

:func:`train` is a deliberately small loop -- AdamW, a cosine learning-rate schedule, per-pixel
cross-entropy -- with the two switches that matter most on a modern GPU: automatic mixed precision
(bf16 where the device supports it, else fp16 with a gradient scaler) and the channels-last memory
format. Both default to on for CUDA and off elsewhere. On the CPU, with a seed, a run is
reproducible to the last bit.

See the chapters :doc:`/chapters/fcn` and :doc:`/chapters/gpu_lab`.
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from convlab._validate import check_nonnegative, check_positive
from convlab.data import IGNORE_INDEX
from convlab.metrics import _iou_from_confusion, confusion_matrix

__all__ = ["TrainHistory", "train", "evaluate", "scores_from_confusion", "predict", "autocast_dtype"]

Data = Any  # a (images, masks) pair of arrays/tensors, or a map-style dataset of such pairs


@dataclass
class TrainHistory:
    """What :func:`train` measured, one entry per epoch.

    Attributes
    ----------
    loss : list of float
        Mean training cross-entropy over the epoch (over the pixels not ignored).
    val_miou : list of float
        Mean IoU on the validation data after the epoch (empty without validation data).
    val_scores : list of dict
        All of :func:`evaluate`'s numbers after each epoch (empty without validation data).
    images_per_s : list of float
        Training throughput of the epoch (forward, backward and update; evaluation not counted).
    seconds : list of float
        Wall-clock training time of the epoch.
    device : str
        The device trained on; ``amp`` (``None``, ``"bfloat16"`` or ``"float16"``) and
        ``channels_last`` record the settings used.
    """

    loss: list[float] = field(default_factory=list)
    val_miou: list[float] = field(default_factory=list)
    val_scores: list[dict[str, Any]] = field(default_factory=list)
    images_per_s: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    device: str = "cpu"
    amp: str | None = None
    channels_last: bool = False


def _as_tensors(data: Data, name: str) -> tuple[torch.Tensor, torch.Tensor]:
    """``(images float32 (N, C, H, W), masks int64 (N, H, W))`` from a pair or a dataset."""
    if isinstance(data, (np.ndarray, torch.Tensor)):
        raise TypeError(f"`{name}` must be an (images, masks) pair or a dataset of such pairs; got one array")
    if hasattr(data, "images") and hasattr(data, "masks"):
        images, masks = data.images, data.masks
    elif isinstance(data, (tuple, list)) and len(data) == 2:
        images, masks = data
    elif hasattr(data, "__getitem__") and hasattr(data, "__len__"):
        if len(data) == 0:
            raise ValueError(f"`{name}` must not be empty")
        pairs = [data[i] for i in range(len(data))]
        images = torch.stack([torch.as_tensor(p[0]) for p in pairs])
        masks = torch.stack([torch.as_tensor(p[1]) for p in pairs])
    else:
        raise TypeError(
            f"`{name}` must be an (images, masks) pair or a dataset of such pairs; got {type(data).__name__}"
        )
    images = torch.as_tensor(images)
    masks = torch.as_tensor(masks)
    if images.dim() != 4 or masks.dim() != 3 or images.shape[0] != masks.shape[0]:
        raise ValueError(
            f"`{name}` must hold images (N, C, H, W) and masks (N, H, W); "
            f"got {tuple(images.shape)} and {tuple(masks.shape)}"
        )
    if images.shape[-2:] != masks.shape[-2:]:
        raise ValueError(
            f"`{name}`: images and masks differ in size: {tuple(images.shape)} vs {tuple(masks.shape)}"
        )
    if not images.is_floating_point():
        raise TypeError(f"`{name}` images must be floating point; got dtype {images.dtype}")
    return images.float(), masks.long()


def _flag(value: object, name: str) -> bool | None:
    if value is not None and not isinstance(value, bool):
        raise TypeError(f"`{name}` must be None (automatic), True or False; got {name}={value!r}")
    return value


def autocast_dtype(device: torch.device | str) -> torch.dtype:
    """The mixed-precision type used on ``device``: bfloat16 where supported, else float16.

    Parameters
    ----------
    device : torch.device or str

    Returns
    -------
    torch.dtype
        ``torch.bfloat16`` on CPUs and on CUDA GPUs that support it (Ampere and newer),
        ``torch.float16`` on older GPUs and on Apple's MPS.

    See Also
    --------
    torch.autocast, torch.cuda.is_bf16_supported

    Notes
    -----
    bfloat16 keeps float32's 8 exponent bits, so gradients do not underflow and no loss scaling
    is needed; float16 (5 exponent bits) needs a :class:`torch.amp.GradScaler`.

    Examples
    --------
    >>> autocast_dtype("cpu")
    torch.bfloat16
    """
    device = torch.device(device)
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device.type == "mps":
        return torch.float16
    return torch.bfloat16


def _resolve(device, amp, channels_last) -> tuple[torch.device, torch.dtype | None, bool]:
    import convlab

    device = convlab.device() if device is None else torch.device(device)
    amp = _flag(amp, "amp")
    channels_last = _flag(channels_last, "channels_last")
    on_cuda = device.type == "cuda"
    use_amp = on_cuda if amp is None else amp
    use_cl = on_cuda if channels_last is None else channels_last
    return device, (autocast_dtype(device) if use_amp else None), use_cl


def _autocast(device: torch.device, dtype: torch.dtype | None):
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=dtype)


@contextlib.contextmanager
def _threads(num_threads: int | None):
    """Run the block with ``torch.set_num_threads(num_threads)``, then restore the previous count."""
    if num_threads is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(num_threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _check_threads(num_threads: object) -> int | None:
    return None if num_threads is None else check_positive(num_threads, "num_threads")


def _check_rates(lr: object, weight_decay: object) -> None:
    for name, value in (("lr", lr), ("weight_decay", weight_decay)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
            raise ValueError(f"`{name}` must be a non-negative number; got {name}={value!r}")
    if lr == 0:
        raise ValueError("`lr` must be positive; got lr=0")


def train(
    model: nn.Module,
    train_data: Data,
    val_data: Data | None = None,
    *,
    epochs: int = 10,
    lr: float = 3e-3,
    batch_size: int = 16,
    weight_decay: float = 1e-4,
    num_classes: int | None = None,
    device: torch.device | str | None = None,
    amp: bool | None = None,
    channels_last: bool | None = None,
    seed: int = 0,
    progress: bool | str = "auto",
    ignore_index: int = IGNORE_INDEX,
    num_threads: int | None = None,
) -> TrainHistory:
    """Train a segmentation network with per-pixel cross-entropy; report loss, mIoU and images/s.

    Parameters
    ----------
    model : torch.nn.Module
        Maps images ``(N, C, H, W)`` to class scores ``(N, K, H, W)``; trained in place and moved
        to ``device``.
    train_data, val_data : (images, masks) pair or dataset
        Images ``(N, C, H, W)`` float and masks ``(N, H, W)`` int (arrays or tensors), or a
        map-style dataset such as :class:`convlab.data.ShapesDataset`. Mask value ``ignore_index``
        is left out of the loss and the validation metrics.
    epochs : int, default 10
    lr : float, default 3e-3
        Peak learning rate of Adam(W); it follows a cosine curve down to 0 over the run.
    batch_size : int, default 16
    weight_decay : float, default 1e-4
    num_classes : int, optional
        For the validation mIoU; default ``model.num_classes``.
    device : torch.device or str, optional
        Default :func:`convlab.device` (CUDA, then MPS, then CPU).
    amp : bool, optional
        Automatic mixed precision (:func:`autocast_dtype`; fp16 uses a gradient scaler).
        Default: on for CUDA, off elsewhere.
    channels_last : bool, optional
        Store model and batches in NHWC ("channels last"), which Tensor Cores prefer.
        Default: on for CUDA, off elsewhere.
    seed : int, default 0
        Seeds the shuffling (and torch's global generator, for dropout).
    progress : bool, "print" or "auto", default "auto"
        ``True``: a tqdm bar with epoch, loss, mIoU and images/s; ``"print"``: one printed line per
        epoch (loss, validation mIoU, seconds), which every front end shows, a static web page
        too; ``False``: silence. ``"auto"``: what the environment variable ``CONVLAB_PROGRESS``
        says (``"bar"``, ``"print"`` or ``"off"``), the bar when it is unset. ``make book`` sets
        it to ``"print"``: an executed page cannot draw a notebook's bar widget.
    ignore_index : int, default 255
        Target label left out of the loss and the metrics (:func:`convlab.data.ignore_boundaries`).
    num_threads : int, optional
        CPU threads for torch during the call (:func:`torch.set_num_threads`; the previous count
        is restored afterwards). Default: leave torch's setting. On a small CPU shared with other
        work, ``1`` avoids the stall of torch's default: its threads wait for each other at every
        operation, so one thread that loses its core to another process holds up the rest. On
        the course's two-core build machine, with one core kept busy by another process, an
        epoch took 6 to 8 times longer with 2 threads than with 1; with both cores idle 2
        threads were about 1.5 times faster (``scripts/fcn_threads.py`` measures both).

    Returns
    -------
    TrainHistory

    Raises
    ------
    TypeError
        If ``amp`` or ``channels_last`` is not None/bool, or the data has the wrong type.
    ValueError
        If ``epochs``, ``batch_size``, ``num_threads`` or ``lr`` is out of range or the data has
        the wrong shape.

    See Also
    --------
    torch.autocast, torch.amp.GradScaler, torch.channels_last : the two GPU switches.
    evaluate, predict

    Notes
    -----
    The loss is :math:`-\\frac{1}{NHW}\\sum_{n,i,j} \\log \\operatorname{softmax}(s_{n,:,i,j})_{t_{n,i,j}}`,
    a softmax classifier at every pixel (``F.cross_entropy`` on ``(N, K, H, W)`` scores).

    Examples
    --------
    >>> import torch
    >>> from convlab.data import make_shapes
    >>> from convlab.fcn import FCN
    >>> _ = torch.manual_seed(0)
    >>> history = train(FCN(4, "8s", width=4), make_shapes(8, size=32), epochs=1, batch_size=4,
    ...                 device="cpu", progress=False)
    >>> len(history.loss), history.amp, history.channels_last
    (1, None, False)
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"`model` must be a torch.nn.Module; got {type(model).__name__}")
    epochs = check_positive(epochs, "epochs")
    batch_size = check_positive(batch_size, "batch_size")
    seed = check_nonnegative(seed, "seed")
    ignore_index = check_nonnegative(ignore_index, "ignore_index")
    _check_rates(lr, weight_decay)
    num_threads = _check_threads(num_threads)
    device, amp_dtype, use_cl = _resolve(device, amp, channels_last)
    images, masks = _as_tensors(train_data, "train_data")
    val = _as_tensors(val_data, "val_data") if val_data is not None else None
    k = num_classes if num_classes is not None else getattr(model, "num_classes", None)
    if val is not None and k is None:
        raise ValueError("`num_classes` is needed for validation when the model has no `num_classes`")

    progress = _resolve_progress(progress)
    with _threads(num_threads):
        return _train(
            model,
            images,
            masks,
            val,
            k,
            epochs,
            lr,
            batch_size,
            weight_decay,
            device,
            amp_dtype,
            use_cl,
            seed,
            progress,
            ignore_index,
        )


def _train(
    model,
    images,
    masks,
    val,
    k,
    epochs,
    lr,
    batch_size,
    weight_decay,
    device,
    amp_dtype,
    use_cl,
    seed,
    progress,
    ignore_index,
) -> TrainHistory:
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    memory_format = torch.channels_last if use_cl else torch.contiguous_format
    model.to(device=device, memory_format=memory_format)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    steps_per_epoch = math.ceil(len(images) / batch_size)
    total = epochs * steps_per_epoch
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: 0.5 * (1 + math.cos(math.pi * min(step, total) / total))
    )
    scaler = torch.amp.GradScaler(device.type, enabled=amp_dtype == torch.float16)
    history = TrainHistory(
        device=str(device),
        amp=None if amp_dtype is None else str(amp_dtype).split(".")[-1],
        channels_last=use_cl,
    )

    bar = _progress(epochs, progress)
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(images), generator=generator)
        start = time.perf_counter()
        running = torch.zeros((), device=device)
        for first in range(0, len(images), batch_size):
            index = order[first : first + batch_size]
            x = images[index].to(device, non_blocking=True).contiguous(memory_format=memory_format)
            t = masks[index].to(device, non_blocking=True)
            with _autocast(device, amp_dtype):
                loss = F.cross_entropy(model(x), t, ignore_index=ignore_index)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            schedule.step()
            running += loss.detach() * len(index)
        _synchronize(device)
        seconds = time.perf_counter() - start
        history.loss.append(float(running) / len(images))
        history.seconds.append(seconds)
        history.images_per_s.append(len(images) / seconds)
        postfix = {"loss": f"{history.loss[-1]:.3f}", "img/s": f"{history.images_per_s[-1]:.0f}"}
        if val is not None:
            scores = evaluate(
                model,
                val,
                k,
                batch_size=batch_size,
                device=device,
                amp=amp_dtype is not None,
                ignore_index=ignore_index,
            )
            history.val_miou.append(scores["mean_iou"])
            history.val_scores.append(scores)
            postfix["mIoU"] = f"{scores['mean_iou']:.3f}"
        if progress == "print":
            line = f"epoch {epoch + 1}/{epochs}: loss {history.loss[-1]:.3f}"
            if val is not None:
                line += f", val mIoU {history.val_miou[-1]:.3f}"
            print(f"{line}, {seconds:.1f} s", flush=True)
        elif bar is not None:
            bar.set_postfix(postfix)
            bar.update()
    if bar is not None:
        bar.close()
    return history


# ``progress="auto"`` reads this environment variable (``make book`` sets it to "print").
_PROGRESS_VARIABLE = "CONVLAB_PROGRESS"
_PROGRESS_VALUES = {"bar": True, "print": "print", "off": False}


def _resolve_progress(progress: bool | str) -> bool | str:
    """``True``, ``False`` or ``"print"``: ``"auto"`` replaced by what the environment says."""
    if not (isinstance(progress, bool) or progress in ("print", "auto")):
        raise TypeError(f"`progress` must be True, False, 'print' or 'auto'; got progress={progress!r}")
    if progress != "auto":
        return progress
    word = os.environ.get(_PROGRESS_VARIABLE, "").strip().lower()
    if not word:
        return True
    if word not in _PROGRESS_VALUES:
        raise ValueError(
            f"`progress='auto'` reads the environment variable {_PROGRESS_VARIABLE}, which must be "
            f"one of {sorted(_PROGRESS_VALUES)}; got {_PROGRESS_VARIABLE}={word!r}"
        )
    return _PROGRESS_VALUES[word]


def _progress(epochs: int, enabled: bool | str):
    if enabled is not True:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=epochs, desc="epoch", unit="epoch")


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


@torch.no_grad()
def _scores(model: nn.Module, images: torch.Tensor, batch_size: int, device, amp: bool | None):
    """Yield ``(first_index, argmax labels)`` batch by batch, in eval mode."""
    device, amp_dtype, use_cl = _resolve(device, amp, None)
    memory_format = torch.channels_last if use_cl else torch.contiguous_format
    was_training = model.training
    model.to(device).eval()
    try:
        for first in range(0, len(images), batch_size):
            x = images[first : first + batch_size].to(device).contiguous(memory_format=memory_format)
            with _autocast(device, amp_dtype):
                yield first, model(x).argmax(dim=1).cpu()
    finally:
        model.train(was_training)


def predict(
    model: nn.Module,
    images: Any,
    *,
    batch_size: int = 32,
    device=None,
    amp: bool | None = None,
    num_threads: int | None = None,
) -> np.ndarray:
    """Predicted class of every pixel: ``argmax`` of the model's scores.

    Parameters
    ----------
    model : torch.nn.Module
    images : array_like or torch.Tensor, shape (N, C, H, W) or (C, H, W)
    batch_size : int, default 32
    device, amp, num_threads
        As in :func:`train`.

    Returns
    -------
    numpy.ndarray of int64, shape (N, H, W) (or (H, W) for a single image)

    See Also
    --------
    torch.argmax

    Notes
    -----
    The label at pixel :math:`(i, j)` is :math:`\\arg\\max_k s_{k,i,j}`; the softmax is monotone, so it is not
    needed.

    Examples
    --------
    >>> import torch
    >>> from convlab.fcn import FCN
    >>> predict(FCN(4, "32s", width=4), torch.zeros(3, 17, 20), device="cpu").shape
    (17, 20)
    """
    batch_size = check_positive(batch_size, "batch_size")
    num_threads = _check_threads(num_threads)
    x = torch.as_tensor(np.asarray(images) if not isinstance(images, torch.Tensor) else images)
    single = x.dim() == 3
    if single:
        x = x[None]
    if x.dim() != 4 or not x.is_floating_point():
        raise ValueError(f"`images` must be a float array (N, C, H, W) or (C, H, W); got {tuple(x.shape)}")
    out = torch.empty((x.shape[0], *x.shape[-2:]), dtype=torch.int64)
    with _threads(num_threads):
        for first, labels in _scores(model, x.float(), batch_size, device, amp):
            out[first : first + len(labels)] = labels
    return out[0].numpy() if single else out.numpy()


def evaluate(
    model: nn.Module,
    data: Data,
    num_classes: int,
    *,
    batch_size: int = 32,
    device=None,
    amp: bool | None = None,
    ignore_index: int = IGNORE_INDEX,
    num_threads: int | None = None,
) -> dict[str, Any]:
    """The FCN paper's four metrics, the per-class IoU and the confusion matrix of a model on a data set.

    Parameters
    ----------
    model : torch.nn.Module
    data : (images, masks) pair or dataset
        As in :func:`train`.
    num_classes : int
    batch_size : int, default 32
    device, amp, num_threads
        As in :func:`train`.
    ignore_index : int, default 255
        Target pixels with this label are not counted.

    Returns
    -------
    dict
        ``pixel_accuracy``, ``mean_accuracy``, ``mean_iou``, ``frequency_weighted_iou`` (floats),
        ``per_class_iou`` (array ``(K,)``, ``nan`` for a class absent from prediction and target)
        and ``confusion`` (array ``(K, K)``, rows true, columns predicted), all from one confusion
        matrix accumulated over the whole set (not averaged per image).

    See Also
    --------
    convlab.metrics : the same numbers, one function each.

    Notes
    -----
    With :math:`M` the summed confusion matrix, accuracy is :math:`\\operatorname{tr} M / \\sum M` and
    :math:`\\mathrm{IoU}_c = M_{cc} / (\\sum_j M_{cj} + \\sum_i M_{ic} - M_{cc})`.

    Examples
    --------
    >>> from convlab.data import make_shapes
    >>> from convlab.fcn import FCN
    >>> sorted(evaluate(FCN(4, width=4), make_shapes(2, 32), 4, device="cpu"))
    ['confusion', 'frequency_weighted_iou', 'mean_accuracy', 'mean_iou', 'per_class_iou',
     'pixel_accuracy']
    """
    num_classes = check_positive(num_classes, "num_classes")
    batch_size = check_positive(batch_size, "batch_size")
    ignore_index = check_nonnegative(ignore_index, "ignore_index")
    num_threads = _check_threads(num_threads)
    images, masks = _as_tensors(data, "data")
    total = np.zeros((num_classes, num_classes), dtype=np.int64)
    with _threads(num_threads):
        for first, labels in _scores(model, images, batch_size, device, amp):
            chunk = masks[first : first + len(labels)]
            total += confusion_matrix(labels, chunk, num_classes, ignore_index=ignore_index)
    return scores_from_confusion(total)


def scores_from_confusion(m: np.ndarray) -> dict[str, Any]:
    """:func:`evaluate`'s dictionary, computed from a confusion matrix ``(K, K)`` (rows true).

    Parameters
    ----------
    m : ndarray, shape (K, K)
        Pixel counts: row = true class, column = predicted class.

    Returns
    -------
    dict
        ``pixel_accuracy``, ``mean_accuracy``, ``mean_iou``, ``frequency_weighted_iou``,
        ``per_class_iou`` (NaN for a class absent from both) and ``confusion`` (``m``).

    Raises
    ------
    ValueError
        If ``m`` is not square.

    Examples
    --------
    >>> import numpy as np
    >>> s = scores_from_confusion(np.array([[3, 1], [0, 4]]))
    >>> s["pixel_accuracy"], s["mean_accuracy"], round(s["mean_iou"], 4)
    (0.875, 0.875, 0.775)
    """
    m = np.asarray(m, dtype=np.int64)
    if m.ndim != 2 or m.shape[0] != m.shape[1]:
        raise ValueError(f"`m` must be a square (K, K) confusion matrix; got shape {m.shape}")
    tp = np.diag(m).astype(np.float64)
    truth = m.sum(1).astype(np.float64)
    iou = _iou_from_confusion(m)  # the one IoU rule, shared with convlab.metrics
    with np.errstate(invalid="ignore", divide="ignore"):
        recall = tp / truth
    counted = truth.sum()
    nan = float("nan")
    return {
        "pixel_accuracy": float(tp.sum() / counted) if counted else nan,
        "mean_accuracy": float(np.mean(recall[truth > 0])) if counted else nan,
        "mean_iou": float(np.nanmean(iou)) if not np.isnan(iou).all() else nan,
        "frequency_weighted_iou": float(np.sum(truth * np.nan_to_num(iou)) / counted) if counted else nan,
        "per_class_iou": iou,
        "confusion": m,
    }
