"""Interactive explorers (ipywidgets) of the course.

Each explorer is built from plain functions that compute what it shows (``*_state`` functions,
tested headlessly) and a thin ipywidgets layer that calls them. On the static website each
explorer sits beside a figure or animation that shows the same thing without a kernel.
"""

from convlab.widgets.arithmetic import *  # noqa: F403
from convlab.widgets.arithmetic import __all__ as _arithmetic_all
from convlab.widgets.interpolation import *  # noqa: F403
from convlab.widgets.interpolation import __all__ as _interpolation_all
from convlab.widgets.receptive_field import *  # noqa: F403
from convlab.widgets.receptive_field import __all__ as _receptive_field_all
from convlab.widgets.transposed import *  # noqa: F403
from convlab.widgets.transposed import __all__ as _transposed_all

__all__ = [*_arithmetic_all, *_transposed_all, *_interpolation_all, *_receptive_field_all]
