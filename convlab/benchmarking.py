"""Timing upsampling operators and segmentation training on a GPU, or on a CPU at reduced size (chapter 9).

Everything here runs on any device: :func:`lab_sizes` picks the paper-sized settings on a CUDA GPU
and tiny ones elsewhere, so the GPU lab executes top to bottom on a laptop too. FLOPs are counted
analytically (two per multiply-accumulate) rather than measured, so the achieved TFLOP/s of two
operators that compute different amounts of arithmetic can be compared honestly.

See the chapter :doc:`/chapters/gpu_lab`.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator, Sequence

import torch
from torch import nn
from torch.nn import functional as F

from convlab._validate import check_choice, check_positive

__all__ = [
    "UPSAMPLERS",
    "PRECISIONS",
    "lab_sizes",
    "make_upsampler",
    "upsampler_flops",
    "time_call",
    "benchmark_upsampling",
    "training_throughput",
    "profile_training_step",
]

#: The four ways of doubling a feature map's size compared in the lab.
UPSAMPLERS: tuple[str, ...] = (
    "transposed k4s2p1",
    "nearest + conv3x3",
    "bilinear + conv3x3",
    "conv3x3 + shuffle",
)
#: The numeric formats compared (plain float32; float32 on TF32 Tensor Cores; bfloat16 weights and inputs).
PRECISIONS: tuple[str, ...] = ("fp32", "tf32", "bf16")


def lab_sizes(device: torch.device | str) -> dict[str, int]:
    """Problem sizes of the GPU lab: full size on CUDA, tiny on CPU/MPS so every cell stays quick.

    Returns
    -------
    dict
        ``batch, channels, size, out_channels`` for the operator benchmark and
        ``train_batch, train_size, width, fc_channels, steps`` for the FCN-8s training benchmark.

    Examples
    --------
    >>> lab_sizes("cpu")["train_size"]
    64
    """
    if torch.device(device).type == "cuda":
        return dict(
            batch=32, channels=256, size=64, out_channels=128,
            train_batch=32, train_size=256, width=64, fc_channels=4096, steps=20,
        )  # fmt: skip
    return dict(
        batch=4, channels=32, size=32, out_channels=16,
        train_batch=4, train_size=64, width=8, fc_channels=64, steps=3,
    )  # fmt: skip


def make_upsampler(name: str, in_channels: int, out_channels: int, *, bias: bool = True) -> nn.Module:
    """One of :data:`UPSAMPLERS`: a module mapping ``(N, C, H, W)`` to ``(N, O, 2H, 2W)``.

    Parameters
    ----------
    name : str
        ``"transposed k4s2p1"`` -- ``ConvTranspose2d(C, O, 4, stride=2, padding=1)``;
        ``"nearest + conv3x3"`` / ``"bilinear + conv3x3"`` -- resize by 2, then
        ``Conv2d(C, O, 3, padding=1)``;
        ``"conv3x3 + shuffle"`` -- ``Conv2d(C, 4 O, 3, padding=1)`` then ``PixelShuffle(2)``.
    in_channels, out_channels : int
    bias : bool, default True
        Whether the convolution has a bias.

    Returns
    -------
    torch.nn.Module

    See Also
    --------
    torch.nn.ConvTranspose2d, torch.nn.Upsample, torch.nn.PixelShuffle

    Notes
    -----
    All four give :math:`(N, O, 2H, 2W)`; the transposed convolution's size is
    :math:`(H - 1) \\cdot 2 - 2 \\cdot 1 + 4 = 2H`.

    Examples
    --------
    >>> up = make_upsampler("conv3x3 + shuffle", 4, 3)
    >>> tuple(up(torch.zeros(1, 4, 5, 6)).shape)
    (1, 3, 10, 12)
    >>> make_upsampler("transposed k4s2p1", 4, 3, bias=False).bias is None
    True
    """
    check_choice(name, "name", UPSAMPLERS)
    c = check_positive(in_channels, "in_channels")
    o = check_positive(out_channels, "out_channels")
    if not isinstance(bias, bool):
        raise TypeError(f"`bias` must be a bool; got bias={bias!r}")
    if name == "transposed k4s2p1":
        return nn.ConvTranspose2d(c, o, 4, stride=2, padding=1, bias=bias)
    if name == "conv3x3 + shuffle":
        return nn.Sequential(nn.Conv2d(c, 4 * o, 3, padding=1, bias=bias), nn.PixelShuffle(2))
    mode = name.split()[0]
    return nn.Sequential(nn.Upsample(scale_factor=2, mode=mode), nn.Conv2d(c, o, 3, padding=1, bias=bias))


def upsampler_flops(name: str, batch: int, in_channels: int, size: int, out_channels: int) -> int:
    """Floating-point operations of one forward pass of :func:`make_upsampler` on ``(N, C, S, S)``.

    Two FLOPs per multiply-accumulate; the resize and the shuffle (memory moves) and the bias are
    not counted.

    Notes
    -----
    With :math:`P = N S^2` input pixels: transposed convolution :math:`2 \\cdot P \\cdot C O \\cdot 16` (each
    input pixel stamps a :math:`4 \\times 4` kernel); resize + conv :math:`2 \\cdot 4P \\cdot C O \\cdot 9`;
    conv + shuffle :math:`2 \\cdot P \\cdot C \\cdot 4 O \\cdot 9`. The last two do :math:`36/16 = 2.25` times
    the arithmetic of the first.

    Examples
    --------
    >>> upsampler_flops("transposed k4s2p1", 1, 1, 1, 1)
    32
    >>> upsampler_flops("nearest + conv3x3", 1, 1, 1, 1)
    72
    """
    check_choice(name, "name", UPSAMPLERS)
    pixels = check_positive(batch, "batch") * check_positive(size, "size") ** 2
    cin, cout = check_positive(in_channels, "in_channels"), check_positive(out_channels, "out_channels")
    macs_per_pixel = 16 if name == "transposed k4s2p1" else 36
    return 2 * pixels * cin * cout * macs_per_pixel


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_call(
    fn: Callable[[], object],
    device: torch.device | str = "cpu",
    *,
    warmup: int = 2,
    repeat: int = 5,
    number: int = 1,
) -> float:
    """Median wall-clock milliseconds of ``fn()`` over ``repeat`` runs, after ``warmup`` calls.

    Each run calls ``fn`` ``number`` times back to back and counts the mean. The device is
    synchronised before the clock starts and after the last call, so asynchronous CUDA kernels are
    timed in full.

    Parameters
    ----------
    fn : callable
    device : torch.device or str, default "cpu"
    warmup, repeat : int
    number : int, default 1
        Calls per run. For GPU kernels shorter than a millisecond use 10 or more: one call per run
        would add the launch and synchronisation latency (tens of microseconds) to every figure.

    Examples
    --------
    >>> time_call(lambda: sum(range(10)), warmup=0, repeat=1) >= 0
    True
    """
    device = torch.device(device)
    repeat, number = check_positive(repeat, "repeat"), check_positive(number, "number")
    for _ in range(check_positive(warmup, "warmup") if warmup else 0):
        fn()
    times = []
    for _ in range(repeat):
        _synchronize(device)
        start = time.perf_counter()
        for _ in range(number):
            fn()
        _synchronize(device)
        times.append((time.perf_counter() - start) * 1e3 / number)
    return statistics.median(times)


@contextlib.contextmanager
def _tf32(enabled: bool) -> Iterator[None]:
    old = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = enabled
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = old


@contextlib.contextmanager
def _without_profiler_chatter() -> Iterator[None]:
    """Drop the progress lines some builds of the profiler's C++ backend write straight to file
    descriptor 2 ("STAGE: ...", "USDT: ... profiler_start"); pass every other line on to stderr."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            for line in capture.read().decode(errors="replace").splitlines(keepends=True):
                if not line.startswith(("STAGE:", "USDT:")):
                    sys.stderr.write(line)


