"""Weights shipped with the course: the shapes classifier that chapter 8 turns into an FCN.

``shapes_classifier.pt`` holds a :class:`convlab.fcn.Classifier` trained on
:func:`convlab.data.make_shape_crops` by :mod:`convlab.pretrained.make_classifier` (seeded, so a
rerun on the CPU gives the same weights up to floating-point summation order). Nothing is
downloaded: the file is package data.

See the chapter :doc:`/chapters/fcn`.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["CLASSIFIER_FILE", "load_classifier"]

#: Name of the weights file inside this package.
CLASSIFIER_FILE = "shapes_classifier.pt"


def load_classifier(path: str | Path | None = None):
    """The pretrained shapes classifier, in eval mode on the CPU.

    Parameters
    ----------
    path : str or pathlib.Path, optional
        A file written by :func:`convlab.pretrained.make_classifier.save`; default the shipped
        ``shapes_classifier.pt``.

    Returns
    -------
    convlab.fcn.Classifier
        With the stored settings and weights; its ``history`` attribute holds the training record
        (``loss`` and ``val_accuracy`` per epoch, ``seed``, ``epochs``, ``n_train``).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file does not hold a classifier's settings and weights.

    See Also
    --------
    convlab.pretrained.make_classifier : the script that makes the file.
    convlab.fcn.FCN.from_classifier : what chapter 8 does with it.

    Examples
    --------
    >>> clf = load_classifier()
    >>> clf.num_classes, clf.input_size, clf.training
    (4, 96, False)
    """
    import torch

    from convlab.fcn import Classifier

    if path is None:
        with resources.as_file(resources.files(__name__) / CLASSIFIER_FILE) as file:
            blob = torch.load(file, map_location="cpu", weights_only=True)
    else:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"`path` does not exist: {path}")
        blob = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(blob, dict) or not {"settings", "state_dict"} <= set(blob):
        raise ValueError(
            f"`path` must hold a saved classifier (settings and state_dict); got keys {list(blob)}"
        )
    settings = dict(blob["settings"])
    settings["depths"] = tuple(settings["depths"])
    num_classes = settings.pop("num_classes")
    clf = Classifier(num_classes, **settings)
    clf.load_state_dict(blob["state_dict"])
    clf.history = dict(blob.get("history", {}))
    return clf.eval()
