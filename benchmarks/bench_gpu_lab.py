"""The GPU lab's measurements as a script: upsampling operators and FCN-8s training throughput.

Run from the repository root on a machine with a CUDA GPU (on a CPU it runs at the lab's reduced
sizes, which only checks that it works)::

    .venv/bin/python benchmarks/bench_gpu_lab.py

It prints, next to each measurement, its ratio to a baseline and the reference ratio measured on an
NVIDIA H100 with torch 2.11 (transposed conv k4s2p1 without bias at (32, 256, 64, 64) -> 128
channels: 590 TFLOP/s in bf16). The training rates are printed beside two older H100 figures, 1036
images/s TF32 and 1815 images/s bf16 AMP + channels-last, which were measured on a smaller
VGG-16-style FCN-8s (``fc6``/``fc7`` of 1024 channels instead of the lab's 4096; batch 32,
256 x 256, 21 classes): they are not the same work, and not comparable. See
``chapters/gpu_lab.ipynb``.
"""

from __future__ import annotations

import torch

import convlab
from convlab.benchmarking import benchmark_upsampling, lab_sizes, profile_training_step, training_throughput
from convlab.fcn import FCN

H100_TCONV_BF16_TFLOPS = 590.0
# Measured on a smaller model (1024-channel fc6/fc7): printed for the record, not comparable.
H100_TRAIN_TF32, H100_TRAIN_AMP_CL = 1036.0, 1815.0


def main() -> None:
    device = convlab.device()
    sizes = lab_sizes(device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"{device.type} (reduced sizes)"
    print(f"device: {name}; torch {torch.__version__}; sizes {sizes}")

    rows = benchmark_upsampling(
        sizes["batch"], sizes["channels"], sizes["size"], sizes["out_channels"], device=device
    )
    print(f"\n{'operator':20} {'precision':9} {'ms':>9} {'TFLOP/s':>9} {'vs fp32':>8}")
    fp32 = {r["op"]: r["ms"] for r in rows if r["precision"] == "fp32"}
    for r in rows:
        if r["ms"] is None:
            print(f"{r['op']:20} {r['precision']:9} {'-':>9} {'-':>9}  {r['note']}")
            continue
        speedup = fp32[r["op"]] / r["ms"]
        print(f"{r['op']:20} {r['precision']:9} {r['ms']:9.3f} {r['tflops']:9.2f} {speedup:7.2f}x")
    tconv = next(r for r in rows if r["op"] == "transposed k4s2p1" and r["precision"] == "bf16")
    if tconv["tflops"] is not None and device.type == "cuda":
        print(f"transposed conv bf16: {tconv['tflops'] / H100_TCONV_BF16_TFLOPS:.2f} x the H100 reference")

    def vgg_fcn8s() -> FCN:
        torch.manual_seed(0)
        return FCN.vgg16(21, "8s", width=sizes["width"], fc_channels=sizes["fc_channels"])

    rates = {}
    for label, amp, cl, fc6_route in [
        ("fp32/TF32", False, False, None),
        ("TF32 + channels-last", False, True, None),
        ("AMP", True, False, None),
        ("AMP + channels-last", True, True, None),
        ("AMP + CL, fc6 as conv", True, True, False),
    ]:
        model = vgg_fcn8s()
        model.fc[0].matmul = fc6_route  # None: unfold + matmul for 16-bit work on CUDA (MatmulConv2d)
        rates[label] = training_throughput(
            model, sizes["train_batch"], sizes["train_size"], 21, steps=sizes["steps"], device=device,
            amp=amp, channels_last=cl,
        )  # fmt: skip
    print(f"\n{'training':22} {'images/s':>9} {'vs fp32':>8}   H100, smaller model (fc 1024)")
    refs = {"fp32/TF32": H100_TRAIN_TF32, "AMP + channels-last": H100_TRAIN_AMP_CL}
    for label, rate in rates.items():
        ref = f"{refs[label]:.0f} images/s" if label in refs else ""
        print(f"{label:22} {rate:9.1f} {rate / rates['fp32/TF32']:7.2f}x   {ref}")
    print(f"(smaller model's AMP + channels-last speed-up: {H100_TRAIN_AMP_CL / H100_TRAIN_TF32:.2f}x)")

    print("\nwhere the time of an AMP + channels-last step goes:")
    batch, size = sizes["train_batch"], sizes["train_size"]
    for r in profile_training_step(vgg_fcn8s(), batch, size, 21, device=device, amp=True, channels_last=True):
        print(f"{r['share']:6.1%} {r['ms']:8.2f} ms/step {r['calls']:5.0f} calls  {r['name'][:100]}")


if __name__ == "__main__":
    main()
