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
    p.add_argument("--zip", action="store_true", help="also write lms/<assignment>.zip for an LMS upload")

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
    p.add_argument("--no-progress", action="store_true", help="no progress bar")

    p = sub.add_parser("report", help="the class's misconceptions, score distributions and statuses")
    p.add_argument("assignments", nargs="*", metavar="ASSIGNMENT")
    p.add_argument("--all", action="store_true", help="every assignment")
    p.add_argument("--to", default=None, help="output folder (default <course>/reports)")

    p = sub.add_parser("feedback", help="per-student HTML feedback without hidden tests")
    p.add_argument("assignment", metavar="ASSIGNMENT")
    p.add_argument(
        "--zip",
        action="store_true",
        help="also write lms/<assignment>-feedback.zip for a bulk upload",
    )

    p = sub.add_parser("export", help="grades as CSV, or as a Canvas gradebook / Moodle grading worksheet")
    p.add_argument(
        "--format",
        choices=("csv", "canvas", "moodle"),
        default="csv",
        help="csv: one row per student and assignment; canvas: one gradebook import for the course; "
        "moodle: one grading worksheet per assignment (default csv)",
    )
    p.add_argument(
        "--to",
        default=None,
        help="output file, or folder for moodle (default grades.csv, grades-canvas.csv, grades-moodle/; "
        "'-' for stdout)",
    )
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
        if args.zip and not result.problems:
            from .release import release_zip

            print(f"  {release_zip(course, result.assignment)}")
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
    )
    seeds = {r["seed"] for r in records.values()}
    for student, record in sorted(records.items()):
        if record["status"] != "ok":
            print(f"  {student:<20} {record['status']:<12} {record['reason']}")
    counts = {}
    for record in records.values():
        counts[record["status"]] = counts.get(record["status"], 0) + 1
    summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    print(f"{args.assignment}: {len(records)} graded ({summary or 'none'}); seed {', '.join(sorted(seeds))}")
    if records:
        from .report import class_report, summary_lines

        print("Most frequent diagnoses (convlab-course report for the whole table):")
        print("\n".join(summary_lines(class_report(course, args.assignment))[1:]) or "  none")
    return 0


def _report(course, args) -> int:
    from .report import write_report

    names = course.assignments() if args.all else args.assignments
    if not names:
        raise ValueError("`report` needs an ASSIGNMENT or --all; got neither")
    for name in names:
        report = write_report(course, name, args.to)
        folder = Path(args.to) if args.to else course.root / "reports"
        print(f"{name}: {len(report.results)} students -> {folder / (name + '.html')}")
    return 0


def _feedback(course, args) -> int:
    from .feedback import feedback

    results = feedback(course, args.assignment)
    missing = sorted(s for s, ok in results.items() if not ok)
    print(f"{args.assignment}: feedback for {len(results) - len(missing)} students")
    if missing:
        print("  none for (not graded, or grading failed): " + ", ".join(missing))
    if args.zip:
        from .feedback import feedback_zip

        path, count = feedback_zip(course, args.assignment)
        print(f"  {count} feedback files in {path}")
    return 0


def _export(course, args) -> int:
    from .export import export_canvas, export_csv, export_moodle

    if args.format == "moodle":
        folder = Path(args.to or "grades-moodle")
        if args.to != "-":
            folder.mkdir(parents=True, exist_ok=True)
        for name in args.assignment or course.assignments():
            target = None if args.to == "-" else folder / f"{name}.csv"
            text, unmatched = export_moodle(course, name, target)
            if target is None:
                sys.stdout.write(text)
            else:
                print(f"{name}: {text.count(chr(10)) - 1} rows written to {target}")
            if unmatched:
                print(f"  not in the worksheet (no Moodle participant id): {', '.join(unmatched)}")
        return 0
    write = export_canvas if args.format == "canvas" else export_csv
    to = args.to or ("grades-canvas.csv" if args.format == "canvas" else "grades.csv")
    text = write(course, None if to == "-" else to, args.assignment)
    if to == "-":
        sys.stdout.write(text)
    else:
        header_rows = 2 if args.format == "canvas" else 1
        print(f"{text.count(chr(10)) - header_rows} rows written to {to}")
    return 0


_COMMANDS = {
    "release": _release,
    "collect": _collect,
    "autograde": _autograde,
    "report": _report,
    "feedback": _feedback,
    "export": _export,
}

if __name__ == "__main__":
    sys.exit(main())
