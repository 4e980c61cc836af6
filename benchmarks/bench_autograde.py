"""Throughput of ``convlab-course autograde --jobs 2`` against plain serial ``nbgrader autograde``.

A synthetic class (default 20 students x every assignment of the course, eight today; each student
hands in the solutions, a blank notebook or a planted bug, in turn) is graded twice on the same
machine, in two copies of the course: once by ``nbgrader autograde <assignment>`` (one process,
one student after another) and once by ``convlab-course autograde <assignment> --jobs 2``.
Printed: notebooks per minute for each, the ratio, the median seconds per notebook, and where
convlab-course's time goes (kernel start, setup/import cells, solution cells, test cells, the rest
is nbgrader and the merge), from the ``grading.json`` records, with the isolation the kernels had
and the time its setup took per kernel (``--isolation``, default ``auto``). ``--compare-off``
grades the class a third time with ``--isolation off``: the whole cost of the isolation, setup and
use together.

    .venv/bin/python benchmarks/bench_autograde.py [--students 20] [--assignments ex01_conv1d ...]
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from convlab.course.layout import Course
from convlab.course.release import solution_code

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _class(course: Path, assignments: list[str], students: int) -> None:
    for a in assignments:
        release = nbformat.read(course / "release" / a / f"{a}.ipynb", as_version=4)
        solutions = solution_code(Course(course), a)
        for n in range(students):
            nb = copy.deepcopy(release)
            kind = n % 3  # 0 correct, 1 blank, 2 planted bug in the last function
            for cell in nb.cells:
                gid = cell.metadata.get("nbgrader", {}).get("grade_id")
                if gid in solutions and kind != 1:
                    cell.source = solutions[gid]
            if kind == 2:
                # the last solution cell that defines a function (answer cells hold numbers)
                last = [
                    c
                    for c in nb.cells
                    if c.metadata.get("nbgrader", {}).get("solution")
                    and any(line.startswith("def ") for line in c.source.splitlines())
                ][-1]
                name = next(
                    line[4:].split("(")[0] for line in last.source.splitlines() if line.startswith("def ")
                )
                last.source += f"\n\ndef {name}(*args, **kwargs):\n    raise ValueError('planted bug')"
            folder = course / "submitted" / f"s{n:02d}" / a
            folder.mkdir(parents=True)
            nbformat.write(nb, folder / f"{a}.ipynb")
            (folder / "timestamp.txt").write_text("2026-03-01 09:00:00+00:00\n")


def _copy_course(dest: Path, assignments: list[str]) -> Path:
    (dest / "source").mkdir(parents=True)
    shutil.copy(ROOT / "exercises" / "nbgrader_config.py", dest)
    for a in assignments:
        shutil.copytree(ROOT / "exercises" / "source" / a, dest / "source" / a)
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    subprocess.run(
        [BIN / "convlab-course", "--course-dir", dest, "release", "--no-validate", *assignments],
        check=True,
        env=env,
    )
    return dest


def _ours(course: Path, assignments: list[str], jobs: int, isolation: str, env: dict) -> float:
    """Seconds ``convlab-course autograde`` takes over ``assignments``, one after another."""
    start = time.perf_counter()
    for a in assignments:
        subprocess.run(
            [BIN / "convlab-course", "--course-dir", course, "autograde", a, "--jobs", str(jobs)]
            + ["--no-progress", "--isolation", isolation],
            env=env,
            check=True,
            capture_output=True,
        )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--assignments", nargs="*", default=None)
    parser.add_argument("--isolation", choices=("auto", "strict", "off"), default="auto")
    parser.add_argument("--compare-off", action="store_true", help="also grade with --isolation off")
    args = parser.parse_args()
    assignments = args.assignments or sorted(
        p.name for p in (ROOT / "exercises" / "source").iterdir() if p.is_dir()
    )
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", CONVLAB_GRADING_SEED="1")
    with tempfile.TemporaryDirectory() as tmp:
        plain = _copy_course(Path(tmp) / "plain", assignments)
        ours = _copy_course(Path(tmp) / "ours", assignments)
        _class(plain, assignments, args.students)
        _class(ours, assignments, args.students)
        count = args.students * len(assignments)

        start = time.perf_counter()
        for a in assignments:
            subprocess.run(
                [BIN / "nbgrader", "autograde", a, "--force"], cwd=plain, env=env, capture_output=True
            )
        serial = time.perf_counter() - start

        parallel = _ours(ours, assignments, args.jobs, args.isolation, env)
        if args.compare_off:
            off = _copy_course(Path(tmp) / "off", assignments)
            _class(off, assignments, args.students)
            unconfined = _ours(off, assignments, args.jobs, "off", env)

        records = [json.loads(p.read_text()) for p in ours.glob("autograded/*/*/grading.json")]
        per_nb = [r["elapsed_s"] for r in records]
        parts = {
            k: sum(r["timing"].get(k, 0.0) for r in records)
            for k in ("kernel_start", "setup", "solutions", "tests")
        }
        total = sum(per_nb)
        print(f"class: {args.students} students x {len(assignments)} assignments = {count} notebooks")
        print(
            f"nbgrader autograde (serial):        {serial:8.1f} s  {60 * count / serial:6.1f} notebooks/min"
        )
        rate = 60 * count / parallel
        print(f"convlab-course autograde --jobs {args.jobs}: {parallel:8.1f} s  {rate:6.1f} notebooks/min")
        print(f"throughput ratio (convlab-course / nbgrader): {serial / parallel:.2f}x")
        print(f"median seconds per notebook in a worker: {statistics.median(per_nb):.2f}")
        for name, seconds in parts.items():
            print(f"  {name:<13} {100 * seconds / total:5.1f} %")
        print(f"  {'nbgrader+io':<13} {100 * (total - sum(parts.values())) / total:5.1f} %")
        levels = sorted({r.get("isolation", "none") for r in records})
        setup = [r.get("isolation_detail", {}).get("setup_ms") for r in records]
        setup = [ms for ms in setup if ms is not None]
        print(f"isolation: {', '.join(levels)}", end="")
        if setup:
            print(f"; setup per kernel: median {statistics.median(setup):.1f} ms, max {max(setup):.1f} ms")
        else:
            print()
        if args.compare_off:
            cost = (parallel - unconfined) / count
            rate_off = 60 * count / unconfined
            print(f"convlab-course --isolation off: {unconfined:8.1f} s  {rate_off:6.1f} notebooks/min")
            print(f"isolation cost, whole run: {cost:+.2f} s per notebook ({parallel / unconfined - 1:+.1%})")


if __name__ == "__main__":
    main()