def _bf16_supported(device: torch.device) -> bool:
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    try:  # the CPU kernels exist on every recent build; check that a convolution runs
        F.conv2d(torch.zeros(1, 1, 3, 3, dtype=torch.bfloat16), torch.zeros(1, 1, 1, 1, dtype=torch.bfloat16))
        return True
    except RuntimeError:
        return False


def benchmark_upsampling(
    batch: int,
    channels: int,
    size: int,
    out_channels: int,
    *,
    device: torch.device | str | None = None,
    precisions: Sequence[str] = PRECISIONS,
    repeat: int = 5,
) -> list[dict[str, object]]:
    """Time every operator of :data:`UPSAMPLERS` in every precision on ``(N, C, S, S)`` inputs.

    Parameters
    ----------
    batch, channels, size, out_channels : int
        ``N, C, S, O``.
    device : torch.device or str, optional
        Default :func:`convlab.device`.
    precisions : sequence of str
        From :data:`PRECISIONS`. ``"tf32"`` is skipped off CUDA and ``"bf16"`` where unsupported
        (the row then has ``ms = None`` and a ``note``).
    repeat : int, default 5

    Returns
    -------
    list of dict
        One row per (operator, precision): ``op, precision, ms, tflops, note``; ``tflops`` is
        achieved TFLOP/s from :func:`upsampler_flops`, forward pass only, channels-last layout.

    Notes
    -----
    On CUDA each timed run is 10 back-to-back calls, so launch latency does not count. The modules
    have no bias, so each row times the operator alone. PyTorch adds a convolution's
    bias in a separate pass over the output; on an NVIDIA H100 (torch 2.11, bfloat16) that pass
    took as long as the transposed convolution itself: 0.43 ms with the bias, 0.23 ms without.

    Examples
    --------
    >>> rows = benchmark_upsampling(1, 2, 4, 2, device="cpu", precisions=["fp32", "tf32"], repeat=1)
    >>> len(rows), rows[1]["ms"], rows[1]["note"]
    (8, None, 'TF32 needs a CUDA GPU')
    """
    import convlab

    device = convlab.device() if device is None else torch.device(device)
    for p in precisions:
        check_choice(p, "precisions", PRECISIONS)
    rows = []
    for name in UPSAMPLERS:
        module = make_upsampler(name, channels, out_channels, bias=False)
        module = module.to(device, memory_format=torch.channels_last)
        flops = upsampler_flops(name, batch, channels, size, out_channels)
        for precision in precisions:
            row = {"op": name, "precision": precision, "ms": None, "tflops": None, "note": ""}
            rows.append(row)
            if precision == "tf32" and device.type != "cuda":
                row["note"] = "TF32 needs a CUDA GPU"
                continue
            if precision == "bf16" and not _bf16_supported(device):
                row["note"] = "bfloat16 not supported here"
                continue
            dtype = torch.bfloat16 if precision == "bf16" else torch.float32
            net = module.to(dtype)
            x = torch.randn(batch, channels, size, size, device=device, dtype=dtype)
            x = x.contiguous(memory_format=torch.channels_last)
            with torch.no_grad(), _tf32(precision == "tf32"):
                number = 10 if device.type == "cuda" else 1
                ms = time_call(lambda net=net, x=x: net(x), device, repeat=repeat, number=number)
            row["ms"] = ms
            row["tflops"] = flops / (ms * 1e-3) / 1e12
    return rows


