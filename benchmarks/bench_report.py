"""How long ``convlab-course report`` takes on a graded class, and whether it counts what was planted.

Builds a class of ``--students`` students (default 40) for every assignment of the course in a
temporary copy of ``exercises/``: in ``ex01_conv1d`` the students carry known misconceptions (a
convolution that forgets to flip the kernel, MATLAB's ``same`` window for even kernels, a stub
left in place, a function that raises), in the other assignments they are correct or blank. It
grades the class with ``convlab-course autograde`` (the slow part, reported separately), then times
``report --all`` and checks that the ex01 counts equal the planted ones.

    .venv/bin/python benchmarks/bench_report.py [--students 40] [--jobs 2]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from test_course_report import CLASS, CORRECT, CORRELATE, LATE_SAME, RAISES, UNFLIPPED, _diagnoses_here  # noqa: E402

from convlab.course.autograde import GradingLimits, autograde  # noqa: E402
from convlab.course.layout import Course  # noqa: E402
from convlab.course.release import release, solution_code  # noqa: E402
from convlab.course.report import NOT_ATTEMPTED, write_report  # noqa: E402

KINDS = [
    (CORRECT, CORRELATE),
    (UNFLIPPED, CORRELATE),
    (LATE_SAME, CORRELATE),
    (None, None),
    (CORRECT, RAISES),
]


def _hand_in(course: Course, assignment: str, student: str, codes: dict[str, str]) -> None:
    nb = nbformat.read(course.release(assignment), as_version=4)
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in codes:
            cell.source = codes[gid]
    folder = course.submitted(student, assignment)
    folder.mkdir(parents=True)
    nbformat.write(nb, folder / f"{assignment}.ipynb")
    (folder / "timestamp.txt").write_text("2026-03-01 09:00:00+00:00\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=40)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    assert CLASS  # the planted kinds come from the test of the report
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch) / "course"
        shutil.copytree(ROOT / "exercises" / "source", root / "source")
        shutil.copy(ROOT / "exercises" / "nbgrader_config.py", root / "nbgrader_config.py")
        course = Course(root)
        assignments = course.assignments()
        assert all(not r.problems for r in release(course, assignments, validate=False))
        planted: dict[str, set[str]] = {}
        for k in range(args.students):
            student = f"student{k:02d}"
            for assignment in assignments:
                if assignment == "ex01_conv1d":
                    convolve, correlate = KINDS[k % len(KINDS)]
                    codes = {g: c for g, c in (("convolve1d", convolve), ("correlate1d", correlate)) if c}
                    planted.setdefault(str(k % len(KINDS)), set()).add(student)
                else:
                    codes = solution_code(course, assignment) if k % 2 == 0 else {}
                _hand_in(course, assignment, student, codes)
        os.environ["CONVLAB_GRADING_SEED"] = "2026"
        start = time.perf_counter()
        for assignment in assignments:
            autograde(course, assignment, jobs=args.jobs, limits=GradingLimits(300, 2048), progress=False)
        graded = time.perf_counter() - start
        start = time.perf_counter()
        reports = {a: write_report(course, a) for a in assignments}
        reported = time.perf_counter() - start
        rows = {d: set(s) for d, s, _ in reports["ex01_conv1d"].misconceptions("convolve1d")}
        checks = {
            "no flip": rows.get(_diagnoses_here(UNFLIPPED, "convolve1d")[0]) == planted["1"],
            "MATLAB same": rows.get(_diagnoses_here(LATE_SAME, "convolve1d")[0]) == planted["2"],
            "not attempted": rows.get(NOT_ATTEMPTED) == planted["3"],
        }
        n = args.students * len(assignments)
        print(f"class: {args.students} students x {len(assignments)} assignments = {n} notebooks")
        print(f"grading: {graded:.1f} s ({args.jobs} workers)")
        print(f"report --all: {reported:.2f} s ({1000 * reported / n:.1f} ms per notebook)")
        for name, ok in checks.items():
            print(f"planted '{name}' counted exactly: {ok}")
        sys.exit(0 if all(checks.values()) else 1)


if __name__ == "__main__":
    main()
