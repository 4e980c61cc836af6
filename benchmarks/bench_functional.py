"""Time convlab's NumPy operators against torch on the CPU and print the ratios.

Run from the repository root::

    .venv/bin/python benchmarks/bench_functional.py            # all cores
    .venv/bin/python benchmarks/bench_functional.py --threads 1

Both libraries get the same number of threads: the BLAS/OpenMP environment variables are set
before NumPy is imported and ``torch.set_num_threads`` is called. Each case is warmed up, then
the two libraries are timed in alternating blocks, at least ``--repeats`` times each, so that
both see the same (possibly noisy) machine; the table shows medians. See ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import sys
import time

_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS")


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="threads for both libraries")
    parser.add_argument("--repeats", type=int, default=12, help="timed runs per case and library")
    parser.add_argument("--warmup", type=int, default=2, help="untimed runs per case")
    return parser.parse_args()


def _keep_freed_memory() -> bool:
    """Let glibc's malloc reuse freed blocks up to 32 MiB instead of returning them to the kernel.

    By default a large block is ``mmap``-ed and every call pays page faults to zero fresh pages
    for its output: 16 MiB here, about 10 ms. glibc raises that threshold only after a large
    block is freed, so without this the cost falls on whichever library happens to allocate
    first, and the ratio measures allocation history rather than the operators.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3
        return bool(libc.mallopt(m_mmap_threshold, 32 << 20) and libc.mallopt(m_trim_threshold, 1 << 30))
    except (OSError, AttributeError):  # not glibc
        return False


def _median_ms(ours, theirs, repeats: int, warmup: int, block: int = 3) -> tuple[float, float]:
    """Median milliseconds of both callables, timed in alternating blocks of ``block`` runs.

    Alternating blocks let both libraries see the same (possibly noisy) machine. Each block
    starts after a pause and one untimed run: idle BLAS and OpenMP worker threads keep spinning
    for up to ~0.1 s after a call, and must not steal cores from the other library's block.
    """
    for _ in range(warmup):
        ours()
        theirs()
    times: tuple[list[float], list[float]] = ([], [])
    while len(times[1]) < repeats:
        for fn, record in ((ours, times[0]), (theirs, times[1])):
            time.sleep(0.25)
            fn()
            for _ in range(block):
                start = time.perf_counter()
                fn()
                record.append(time.perf_counter() - start)
    return tuple(1e3 * sorted(t)[len(t) // 2] for t in times)


def _cases(np, torch):
    """(name, convlab callable, torch callable, target ratio), inputs built once, float32."""
    import torch.nn.functional as tf

    from convlab import functional as F

    rng = np.random.default_rng(0)

    def arrays(*shapes):
        return [rng.standard_normal(s, dtype=np.float32) for s in shapes]

    x, w, b = arrays((16, 32, 64, 64), (64, 32, 3, 3), (64,))
    tx, tw, tb = (torch.from_numpy(a) for a in (x, w, b))
    yield (
        "conv2d (16,32,64,64) * (64,32,3,3), padding=1",
        lambda: F.conv2d(x, w, b, padding=1),
        lambda: tf.conv2d(tx, tw, tb, padding=1),
        1.25,
    )

    y, wt, bt = arrays((16, 64, 32, 32), (64, 32, 4, 4), (32,))
    ty, twt, tbt = (torch.from_numpy(a) for a in (y, wt, bt))
    yield (
        "conv_transpose2d (16,64,32,32) -> 32 ch, k=4, s=2, p=1",
        lambda: F.conv_transpose2d(y, wt, bt, stride=2, padding=1),
        lambda: tf.conv_transpose2d(ty, twt, tbt, stride=2, padding=1),
        1.5,
    )

    (z,) = arrays((16, 64, 64, 64))
    tz = torch.from_numpy(z)

    yield (
        "interpolate bilinear x2 (16,64,64,64)",
        lambda: F.interpolate(z, scale_factor=2, mode="bilinear", align_corners=False),
        lambda: tf.interpolate(tz, scale_factor=2, mode="bilinear", align_corners=False),
        2.0,
    )


def main() -> int:
    args = _parse()
    for var in _THREAD_VARS:
        os.environ[var] = str(args.threads)
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))

    malloc = "glibc malloc keeps freed memory" if _keep_freed_memory() else "default malloc"
    import numpy as np
    import torch

    torch.set_num_threads(args.threads)
    print(
        f"threads={args.threads}  numpy {np.__version__}  torch {torch.__version__}  {malloc}\n"
        f"median of >= {args.repeats} runs in alternating blocks (convlab, torch, convlab, ...) "
        f"after {args.warmup} warm-up runs"
    )
    header = f"{'case':<56} {'convlab ms':>10} {'torch ms':>9} {'ratio':>6} {'target':>7}  result"
    print(header)
    print("-" * len(header))
    misses = 0
    with torch.inference_mode():
        for name, ours, theirs, target in _cases(np, torch):
            ours_ms, torch_ms = _median_ms(ours, theirs, args.repeats, args.warmup)
            ratio = ours_ms / torch_ms
            verdict = "PASS" if ratio <= target else "MISS"
            misses += verdict == "MISS"
            print(f"{name:<56} {ours_ms:>10.2f} {torch_ms:>9.2f} {ratio:>6.2f} {target:>7.2f}  {verdict}")
    print(f"{misses} case(s) above target" if misses else "all cases within target")

    print(
        "\nfloor of the im2col design: its matrix products alone, on columns already in cache, cut"
        "\ninto the same pieces and threads as the library, against the same torch call"
    )
    with torch.inference_mode():
        for name, products, theirs in _product_floors(np, torch):
            ours_ms, torch_ms = _median_ms(products, theirs, args.repeats, args.warmup)
            print(f"{name:<56} {ours_ms:>10.2f} {torch_ms:>9.2f} {ours_ms / torch_ms:>6.2f}")
    return 0


