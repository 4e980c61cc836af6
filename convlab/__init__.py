"""convlab: tested reference implementations, figures and graders for the convlab course.

The submodules follow the course:

============================  ===========================================================================
:mod:`convlab.arithmetic`     output sizes and padding rules (chapter 4)
:mod:`convlab.signal`         1-D and 2-D convolution in the signal-processing sense (chapters 1-2)
:mod:`convlab.functional`     NCHW NumPy operators equal to ``torch.nn.functional``
:mod:`convlab.matrix`         convolution as a matrix multiplication (chapter 5)
:mod:`convlab.autograd`       backpropagation through a convolution (chapter 5)
:mod:`convlab.transposed`     three views of transposed convolution, TensorFlow's variant (chapter 6)
:mod:`convlab.upsample`       bilinear kernels, resize-convolution, checkerboard maps (chapter 7)
:mod:`convlab.fcn`            fully convolutional networks in torch (chapter 8)
:mod:`convlab.data`           a synthetic segmentation data set (chapter 8)
:mod:`convlab.metrics`        confusion matrix, pixel accuracy, mean IoU (chapter 8)
:mod:`convlab.training`       the training loop with AMP and channels-last (chapters 8-9)
:mod:`convlab.benchmarking`   timing upsampling operators and training throughput (chapter 9)
:mod:`convlab.viz`            figures and animations used by the chapters
:mod:`convlab.widgets`        ipywidgets explorers
:mod:`convlab.grading`        the checks behind the exercises
:mod:`convlab.course`         the ``convlab-course`` instructor command
============================  ===========================================================================

Submodules are imported on first use, so ``import convlab`` stays fast and does not import torch.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"
# The distribution that carries this package (its import name, ``convlab``, is also used by an
# unrelated project on PyPI); the notebooks' setup cell checks it.
__distribution__ = "convlab-course"

_SUBMODULES = (
    "arithmetic",
    "signal",
    "functional",
    "matrix",
    "autograd",
    "transposed",
    "upsample",
    "fcn",
    "data",
    "metrics",
    "viz",
    "widgets",
    "grading",
    "training",
    "benchmarking",
    "course",
)

__all__ = ["device", "__version__", *_SUBMODULES]


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'convlab' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


def device():
    """The best torch device available here: CUDA, then Apple's MPS, then the CPU.

    Returns
    -------
    torch.device

    Examples
    --------
    >>> import convlab
    >>> convlab.device().type in {"cuda", "mps", "cpu"}
    True
    """
    import torch

    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")
