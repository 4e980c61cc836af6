"""NumPy operators in PyTorch's NCHW layout, each equal to ``torch.nn.functional`` of the same name.

They are the course's reference implementations: vectorised (sliding windows and ``einsum``/
``matmul``, no Python loop over pixels), dtype-preserving (float32 in, float32 out) and strict
about their arguments. Each lives in a module named for its idea:

- :mod:`convlab.functional.conv` — ``conv1d``, ``conv2d``, ``conv_transpose1d``, ``conv_transpose2d``
- :mod:`convlab.functional.im2col` — ``unfold`` (im2col) and ``fold`` (col2im)
- :mod:`convlab.functional.pooling` — ``max_pool2d`` with indices, ``max_unpool2d``
- :mod:`convlab.functional.interpolation` — ``interpolate`` (nearest, nearest-exact, bilinear, bicubic)
- :mod:`convlab.functional.shuffle` — ``pixel_shuffle``, ``pixel_unshuffle``
"""

from convlab.functional.conv import *  # noqa: F403
from convlab.functional.conv import __all__ as _conv_all
from convlab.functional.im2col import *  # noqa: F403
from convlab.functional.im2col import __all__ as _im2col_all
from convlab.functional.interpolation import *  # noqa: F403
from convlab.functional.interpolation import __all__ as _interpolation_all
from convlab.functional.pooling import *  # noqa: F403
from convlab.functional.pooling import __all__ as _pooling_all
from convlab.functional.shuffle import *  # noqa: F403
from convlab.functional.shuffle import __all__ as _shuffle_all

__all__ = [*_conv_all, *_im2col_all, *_pooling_all, *_interpolation_all, *_shuffle_all]
