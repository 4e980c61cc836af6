"""Chapter 8's experiment over several seeds: the numbers behind the chapter's assertion margins.

    python scripts/fcn_seeds.py --seeds 0 1 2 3 4 > fcn_seeds.txt

Each seed redraws the data and the new layers' initial weights and reshuffles the batches; the
pretrained classifier is the shipped one. Prints one line per seed (JSON), then, for every variant,
the mean and sample standard deviation of each metric the chapter reports and ``mean - 3 sd`` (the
floor an assertion may use), then the checks the chapter makes on every seed: the ranking
32s < 16s < 8s, each network against the block-share reference of every stride, and the gaps
between the FCN-8s variants.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
from torch.nn import functional as F

from convlab.data import CLASS_NAMES, ignore_boundaries, make_shapes
from convlab.fcn import FCN
from convlab.metrics import mean_iou
from convlab.pretrained import load_classifier
from convlab.training import evaluate, train

K = len(CLASS_NAMES)
#: The chapter's CPU settings (chapters/fcn.ipynb, the cells "The data" and "Staged training").
CONFIG = dict(
    size=128, n_train=400, n_val=100, epochs32=4, epochs_stage=2, batch=4, lr=3e-3, band=1, threads=1
)
METRICS = ("pixel_accuracy", "mean_accuracy", "mean_iou", "frequency_weighted_iou")
VARIANT_NAMES = ("32s", "16s", "8s", "8s learned", "8s at once")


def data(seed: int, cfg=CONFIG):
    images, masks = make_shapes(cfg["n_train"], size=cfg["size"], seed=10 * seed + 1)
    val_images, val_masks = make_shapes(cfg["n_val"], size=cfg["size"], seed=10 * seed + 2)
    band = cfg["band"]
    return (images, ignore_boundaries(masks, band)), (val_images, ignore_boundaries(val_masks, band))


def block_share(val_masks: np.ndarray, stride: int) -> float:
    truth = torch.from_numpy(val_masks)
    valid = truth.clone()
    valid[valid == 255] = 0
    onehot = F.one_hot(valid, K).permute(0, 3, 1, 2).float()
    onehot = onehot * (truth != 255)[:, None]
    coarse = F.avg_pool2d(onehot, stride)
    best = F.interpolate(coarse, scale_factor=stride, mode="bilinear", align_corners=False).argmax(1)
    return mean_iou(best, val_masks, K, ignore_index=255)


def recipe(seed: int, cfg=CONFIG, progress=False):
    train_set, val_set = data(seed, cfg)
    clf = load_classifier()
    run = dict(
        batch_size=cfg["batch"], lr=cfg["lr"], seed=seed, progress=progress, num_threads=cfg["threads"]
    )
    out, times = {}, {}
    t = time.perf_counter()
    torch.manual_seed(seed)
    nets = {"32s": FCN.from_classifier(clf, "32s")}
    h = {"32s": train(nets["32s"], train_set, val_set, epochs=cfg["epochs32"], **run)}
    for prev, v in (("32s", "16s"), ("16s", "8s")):
        torch.manual_seed(seed)
        nets[v] = FCN.from_fcn(nets[prev], v)
        h[v] = train(nets[v], train_set, val_set, epochs=cfg["epochs_stage"], **run)
    times["staged"] = time.perf_counter() - t
    torch.manual_seed(seed)
    nets["8s learned"] = FCN.from_fcn(nets["16s"], "8s", learnable_upsampling=True)
    h["8s learned"] = train(nets["8s learned"], train_set, val_set, epochs=cfg["epochs_stage"], **run)
    t = time.perf_counter()
    torch.manual_seed(seed)
    nets["8s at once"] = FCN.from_classifier(clf, "8s")
    total = cfg["epochs32"] + 2 * cfg["epochs_stage"]
    h["8s at once"] = train(nets["8s at once"], train_set, val_set, epochs=total, **run)
    times["at once"] = time.perf_counter() - t
    for name, net in nets.items():
        s = evaluate(net, val_set, K, num_threads=cfg["threads"])
        out[name] = {k: v for k, v in s.items() if k not in ("confusion", "per_class_iou")}
        out[name]["curve"] = h[name].val_miou
    for stride in (32, 16, 8):
        out[f"block{stride}"] = block_share(val_set[1], stride)
    out["times"] = times
    return out


def _sd(v: np.ndarray) -> float:
    return float(v.std(ddof=1)) if len(v) > 1 else 0.0


def summary(rows: list[dict]) -> list[str]:
    """The table (mean +- sd and mean - 3 sd per variant and metric) and the per-seed checks."""
    lines = [f"{'variant':11} {'metric':23} {'mean':>7} {'sd':>7} {'mean-3sd':>9}  per seed"]
    for name in VARIANT_NAMES:
        for metric in METRICS:
            v = np.array([r[name][metric] for r in rows])
            per = " ".join(f"{x:.3f}" for x in v)
            lines.append(
                f"{name:11} {metric:23} {v.mean():7.4f} {_sd(v):7.4f} {v.mean() - 3 * _sd(v):9.4f}  {per}"
            )
    for stride in (32, 16, 8):
        v = np.array([r[f"block{stride}"] for r in rows])
        lines.append(f"{'block' + str(stride):11} {'mean_iou':23} {v.mean():7.4f} {_sd(v):7.4f}")
    miou = [{n: r[n]["mean_iou"] for n in VARIANT_NAMES} for r in rows]
    ranked = [m["32s"] < m["16s"] < m["8s"] for m in miou]
    lines.append(f"ranking 32s < 16s < 8s on every seed: {all(ranked)} {ranked}")
    for name in ("32s", "16s", "8s"):
        for stride in (32, 16, 8):
            above = [m[name] > r[f"block{stride}"] for m, r in zip(miou, rows, strict=True)]
            lines.append(
                f"FCN-{name} above the stride-{stride} reference on every seed: {all(above)} {above}"
            )
    for a, b in (("8s", "32s"), ("8s at once", "8s"), ("8s learned", "8s")):
        d = np.array([m[a] - m[b] for m in miou])
        lines.append(
            f"mean IU {a} - {b}: mean {d.mean():+.4f} sd {_sd(d):.4f}, "
            f"min {d.min():+.4f} max {d.max():+.4f}, |max| {np.abs(d).max():.4f}"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--config", type=json.loads, default={}, help="JSON overrides of CONFIG")
    args = parser.parse_args()
    cfg = {**CONFIG, **args.config}
    print(json.dumps({"config": cfg}), flush=True)
    rows = []
    for seed in args.seeds:
        start = time.perf_counter()
        r = recipe(seed, cfg)
        rows.append(r)
        print(json.dumps({"seed": seed, "seconds": round(time.perf_counter() - start, 1), **r}), flush=True)
    print("\n".join(summary(rows)))


if __name__ == "__main__":
    main()
