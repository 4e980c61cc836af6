"""``convlab-course``: release, collect, autograde, feedback and export for an nbgrader course.

Each subcommand is a thin layer over one function of this package; ``--course-dir`` (default
``./exercises``) names the nbgrader course directory. Exit status 0 means the step completed;
problems with individual submissions are recorded, not fatal (see ``export``).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="convlab-course", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--course-dir", default="exercises", help="nbgrader course directory (default: exercises)"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("release", help="generate release/ and check that solutions pass and stubs fail")
    p.add_argument("assignments", nargs="*", metavar="ASSIGNMENT", help="default: all")
    p.add_argument("--no-validate", action="store_true", help="skip executing source and release notebooks")

    p = sub.add_parser("collect", help="place LMS/Colab downloads (folder or zip) into submitted/")
    p.add_argument("assignment", metavar="ASSIGNMENT")
    p.add_argument("path", metavar="PATH")

    p = sub.add_parser("autograde", help="grade every submission in parallel, with limits")
    p.add_argument("assignment", metavar="ASSIGNMENT")
    p.add_argument("--student", action="append", help="grade only this student (repeatable)")
    p.add_argument(
        "--jobs", type=int, default=os.cpu_count() or 1, help="parallel workers (default: CPU count)"
    )
    p.add_argument(
        "--timeout", type=float, default=300.0, help="wall time per notebook, seconds (default 300)"
    )
    p.add_argument(
        "--memory", type=int, default=2048, help="memory per kernel, MiB; 0 for none (default 2048)"
    )
    p.add_argument(
        "--fresh-kernels",
        action="store_true",
        help="start each kernel as a new process instead of forking a preloaded one (slower)",
    )
    p.add_argument(
        "--isolation",
        choices=("auto", "strict", "off"),
        default="auto",
        help="confine each kernel to its own folders, without network: auto (the best this machine "
        "offers; a warning when none), strict (refuse to grade without it), off",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")

    p = sub.add_parser("feedback", help="per-student HTML feedback without hidden tests")
    p.add_argument("assignment", metavar="ASSIGNMENT")

    p = sub.add_parser("export", help="CSV: student, assignment, score, max_score, status, reason")
    p.add_argument("--to", default="grades.csv", help="output file (default grades.csv; '-' for stdout)")
    p.add_argument("--assignment", action="append", help="only this assignment (repeatable)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = _parser().parse_args(argv)
    from .layout import Course

    try:
        course = Course(Path(args.course_dir))
        return _COMMANDS[args.command](course, args)
    except ValueError as error:
        print(f"convlab-course {args.command}: {error}", file=sys.stderr)
        return 2


def _release(course, args) -> int:
    from .release import release

    failed = 0
    for result in release(course, args.assignments or None, validate=not args.no_validate):
        print(f"{result.assignment}: {'ok' if not result.problems else 'FAILED'}")
        for problem in result.problems:
            print("  " + problem.replace("\n", "\n    "))
        failed += bool(result.problems)
    return 1 if failed else 0


def _collect(course, args) -> int:
    from .collect import collect

    report = collect(course, args.assignment, args.path)
    print("\n".join(report.lines()) or "nothing found")
    print(f"{len(report.placed)} placed, {len(report.unplaced)} not placed")
    return 0


def _autograde(course, args) -> int:
    from .autograde import GradingLimits, autograde

    limits = GradingLimits(timeout=args.timeout, memory_mb=args.memory)
    records = autograde(
        course,
        args.assignment,
        args.student,
        args.jobs,
        limits,
        progress=not args.no_progress,
        fresh_kernels=args.fresh_kernels,
        isolation=args.isolation,
    )
    seeds = {r["seed"] for r in records.values()}
    levels = sorted({r.get("isolation", "none") for r in records.values()})
    for student, record in sorted(records.items()):
        if record["status"] != "ok":
            print(f"  {student:<20} {record['status']:<12} {record['reason']}")
    counts = {}
    for record in records.values():
        counts[record["status"]] = counts.get(record["status"], 0) + 1
    summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    print(
        f"{args.assignment}: {len(records)} graded ({summary or 'none'}); seed {', '.join(sorted(seeds))}; "
        f"isolation {', '.join(levels) or 'none'}"
    )
    return 0


def _feedback(course, args) -> int:
    from .feedback import feedback

    results = feedback(course, args.assignment)
    missing = sorted(s for s, ok in results.items() if not ok)
    print(f"{args.assignment}: feedback for {len(results) - len(missing)} students")
    if missing:
        print("  none for (not graded, or grading failed): " + ", ".join(missing))
    return 0


def _export(course, args) -> int:
    from .export import export_csv

    text = export_csv(course, None if args.to == "-" else args.to, args.assignment)
    if args.to == "-":
        sys.stdout.write(text)
    else:
        print(f"{text.count(chr(10)) - 1} rows written to {args.to}")
    return 0


_COMMANDS = {
    "release": _release,
    "collect": _collect,
    "autograde": _autograde,
    "feedback": _feedback,
    "export": _export,
}

if __name__ == "__main__":
    sys.exit(main())
