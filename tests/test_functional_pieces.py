"""Large convolutions run piece by piece on a thread pool: same answers, whatever the schedule."""

import multiprocessing
import threading

import numpy as np
import pytest
import torch
import torch.nn.functional as tf
from threadpoolctl import threadpool_info, threadpool_limits

from convlab.functional import _pieces, conv2d, conv_transpose2d

T = torch.from_numpy


def _blas_threads() -> list[int]:
    return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]


@pytest.fixture
def always_parallel(monkeypatch):
    """Every job goes to the pool, and the pool has at least two threads, even on one core."""
    monkeypatch.setattr(_pieces, "MIN_PARALLEL_FLOPS", 0)
    monkeypatch.setattr(_pieces, "_cores", lambda: 2)
    with threadpool_limits(2, user_api="blas"):
        yield


# Shapes chosen to reach each way of cutting the work: several samples per piece, one sample
# per piece, bands of rows of one sample (> 8 MiB of columns), flat stride-1 columns and
# strided windows, groups, bias, and a transposed convolution (which runs on the same core).
CASES = {
    "samples-per-piece": ((6, 3, 20, 20), (4, 3, 3, 3), {"padding": 1}),
    "bands-stride-1": ((2, 8, 150, 140), (5, 8, 3, 3), {"padding": 1}),
    "bands-strided-dilated": (
        (1, 16, 160, 150),
        (6, 8, 3, 5),
        {"stride": 2, "dilation": (1, 2), "groups": 2},
    ),
    "same-even-kernel": ((3, 4, 40, 33), (2, 4, 4, 2), {"padding": "same"}),
}


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel lengths:UserWarning")
@pytest.mark.parametrize("name", CASES)
def test_parallel_serial_and_torch_agree(name, rng, monkeypatch):
    xs, ws, kwargs = CASES[name]
    x, w = rng.standard_normal(xs), rng.standard_normal(ws)
    b = rng.standard_normal(ws[0])
    ref = tf.conv2d(T(x), T(w), T(b), **kwargs).numpy()

    monkeypatch.setattr(_pieces, "MIN_PARALLEL_FLOPS", float("inf"))
    serial = conv2d(x, w, b, **kwargs)
    monkeypatch.setattr(_pieces, "MIN_PARALLEL_FLOPS", 0)
    monkeypatch.setattr(_pieces, "_cores", lambda: 2)
    with threadpool_limits(2, user_api="blas"):
        parallel = conv2d(x, w, b, **kwargs)
    np.testing.assert_allclose(serial, ref, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(parallel, ref, rtol=1e-10, atol=1e-10)
    # Not bit for bit: the pieces are smaller matrix products than the serial call's, and OpenBLAS
    # picks its kernel (and so the order of each sum) per CPU and per matrix shape. On AMD EPYC a
    # third of the elements differ in the last bits (up to 2e-14); what the schedule must not
    # change is more than that rounding (sums of at most 120 products of order 1 here).
    np.testing.assert_allclose(parallel, serial, rtol=1e-13, atol=1e-13)


def test_float32_bands_in_parallel(rng, always_parallel):
    x = rng.standard_normal((2, 32, 130, 130), dtype=np.float32)
    w = rng.standard_normal((16, 32, 3, 3), dtype=np.float32)
    b = rng.standard_normal(16, dtype=np.float32)
    got = conv2d(x, w, b, padding=1)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, tf.conv2d(T(x), T(w), T(b), padding=1).numpy(), rtol=1e-4, atol=1e-4)


TRANSPOSED = {
    "samples-per-piece": ((4, 6, 24, 20), (6, 3, 4, 4), {"stride": 2, "padding": 1}),
    "bands-of-phase-rows": ((1, 16, 190, 170), (16, 4, 4, 4), {"stride": 2, "padding": 1}),
    "bands-uneven-phases": (
        (1, 16, 300, 260),
        (16, 6, 5, 4),
        {"stride": (3, 2), "padding": (2, 1), "output_padding": (1, 0), "groups": 2},
    ),
}


