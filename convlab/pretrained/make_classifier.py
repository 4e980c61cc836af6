"""Pretrain the shapes classifier that chapter 8 convolutionalizes (the course's ImageNet step).

Run it from a terminal to remake the shipped weights (about two minutes on two CPU cores)::

    python -m convlab.pretrained.make_classifier            # writes convlab/pretrained/shapes_classifier.pt
    python -m convlab.pretrained.make_classifier --out my.pt --epochs 8 --seed 1

The classifier is a :class:`convlab.fcn.Classifier` (the backbone of the chapter's FCN with a
three-layer fully connected head) trained with AdamW, a cosine schedule and cross-entropy on
:func:`convlab.data.make_shape_crops`: one shape per 96 x 96 crop, or none (class 0).
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path
from typing import Any

from convlab._validate import check_nonnegative, check_positive

__all__ = ["SETTINGS", "train_classifier", "save", "main"]

#: Architecture of the shipped classifier (and so of the chapter's FCNs).
SETTINGS: dict[str, Any] = dict(
    num_classes=4,
    width=8,
    depths=(1, 1, 2, 2, 1),
    fc_channels=128,
    input_size=96,
    batch_norm=True,
    dropout=0.0,
)


def train_classifier(
    *,
    n_train: int = 3000,
    n_val: int = 1000,
    epochs: int = 4,
    batch_size: int = 64,
    lr: float = 3e-3,
    seed: int = 0,
    settings: dict[str, Any] | None = None,
    verbose: bool = True,
):
    """Train a :class:`convlab.fcn.Classifier` on single-shape crops; return it and its record.

    Parameters
    ----------
    n_train, n_val : int, default 3000, 1000
        Training and validation crops (drawn with seeds ``seed`` and ``seed + 1000``).
    epochs : int, default 4
    batch_size : int, default 64
    lr : float, default 3e-3
        Peak learning rate of AdamW (cosine schedule to 0).
    seed : int, default 0
        Seeds the crops, the initial weights and the shuffling.
    settings : dict, optional
        Classifier settings; default :data:`SETTINGS`.
    verbose : bool, default True
        Print one line per epoch.

    Returns
    -------
    classifier : convlab.fcn.Classifier
        In eval mode, on the CPU.
    history : dict
        ``loss`` (mean training cross-entropy) and ``val_accuracy`` per epoch, and the arguments.

    Raises
    ------
    ValueError
        If a count is below 1 or ``seed`` is negative.

    See Also
    --------
    convlab.pretrained.load_classifier

    Examples
    --------
    >>> clf, history = train_classifier(n_train=32, n_val=8, epochs=1, batch_size=16, verbose=False,
    ...                                 settings=dict(SETTINGS, width=2, fc_channels=8))
    >>> len(history["loss"]), clf.training
    (1, False)
    """
    import torch
    from torch.nn import functional as F

    from convlab.data import make_shape_crops
    from convlab.fcn import Classifier

    n_train, n_val = check_positive(n_train, "n_train"), check_positive(n_val, "n_val")
    epochs, batch_size = check_positive(epochs, "epochs"), check_positive(batch_size, "batch_size")
    seed = check_nonnegative(seed, "seed")
    settings = dict(SETTINGS if settings is None else settings)
    size = settings["input_size"]
    x_train, y_train = (torch.from_numpy(a) for a in make_shape_crops(n_train, size, seed=seed))
    x_val, y_val = (torch.from_numpy(a) for a in make_shape_crops(n_val, size, seed=seed + 1000))
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    options = dict(settings)
    model = Classifier(options.pop("num_classes"), **options)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    total = epochs * math.ceil(n_train / batch_size)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: 0.5 * (1 + math.cos(math.pi * step / total))
    )
    history: dict[str, Any] = dict(loss=[], val_accuracy=[], seed=seed, epochs=epochs, n_train=n_train)
    for epoch in range(epochs):
        model.train()
        start, running = time.perf_counter(), 0.0
        order = torch.randperm(n_train, generator=generator)
        for first in range(0, n_train, batch_size):
            index = order[first : first + batch_size]
            loss = F.cross_entropy(model(x_train[index]), y_train[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            running += float(loss.detach()) * len(index)
        model.eval()
        with torch.no_grad():
            correct = sum(
                int((model(x_val[i : i + 256]).argmax(1) == y_val[i : i + 256]).sum())
                for i in range(0, n_val, 256)
            )
        history["loss"].append(running / n_train)
        history["val_accuracy"].append(correct / n_val)
        if verbose:
            print(
                f"epoch {epoch + 1}/{epochs}: loss {history['loss'][-1]:.3f}, "
                f"val accuracy {history['val_accuracy'][-1]:.3f}, {time.perf_counter() - start:.1f} s",
                flush=True,
            )
    return model.eval(), history


def save(classifier, history: dict[str, Any], path: str | Path) -> Path:
    """Write ``classifier``'s settings, weights and training record to ``path`` (a ``torch.save`` dict).

    Parameters
    ----------
    classifier : convlab.fcn.Classifier
        The trained network.
    history : dict
        Its training record (per-epoch loss and accuracy), kept beside the weights.
    path : path
        The file to write; its folder is created when missing.

    Returns
    -------
    pathlib.Path
        ``path``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from convlab.fcn import Classifier
    >>> from convlab.pretrained import load_classifier
    >>> clf = Classifier(4, width=2, fc_channels=8)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     file = save(clf, {"loss": [1.0]}, pathlib.Path(tmp) / "c.pt")
    ...     load_classifier(file).history["loss"]
    [1.0]
    """
    import torch

    settings = dict(num_classes=classifier.num_classes, input_size=classifier.input_size, **classifier.config)
    settings["depths"] = list(settings["depths"])
    state = {key: value.detach().cpu() for key, value in classifier.state_dict().items()}
    clean = {key: (list(map(float, v)) if isinstance(v, list) else v) for key, v in history.items()}
    path = Path(path)
    torch.save({"settings": settings, "state_dict": state, "history": clean}, path)
    return path


def main(argv: list[str] | None = None) -> Path:
    """Command line: train with the given settings and save the weights.

    Parameters
    ----------
    argv : list of str, optional
        The arguments (``--out``, ``--epochs``, ``--n-train``, ``--seed``); default ``sys.argv``.

    Returns
    -------
    pathlib.Path
        The file written.

    Examples
    --------
    ``python -m convlab.pretrained.make_classifier --epochs 4`` retrains the shipped weights
    (a few minutes on a CPU).
    """
    import torch

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = Path(__file__).with_name("shapes_classifier.pt")
    parser.add_argument("--out", type=Path, default=default, help=f"output file (default {default})")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--n-train", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    was_deterministic = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        classifier, history = train_classifier(n_train=args.n_train, epochs=args.epochs, seed=args.seed)
    finally:
        torch.use_deterministic_algorithms(was_deterministic)
    path = save(classifier, history, args.out)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB)")
    return path


if __name__ == "__main__":
    main()
