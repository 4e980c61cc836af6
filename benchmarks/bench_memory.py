"""Time and peak memory of convlab against its oracle on large inputs, and their ratios.

Run from the repository root::

    .venv/bin/python benchmarks/bench_memory.py [word]

(with a word, only the cases whose name contains it).

Each case runs once per library after one warm-up run (these calls take up to seconds, and
the point is the order of magnitude). Peak memory is the peak of :mod:`tracemalloc` during the
call, which sees NumPy's allocations; torch allocates outside Python's allocator, so for torch
cases the column shows the size of its output instead (marked ``*``), a lower bound of its peak.
"""

from __future__ import annotations

import sys
import time
import tracemalloc

import numpy as np
import scipy.signal
import torch
import torch.nn.functional as tF

from convlab import functional as F
from convlab import signal

MiB = 1 << 20


def _measure(call, traced: bool = True) -> tuple[float, float, object]:
    """Seconds and peak MiB of one run of ``call`` (after a warm-up run)."""
    call()
    if traced:
        tracemalloc.start()
    start = time.perf_counter()
    result = call()
    seconds = time.perf_counter() - start
    if traced:
        peak = tracemalloc.get_traced_memory()[1] / MiB
        tracemalloc.stop()
    else:
        peak = float(np.asarray(result).nbytes) / MiB
    return seconds, peak, result


def _cases():
    rng = np.random.default_rng(0)
    f, g = rng.standard_normal(100_000), rng.standard_normal(10_000)
    yield "convolve1d 1e5 x 1e4 (float)", lambda: signal.convolve1d(f, g), lambda: np.convolve(f, g), True
    fi, gi = rng.integers(-5, 5, 100_000), rng.integers(-5, 5, 10_000)
    yield "convolve1d 1e5 x 1e4 (int64)", lambda: signal.convolve1d(fi, gi), lambda: np.convolve(fi, gi), True
    fs, gs = fi.astype(np.int32), gi[:1000].astype(np.int32)
    yield (
        "convolve1d 1e5 x 1e3 same (int32)",
        lambda: signal.convolve1d(fs, gs, "same"),
        lambda: np.convolve(fs, gs, "same"),
        True,
    )
    x, k = rng.standard_normal((1500, 1500)), rng.standard_normal((31, 31))
    yield (
        "convolve2d 1500^2 x 31^2 same",
        lambda: signal.convolve2d(x, k, "same"),
        lambda: scipy.signal.convolve2d(x, k, "same"),
        True,
    )
    s = rng.standard_normal((1, 1, 100_000))
    ts = torch.from_numpy(s)
    yield (
        "interpolate linear 1e5 -> 44,100",
        lambda: F.interpolate(s, size=44_100, mode="linear"),
        lambda: tF.interpolate(ts, size=44_100, mode="linear").numpy(),
        False,
    )
    y, w = rng.standard_normal((1, 2, 3, 3)), rng.standard_normal((2, 1, 2, 2))
    ty, tw = torch.from_numpy(y), torch.from_numpy(w)
    for stride in (1000, (10_000, 3)):
        yield (
            f"conv_transpose2d (1,2,3,3) k=2 stride={stride}",
            lambda stride=stride: F.conv_transpose2d(y, w, stride=stride),
            lambda stride=stride: tF.conv_transpose2d(ty, tw, stride=stride).numpy(),
            False,
        )


def main() -> None:
    torch.set_num_threads(torch.get_num_threads())
    header = (
        f"{'case':<50} {'convlab s':>10} {'oracle s':>9} {'ratio':>7} {'convlab MiB':>12} {'oracle MiB':>11}"
    )
    print(header)
    print("-" * len(header))
    only = sys.argv[1] if len(sys.argv) > 1 else ""  # e.g. "convolve1d": the cases whose name has it
    for name, ours, oracle, traced in _cases():
        if only not in name:
            continue
        t1, m1, r1 = _measure(ours)
        t2, m2, r2 = _measure(oracle, traced)
        # same result (a few of torch's 44,100 interpolation coordinates round differently)
        assert np.shape(r1) == np.shape(r2)
        assert np.isclose(r1, r2, rtol=1e-6, atol=1e-6 * float(np.abs(r2).max())).mean() > 0.99
        mark = "" if traced else "*"
        print(f"{name:<50} {t1:>10.3f} {t2:>9.3f} {t1 / t2:>7.2f} {m1:>12.1f} {m2:>10.1f}{mark:1}")
    print("* torch's output size (its own allocator is not traced)")


if __name__ == "__main__":
    main()