def training_throughput(
    model: nn.Module,
    batch: int,
    size: int,
    num_classes: int,
    *,
    steps: int = 10,
    device: torch.device | str | None = None,
    amp: bool = False,
    channels_last: bool = False,
    tf32: bool = True,
) -> float:
    """Images per second of full training steps (forward, backward, SGD update) on random data.

    Parameters
    ----------
    model : torch.nn.Module
        A segmentation network ``(N, 3, S, S) -> (N, K, S, S)``; moved to ``device``.
    batch, size, num_classes : int
    steps : int, default 10
        Timed steps, after two warm-up steps.
    device : optional
        Default :func:`convlab.device`.
    amp, channels_last : bool
        Mixed precision (:func:`convlab.training.autocast_dtype`) and NHWC memory format.
    tf32 : bool, default True
        Allow TF32 for the float32 work on CUDA (ignored elsewhere).

    Returns
    -------
    float
        ``batch * steps / seconds``.

    Examples
    --------
    >>> from convlab.fcn import FCN
    >>> training_throughput(FCN(3, width=2, fc_channels=4), 2, 32, 3, steps=1, device="cpu") > 0
    True
    """
    steps = check_positive(steps, "steps")
    if not isinstance(tf32, bool):
        raise TypeError(f"`tf32` must be a bool; got tf32={tf32!r}")
    device, step = _training_step(model, batch, size, num_classes, device, amp, channels_last)
    with _tf32(tf32 and device.type == "cuda"):
        step()
        step()
        _synchronize(device)
        start = time.perf_counter()
        for _ in range(steps):
            step()
        _synchronize(device)
    return batch * steps / (time.perf_counter() - start)


