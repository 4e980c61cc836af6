"""Chapter 8's training epoch at 1 and 2 torch threads, on an idle CPU and with one core kept busy.

    python scripts/fcn_threads.py --rounds 2

On a small CPU shared with other work, torch's default (one thread per core) can stall: its
threads wait for each other at every operation, and one thread that loses its core to another
process holds up the rest. This script measures it the way the chapter trains: the shipped
classifier convolutionalized into FCN-8s, one epoch of :func:`convlab.training.train` on 128 x 128
shapes, with ``num_threads`` 1 and 2 alternating, first on the otherwise idle machine, then with a
second process spinning on one core (``python -c "while True: pass"``), and again, ``--rounds``
times. Timings on a shared machine are noisy: compare the rows of one run, not across runs.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

import torch

from convlab.data import ignore_boundaries, make_shapes
from convlab.fcn import FCN
from convlab.pretrained import load_classifier
from convlab.training import train


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=2, help="idle + busy rounds")
    parser.add_argument("--images", type=int, default=96, help="training images per epoch")
    parser.add_argument("--size", type=int, default=128)
    args = parser.parse_args()
    images, masks = make_shapes(args.images, size=args.size, seed=1)
    data = (images, ignore_boundaries(masks, 1))
    net = FCN.from_classifier(load_classifier(), "8s")
    train(net, data, epochs=1, batch_size=8, progress=False, num_threads=1)  # warm-up
    seconds: dict[tuple[str, int], list[float]] = {}
    for _ in range(args.rounds):
        for load in ("idle", "one core busy"):
            hog = None
            if load != "idle":
                hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
                time.sleep(0.5)
            try:
                for threads in (1, 2, 1, 2):
                    h = train(net, data, epochs=1, batch_size=8, progress=False, num_threads=threads)
                    seconds.setdefault((load, threads), []).append(h.seconds[0])
            finally:
                if hog is not None:
                    hog.kill()
                    hog.wait()
    print(f"torch {torch.__version__}, {args.images} images of {args.size} x {args.size} per epoch")
    for load in ("idle", "one core busy"):
        one, two = (statistics.median(seconds[(load, n)]) for n in (1, 2))
        runs = {n: ", ".join(f"{s:.2f}" for s in seconds[(load, n)]) for n in (1, 2)}
        print(f"{load:14} 1 thread: median {one:.2f} s ({runs[1]})")
        print(f"{load:14} 2 threads: median {two:.2f} s ({runs[2]})  -> 2 threads / 1 thread {two / one:.2f}")


if __name__ == "__main__":
    main()
