"""The checks behind the course's exercises: ``check_<name>(<name>)`` for each function.

Each check runs the student's function on fixed cases (the visible tests) and, with
``n_random=...``, on randomised ones (the hidden tests, seeded at grading time), compares in
float64 against the course's reference with a norm-relative tolerance, and raises
:class:`CheckFailure` (an :class:`AssertionError`) whose message names the smallest failing case,
the expected and received output and, where it recognises one, the misconception behind the error
(at most two ``Diagnosis:`` lines, each true of that case), in at most 25 lines; IPython, Jupyter
and Colab show it without the grader's traceback. On success it prints one line, e.g.
``✔ convolve1d passed 6 cases``. A keyword argument equal to the exercise's default is left out of
the call, so a wrong default in the student's signature fails.

While the student's function runs, a profile hook watches what it calls: a function that calls a
library version of the operation (convlab's references, torch, scipy, numpy's convolve), however
it reaches it, fails; so does one that runs longer than the time budget of each call.
The random cases draw their seed from ``os.urandom`` unless ``seed=`` is given or the environment
variable ``CONVLAB_GRADING_SEED`` pins it (the instructor tooling sets it for a reproducible re-grade).

=====================  ==================================================================
assignment             checks
=====================  ==================================================================
``ex01_conv1d``        :func:`check_convolve1d`, :func:`check_correlate1d`
``ex02_conv2d``        :func:`check_convolve2d`, :func:`check_conv2d`
``ex02b_pooling``      :func:`check_max_pool2d`, :func:`check_max_pool2d_backward`,
                       :func:`check_receptive_field`, :func:`check_answer` (written questions)
``ex03_arithmetic``    :func:`check_conv_output_size`, :func:`check_conv_transpose_output_size`,
                       :func:`check_same_padding`
``ex04_matrix``        :func:`check_conv_matrix`, :func:`check_conv2d_backward`
``ex05_transposed``    :func:`check_conv_transpose2d`, :func:`check_tf_conv2d_transpose`
``ex06_upsampling``    :func:`check_interpolate_bilinear`, :func:`check_max_unpool2d`,
                       :func:`check_pixel_shuffle`
``ex07_fcn``           :func:`check_convolutionalize`, :func:`check_bilinear_kernel`,
                       :func:`check_mean_iou`, :func:`check_crop_offset`, :func:`check_fcn8s_fuse`
=====================  ==================================================================

``import convlab.grading`` loads torch, the reference modules and the checks up front (a second or
two, once), so that every check then runs in a fraction of a second, and records the grader's
functions before any solution cell can change them.

Examples
--------
>>> import numpy as np
>>> from convlab.grading import check_convolve1d
>>> def convolve1d(f, g, mode="full"):
...     return np.asarray(f)  # wrong on purpose
>>> try:
...     check_convolve1d(convolve1d)
... except AssertionError as failure:
...     print(str(failure).splitlines()[0])
`convolve1d` failed on case 1 of 6:
"""

from __future__ import annotations

import importlib

from convlab.grading.cases import SEED_ENV, resolve_seed
from convlab.grading.comparison import CheckFailure, ShortcutError
from convlab.grading.shortcuts import preload, protect
from convlab.grading.submission import check_submission

#: Assignment id -> the exercise functions it grades, in notebook order.
ASSIGNMENTS: dict[str, tuple[str, ...]] = {
    "ex01_conv1d": ("convolve1d", "correlate1d"),
    "ex02_conv2d": ("convolve2d", "conv2d"),
    "ex02b_pooling": ("max_pool2d", "max_pool2d_backward", "receptive_field"),
    "ex03_arithmetic": ("conv_output_size", "conv_transpose_output_size", "same_padding"),
    "ex04_matrix": ("conv_matrix", "conv2d_backward"),
    "ex05_transposed": ("conv_transpose2d", "tf_conv2d_transpose"),
    "ex06_upsampling": ("interpolate_bilinear", "max_unpool2d", "pixel_shuffle"),
    "ex07_fcn": ("convolutionalize", "bilinear_kernel", "mean_iou", "crop_offset", "fcn8s_fuse"),
}

_CHECK_MODULE = {f"check_{fn}": assignment for assignment, fns in ASSIGNMENTS.items() for fn in fns}
_CHECK_MODULE["check_answer"] = "ex02b_pooling"  # the written questions of ex02b_pooling

__all__ = [
    "ASSIGNMENTS",
    "SEED_ENV",
    "CheckFailure",
    "ShortcutError",
    "check_submission",
    "resolve_seed",
    *_CHECK_MODULE,
]


preload()
for _assignment in ASSIGNMENTS:  # the checks, declared before any solution cell can touch them
    importlib.import_module(f"{__name__}.{_assignment}")
protect()


def __getattr__(name: str):
    assignment = _CHECK_MODULE.get(name)
    if assignment is None:
        raise AttributeError(f"module 'convlab.grading' has no attribute {name!r}")
    check = getattr(importlib.import_module(f"{__name__}.{assignment}"), name)
    globals()[name] = check
    return check


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