def _training_step(
    model: nn.Module,
    batch: int,
    size: int,
    num_classes: int,
    device: torch.device | str | None,
    amp: bool,
    channels_last: bool,
) -> tuple[torch.device, Callable[[], None]]:
    """Move ``model`` to ``device`` and return one SGD training step on a fixed random batch."""
    import convlab
    from convlab.training import autocast_dtype

    if not isinstance(model, nn.Module):
        raise TypeError(f"`model` must be a torch.nn.Module; got {type(model).__name__}")
    device = convlab.device() if device is None else torch.device(device)
    batch, size = check_positive(batch, "batch"), check_positive(size, "size")
    num_classes = check_positive(num_classes, "num_classes")
    for name, flag in (("amp", amp), ("channels_last", channels_last)):
        if not isinstance(flag, bool):
            raise TypeError(f"`{name}` must be a bool; got {name}={flag!r}")
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model.to(device, memory_format=fmt).train()
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-4, momentum=0.9)
    dtype = autocast_dtype(device)
    scaler = torch.amp.GradScaler(device.type, enabled=amp and dtype == torch.float16)
    x = torch.randn(batch, 3, size, size, device=device).contiguous(memory_format=fmt)
    t = torch.randint(0, num_classes, (batch, size, size), device=device)

    def step() -> None:
        with torch.autocast(device.type, dtype=dtype, enabled=amp):
            loss = F.cross_entropy(model(x), t)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()

    return device, step


def profile_training_step(
    model: nn.Module,
    batch: int,
    size: int,
    num_classes: int,
    *,
    device: torch.device | str | None = None,
    amp: bool = False,
    channels_last: bool = False,
    steps: int = 2,
    top: int = 8,
) -> list[dict[str, object]]:
    """Where the time of a training step goes: the ``top`` entries of :mod:`torch.profiler`.

    Runs one warm-up step and then ``steps`` profiled steps of the same training step as
    :func:`training_throughput` (TF32 allowed on CUDA).

    Parameters
    ----------
    model, batch, size, num_classes, device, amp, channels_last
        As for :func:`training_throughput`.
    steps : int, default 2
    top : int, default 8
        Number of rows returned.

    Returns
    -------
    list of dict
        ``name, calls, ms, share``, slowest first: on a GPU the CUDA kernels by their own device
        time; on a CPU the PyTorch operators by their own CPU time. ``calls`` and ``ms`` are per
        step; ``share`` is the fraction of all the profiled time of that kind.

    Examples
    --------
    >>> from convlab.fcn import FCN
    >>> rows = profile_training_step(FCN(3, width=2, fc_channels=4), 2, 32, 3, device="cpu", steps=1, top=3)
    >>> len(rows), sorted(rows[0])
    (3, ['calls', 'ms', 'name', 'share'])
    """
    from torch.profiler import ProfilerActivity, profile

    steps, top = check_positive(steps, "steps"), check_positive(top, "top")
    device, step = _training_step(model, batch, size, num_classes, device, amp, channels_last)
    on_gpu = device.type == "cuda"
    activity = ProfilerActivity.CUDA if on_gpu else ProfilerActivity.CPU
    with _tf32(on_gpu):
        step()
        _synchronize(device)
        with _without_profiler_chatter(), warnings.catch_warnings():
            # torch 2.11 warns on every CUDA profile that events are cleared between cycles
            warnings.filterwarnings("ignore", message="Warning: Profiler clears events")
            with profile(activities=[activity]) as prof:
                for _ in range(steps):
                    step()
                _synchronize(device)

    def own_us(event) -> float:
        if not on_gpu:
            return event.self_cpu_time_total
        # named self_cuda_time_total before torch 2.4
        return getattr(event, "self_device_time_total", None) or getattr(event, "self_cuda_time_total", 0.0)

    events = [e for e in prof.key_averages() if own_us(e) > 0]
    total = sum(own_us(e) for e in events) or 1.0
    events.sort(key=own_us, reverse=True)
    return [
        {"name": e.key, "calls": e.count / steps, "ms": own_us(e) / steps / 1e3, "share": own_us(e) / total}
        for e in events[:top]
    ]
