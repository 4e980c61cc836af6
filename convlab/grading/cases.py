"""What a check is made of: the exercise's signature, its cases, its misconceptions, and seeds.

An exercise is a declaration (see :func:`convlab.grading.running.exercise`): the signature the
student's function has, a few fixed :class:`Case` objects written like calls (``Case(f, g,
mode="same")``), a function that draws one random case, and a table of :class:`Misconception`
objects. Everything that receives a case receives it *by parameter name*, the way Otter binds
its tests: a misconception written ``lambda f, g: ...`` gets the case's ``f`` and ``g``; the
names ``case`` and ``expected`` (the reference's output) are bound too.
"""

from __future__ import annotations

import copy
import inspect
import os
import zlib
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from convlab._seed import SEED_ENV

__all__ = [
    "SEED_ENV",
    "Case",
    "Misconception",
    "Signature",
    "resolve_seed",
    "case_rng",
    "draw",
]


# Private references, taken before any student cell runs.
_urandom = os.urandom
_environ_get = os.environ.get
_crc32 = zlib.crc32
_default_rng = np.random.default_rng
_deepcopy = copy.deepcopy

#: Names a bound function may ask for besides the exercise's arguments.
_EXTRA_NAMES = ("case", "expected")


def resolve_seed(seed: int | None = None) -> int:
    """The seed of the randomised cases: ``seed`` if given, else ``$CONVLAB_GRADING_SEED``, else fresh.

    Parameters
    ----------
    seed : int, optional
        A non-negative integer.

    Returns
    -------
    int
        The seed to use.

    Raises
    ------
    TypeError, ValueError
        When ``seed`` (or the environment variable) is not a non-negative integer.

    Examples
    --------
    >>> resolve_seed(7)
    7
    """
    if seed is None:
        pinned = _environ_get(SEED_ENV, "").strip()
        if not pinned:
            return int.from_bytes(_urandom(4), "little")
        try:
            seed = int(pinned)
        except ValueError:
            raise ValueError(f"`{SEED_ENV}` must be an integer; got {SEED_ENV}={pinned!r}") from None
        name = SEED_ENV
    else:
        name = "seed"
        if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
            raise TypeError(f"`seed` must be an integer or None; got seed={seed!r}")
    if seed < 0:
        raise ValueError(f"`{name}` must be a non-negative integer; got {name}={seed!r}")
    return int(seed)


def case_rng(seed: int, name: str) -> np.random.Generator:
    """A generator for the random cases of one check: each check draws its own stream from one seed."""
    return _default_rng([seed, _crc32(name.encode())])


def draw(rng: np.random.Generator, shape: Sequence[int], dtype: type = np.float64) -> np.ndarray:
    """Random test data rounded to two decimals (readable in a failure message)."""
    return rng.standard_normal(shape).round(2).astype(dtype)