@pytest.mark.parametrize("name", TRANSPOSED)
def test_transposed_in_parallel(name, rng, always_parallel):
    ys, ws, kwargs = TRANSPOSED[name]
    y, w = rng.standard_normal(ys), rng.standard_normal(ws)
    b = rng.standard_normal(ws[1] * kwargs.get("groups", 1))
    got = conv_transpose2d(y, w, b, **kwargs)
    ref = tf.conv_transpose2d(T(y), T(w), T(b), **kwargs).numpy()
    np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-10)


def test_blas_threads_restored_after_a_parallel_call(rng, always_parallel):
    conv2d(rng.standard_normal((4, 3, 30, 30)), rng.standard_normal((2, 3, 3, 3)))
    assert set(_blas_threads()) == {2}


def test_blas_threads_restored_when_a_piece_fails(monkeypatch, always_parallel):
    def boom(piece):
        raise RuntimeError(f"piece {piece} failed")

    with pytest.raises(RuntimeError, match="failed"):
        _pieces.run(boom, range(4), flops=1e12)
    assert set(_blas_threads()) == {2}
    assert not _pieces._busy.locked()


def test_a_single_threaded_blas_means_serial(monkeypatch):
    monkeypatch.setattr(_pieces, "_cores", lambda: 2)
    with threadpool_limits(1, user_api="blas"):
        assert _pieces.threads() == 1
        seen = []
        _pieces.run(lambda p: seen.append((p, threading.current_thread())), range(5), flops=1e12)
    assert [p for p, _ in seen] == list(range(5))
    assert {t for _, t in seen} == {threading.current_thread()}


def test_small_jobs_stay_in_the_calling_thread(monkeypatch):
    monkeypatch.setattr(_pieces, "_cores", lambda: 2)
    threads = set()
    with threadpool_limits(2, user_api="blas"):
        _pieces.run(lambda p: threads.add(threading.current_thread()), range(4), flops=1e3)
    assert threads == {threading.current_thread()}


def test_concurrent_callers_get_correct_results(rng, always_parallel):
    x = rng.standard_normal((4, 3, 40, 40))
    ws = [rng.standard_normal((2, 3, 3, 3)) for _ in range(4)]
    results, errors = {}, []

    def call(i):
        try:
            results[i] = conv2d(x, ws[i], padding=1)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    workers = [threading.Thread(target=call, args=(i,)) for i in range(4)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    assert not errors
    for i, w in enumerate(ws):
        ref = tf.conv2d(T(x), T(w), padding=1).numpy()
        np.testing.assert_allclose(results[i], ref, rtol=1e-10, atol=1e-10)
    assert set(_blas_threads()) == {2}


def _child(queue):
    x = np.ones((4, 2, 30, 30))
    queue.put(float(conv2d(x, np.ones((1, 2, 3, 3)), padding=1)[0, 0, 5, 5]))


def test_the_pool_survives_fork(rng, always_parallel):
    conv2d(rng.standard_normal((4, 3, 30, 30)), rng.standard_normal((2, 3, 3, 3)))  # parent's pool exists
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_child, args=(queue,))
    child.start()
    child.join(timeout=60)
    assert child.exitcode == 0, "a forked child hung or crashed using the inherited pool"
    assert queue.get(timeout=5) == 18.0


@pytest.mark.parametrize(
    "count, per_piece, workers, expected",
    [
        (16, 1, 2, [(i, i + 1) for i in range(16)]),
        (16, 7, 2, [(0, 4), (4, 8), (8, 12), (12, 16)]),
        (3, 8, 2, [(0, 2), (2, 3)]),
        (1, 8, 2, [(0, 1)]),
        (10, 0, 1, [(i, i + 1) for i in range(10)]),
    ],
)
def test_split_covers_the_range_evenly(count, per_piece, workers, expected):
    assert _pieces.split(count, per_piece, workers) == expected
