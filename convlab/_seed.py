"""The one name of the grading-seed environment variable, shared by the checks and the instructor tooling.

:mod:`convlab.grading` reads it when a check gets no ``seed=``; :mod:`convlab.course` decides when a
grading kernel sees it. It lives here, outside both, so that the instructor tooling can name it
without importing the checks (which load torch).
"""

from __future__ import annotations

__all__ = ["SEED_ENV"]

#: Environment variable that pins the seed of the randomised (hidden) cases for a reproducible re-grade.
SEED_ENV = "CONVLAB_GRADING_SEED"
