"""The GPU lab's measuring tools, checked on the CPU: shapes, FLOP counts against torch's own
counter, timing, the training-step profile, and argument checking."""

from __future__ import annotations

import os
import sys

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from convlab.benchmarking import (
    PRECISIONS,
    UPSAMPLERS,
    benchmark_upsampling,
    lab_sizes,
    make_upsampler,
    profile_training_step,
    time_call,
    training_throughput,
    upsampler_flops,
)
from convlab.fcn import FCN


@pytest.mark.parametrize("name", UPSAMPLERS)
@pytest.mark.parametrize("bias", [True, False])
def test_every_upsampler_doubles_height_and_width(name, bias):
    up = make_upsampler(name, 5, 3, bias=bias)
    assert tuple(up(torch.zeros(2, 5, 7, 4)).shape) == (2, 3, 14, 8)
    convs = [m for m in up.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))]
    assert len(convs) == 1 and (convs[0].bias is not None) == bias


@pytest.mark.parametrize("name", UPSAMPLERS)
@pytest.mark.parametrize("shape", [(2, 6, 7, 5), (1, 3, 4, 8), (3, 1, 1, 2)])
def test_flop_count_equals_torchs_counter(name, shape):
    n, c, s, o = shape
    with FlopCounterMode(display=False) as counter:
        make_upsampler(name, c, o, bias=False)(torch.randn(n, c, s, s))
    assert upsampler_flops(name, n, c, s, o) == counter.get_total_flops()


def test_transposed_conv_does_16_36_of_the_arithmetic():
    t = upsampler_flops("transposed k4s2p1", 4, 8, 16, 8)
    for name in UPSAMPLERS[1:]:
        assert upsampler_flops(name, 4, 8, 16, 8) * 16 == t * 36


def test_lab_sizes_shrink_off_cuda():
    gpu, cpu = lab_sizes("cuda"), lab_sizes("cpu")
    assert set(gpu) == set(cpu)
    assert (gpu["batch"], gpu["channels"], gpu["size"], gpu["out_channels"]) == (32, 256, 64, 128)
    assert (gpu["train_batch"], gpu["train_size"], gpu["width"], gpu["fc_channels"]) == (32, 256, 64, 4096)
    assert all(cpu[k] <= gpu[k] for k in gpu)


def test_time_call_returns_the_median_of_its_runs(monkeypatch):
    clock = iter([0.0, 0.001, 1.0, 1.005, 2.0, 2.003])  # runs of 1, 5 and 3 ms
    monkeypatch.setattr("convlab.benchmarking.time.perf_counter", lambda: next(clock))
    calls = []
    assert time_call(lambda: calls.append(1), warmup=2, repeat=3) == pytest.approx(3.0)
    assert len(calls) == 5


def test_time_call_averages_over_number_calls(monkeypatch):
    clock = iter([0.0, 0.004, 1.0, 1.008])  # runs of 4 and 8 ms, each of 4 calls
    monkeypatch.setattr("convlab.benchmarking.time.perf_counter", lambda: next(clock))
    calls = []
    assert time_call(lambda: calls.append(1), warmup=0, repeat=2, number=4) == pytest.approx(1.5)
    assert len(calls) == 8


def test_benchmark_upsampling_rows_on_cpu():
    rows = benchmark_upsampling(1, 4, 6, 3, device="cpu", repeat=1)
    assert [(r["op"], r["precision"]) for r in rows] == [(o, p) for o in UPSAMPLERS for p in PRECISIONS]
    for r in rows:
        if r["precision"] == "tf32":
            assert r["ms"] is None and r["tflops"] is None and "CUDA" in r["note"]
        elif r["ms"] is not None:
            flops = upsampler_flops(r["op"], 1, 4, 6, 3)
            assert r["ms"] > 0 and r["tflops"] == pytest.approx(flops / (r["ms"] * 1e-3) / 1e12)


def test_training_throughput_counts_images_per_second(monkeypatch):
    clock = iter([10.0, 12.0])  # the timed steps take 2 s
    monkeypatch.setattr("convlab.benchmarking.time.perf_counter", lambda: next(clock))
    assert training_throughput(FCN(3, width=2, fc_channels=4), 4, 32, 3, steps=5, device="cpu") == 10.0


def test_training_throughput_trains_the_model():
    net = FCN(3, width=2, fc_channels=4)
    before = [p.detach().clone() for p in net.parameters()]
    training_throughput(net, 2, 32, 3, steps=1, device="cpu")
    assert net.training
    assert any(not torch.equal(a, p) for a, p in zip(before, net.parameters(), strict=True))


def test_profile_names_the_convolutions_on_cpu(capfd):
    rows = profile_training_step(FCN(3, width=4, fc_channels=8), 2, 32, 3, device="cpu", steps=2, top=5)
    assert len(rows) == 5
    assert [r["ms"] for r in rows] == sorted((r["ms"] for r in rows), reverse=True)
    assert 0 < sum(r["share"] for r in rows) <= 1 + 1e-9
    assert any("convolution" in r["name"] for r in rows)
    assert all(r["calls"] > 0 for r in rows)
    err = capfd.readouterr().err
    assert "USDT:" not in err and "STAGE:" not in err


def test_profile_passes_other_stderr_through(capfd, monkeypatch):
    import convlab.benchmarking as b

    calls = []

    def noisy_step(*args):
        def step():  # the first call is the warm-up step, outside the profiler
            calls.append(1)
            if len(calls) > 1:
                sys.stderr.flush()
                os.write(2, b"USDT: profiler_start\nreal problem\n")

        return torch.device("cpu"), step

    monkeypatch.setattr(b, "_training_step", noisy_step)
    profile_training_step(torch.nn.Identity(), 1, 1, 1, steps=1)
    err = capfd.readouterr().err
    assert "real problem" in err and "USDT" not in err


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: make_upsampler("cubic + conv3x3", 2, 2), ValueError, "name"),
        (lambda: make_upsampler("transposed k4s2p1", 0, 2), ValueError, "in_channels"),
        (lambda: make_upsampler("transposed k4s2p1", 2, 2, bias=1), TypeError, "bias"),
        (lambda: upsampler_flops("transposed k4s2p1", 1, 1, 0, 1), ValueError, "size"),
        (lambda: time_call(lambda: None, repeat=0), ValueError, "repeat"),
        (lambda: time_call(lambda: None, number=0), ValueError, "number"),
        (lambda: benchmark_upsampling(1, 2, 4, 2, precisions=["fp64"]), ValueError, "precisions"),
        (lambda: training_throughput("net", 1, 8, 2, device="cpu"), TypeError, "model"),
        (lambda: training_throughput(FCN(2, width=2), 1, 8, 2, device="cpu", amp=1), TypeError, "amp"),
        (lambda: training_throughput(FCN(2, width=2), 1, 8, 2, device="cpu", tf32="yes"), TypeError, "tf32"),
        (lambda: training_throughput(FCN(2, width=2), 0, 8, 2, device="cpu"), ValueError, "batch"),
        (lambda: profile_training_step(FCN(2, width=2), 1, 8, 2, device="cpu", top=0), ValueError, "top"),
        (lambda: profile_training_step(FCN(2, width=2), 1, 8, 0, device="cpu"), ValueError, "num_classes"),
    ],
)
def test_bad_arguments_are_named(call, error, match):
    with pytest.raises(error, match=match):
        call()