def _product_floors(np, torch):
    """(name, the library's matrix products alone, torch callable) for the two convolutions.

    conv2d's stride-1 columns hold ``C kh kw`` rows and ``Ho * Wp`` positions per sample (the
    flattened padded rows, see ``convlab.functional.conv._conv2d_core``); conv_transpose2d k4 s2
    runs as one stride-1 convolution with ``4 * 32`` output channels and 2 x 2 sub-kernels over
    the input padded to 34 x 34, so 33 x 34 positions per sample.
    """
    import torch.nn.functional as tf

    from convlab.functional import _pieces, conv

    rng = np.random.default_rng(0)

    def products(n, f, k, positions):
        w = rng.standard_normal((f, k), dtype=np.float32)
        out = np.empty((n, f, positions), dtype=np.float32)
        per_piece = max(1, conv._PIECE_BYTES // (k * positions * 4))
        pieces = _pieces.split(n, per_piece, _pieces.threads())
        # every piece reads the same columns, as warm in cache as the library's freshly built ones
        cols = rng.standard_normal((max(b - a for a, b in pieces), k, positions), dtype=np.float32)

        def piece(bounds):
            a, b = bounds
            np.matmul(w, cols[: b - a], out=out[a:b])

        return lambda: _pieces.run(piece, pieces, flops=2.0 * n * f * k * positions)

    x, w, b = (torch.randn(*s) for s in ((16, 32, 64, 64), (64, 32, 3, 3), (64,)))
    yield "conv2d: products only", products(16, 64, 32 * 9, 64 * 66), lambda: tf.conv2d(x, w, b, padding=1)
    y, wt, bt = (torch.randn(*s) for s in ((16, 64, 32, 32), (64, 32, 4, 4), (32,)))
    yield (
        "conv_transpose2d: products only",
        products(16, 4 * 32, 64 * 4, 33 * 34),
        lambda: tf.conv_transpose2d(y, wt, bt, stride=2, padding=1),
    )


if __name__ == "__main__":
    raise SystemExit(main())