class Case:
    """One call of the exercise function, written as the call: ``Case(f, g, mode="same")``.

    Arguments left out take the default of the exercise's signature: the reference and the
    misconceptions see it, and the student's function is called without it (so that its own
    default is what gets tested).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args, self.kwargs = args, kwargs
        self.random = False
        self.raises: type[BaseException] | None = None

    def __repr__(self) -> str:
        parts = [repr(a) for a in self.args] + [f"{k}={v!r}" for k, v in self.kwargs.items()]
        return f"Case({', '.join(parts)})"


class Signature:
    """The exercise's signature, e.g. ``Signature("convolve1d(f, g, mode='full')")``.

    It binds cases (:meth:`bind`) and calls functions with the arguments they name (:meth:`call`).
    """

    def __init__(self, text: str) -> None:
        self.name, params = text.split("(", 1)
        self.text = text
        self.parameters = inspect.signature(eval(f"lambda {params[:-1]}: None")).parameters
        self.names = tuple(self.parameters)

    def bind(self, case: Case) -> tuple[dict[str, Any], dict[str, Any]]:
        """``(given, values)``: the arguments the case states, and all of them with defaults."""
        bound = inspect.Signature(list(self.parameters.values())).bind(*case.args, **case.kwargs)
        given = dict(bound.arguments)
        bound.apply_defaults()
        return given, dict(bound.arguments)

    def split(self, values: dict[str, Any]) -> tuple[tuple, dict[str, Any]]:
        """Positional arguments (no default) and keywords (with a default), as a student calls it."""
        args = tuple(v for k, v in values.items() if self.parameters[k].default is inspect.Parameter.empty)
        kwargs = {
            k: v for k, v in values.items() if self.parameters[k].default is not inspect.Parameter.empty
        }
        return args, kwargs

    def check_names(self, fn: Callable, what: str) -> None:
        """Refuse (when an exercise is declared) a function asking for a name the case lacks."""
        for name, param in inspect.signature(fn).parameters.items():
            if name in self.names or name in _EXTRA_NAMES or param.default is not inspect.Parameter.empty:
                continue
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                continue
            raise TypeError(f"{what} of `{self.name}` asks for `{name}`, which is not one of {self.names}")

    @staticmethod
    def call(fn: Callable, values: dict[str, Any], **extra: Any) -> Any:
        """Call ``fn`` with the values its parameters name (fresh copies of them)."""
        params = inspect.signature(fn).parameters
        pool = {**values, **extra}
        return fn(**{name: _deepcopy(pool[name]) for name in params if name in pool})


class Misconception:
    """A known mistake and the hint it deserves.

    Either ``compute`` gives what the mistake returns (its parameters are bound by name to the
    case's arguments, ``case`` or ``expected``), or ``changes`` say which arguments the mistake
    gets wrong: ``Misconception(hint, b=None)`` is the reference called without the bias,
    ``Misconception(hint, w=lambda w: w[..., ::-1, ::-1])`` the reference with a flipped kernel.
    ``when`` (bound by name too) restricts it to some cases. With ``part=i`` the mistake is in
    element ``i`` of a tuple output only: the other elements are the reference's.
    """

    def __init__(
        self,
        hint: str,
        compute: Callable[..., Any] | None = None,
        *,
        when: Callable[..., bool] | None = None,
        part: int | None = None,
        **changes: Any,
    ) -> None:
        if (compute is None) == (not changes):
            raise TypeError("a Misconception needs either `compute` or argument changes, not both")
        self.hint, self.compute, self.when, self.changes, self.part = hint, compute, when, changes, part

    def check_names(self, signature: Signature) -> None:
        for fn in (self.compute, self.when, *self.changes.values()):
            if callable(fn):
                signature.check_names(fn, f"the misconception {self.hint[:40]!r}...")
        unknown = set(self.changes) - set(signature.names)
        if unknown:
            raise TypeError(f"a misconception of `{signature.name}` changes unknown arguments {unknown}")

    def applies(self, values: dict[str, Any], case: Case) -> bool:
        return self.when is None or bool(Signature.call(self.when, values, case=case))

    def output(self, values: dict[str, Any], case: Case, expected: Any, reference: Callable) -> Any:
        """What the mistake returns on this case."""
        if self.compute is not None:
            wrong = Signature.call(self.compute, values, case=case, expected=expected)
        else:
            changed = dict(values)
            for name, change in self.changes.items():
                changed[name] = Signature.call(change, values, case=case) if callable(change) else change
            wrong = reference(*_deepcopy(tuple(changed.values())))
            wrong = wrong if self.part is None else wrong[self.part]
        if self.part is None:
            return wrong
        return tuple(wrong if i == self.part else e for i, e in enumerate(expected))


def one_of_a_kind(mistakes: list[Misconception]) -> list[Misconception]:
    """The misconceptions of a check of ``layers`` alone, each shown only where its value is its own.

    For checks whose one argument is ``layers`` (``receptive_field``, ``crop_offset``) and whose
    answer is a number, so that different mistakes often give the same one.

    Two mistakes that land on the same answer cannot be told apart by it: neither hint is shown
    there (each would be false for the student who made the other one).
    """

    def value(m, layers):
        try:
            return m.compute(layers)
        except Exception:
            return None

    def alone(layers, m, others):
        own = value(m, layers)
        applies = m.when is None or bool(m.when(layers))
        return applies and own is not None and all(value(o, layers) != own for o in others)

    def told_apart(m: Misconception) -> Misconception:
        others = [o for o in mistakes if o is not m]
        return Misconception(m.hint, m.compute, when=lambda layers: alone(layers, m, others))

    return [told_apart(m) for m in mistakes]
