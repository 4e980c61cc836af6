"""What a grading run says about the class: score distributions, misconceptions, grading statuses.

Everything comes from the grading run itself, never from running student code again:

- scores per test cell from nbgrader's gradebook (so manual grades count);
- the diagnoses from the autograded notebooks: a failed check's message (a
  :class:`convlab.grading.CheckFailure`) opens with ``"`<function>` failed on <case>"`` and carries
  up to two ``Diagnosis: ...`` lines; a failure with none is counted as
  ``wrong values, no known misconception``, a stub left in place (the check reports ``your function raised
  NotImplementedError``) as ``not attempted``, and any other exception by its name;
- statuses and reasons from each submission's ``grading.json``.

:func:`write_report` writes ``reports/<assignment>.html`` (figures embedded) and
``reports/<assignment>-diagnoses.csv``, one row per (student, function, diagnosis) for every
function a student did not get fully right.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from .layout import Course

__all__ = ["NO_DIAGNOSIS", "NOT_ATTEMPTED", "ClassReport", "FunctionResult", "class_report", "write_report"]

NO_DIAGNOSIS = "wrong values, no known misconception"
NOT_ATTEMPTED = "not attempted (the stub raises NotImplementedError)"
_CHECK_ERRORS = ("CheckFailure", "ShortcutError")
_RAISED = re.compile(r"your function raised (\w+)")
CSV_COLUMNS = ("student", "function", "diagnosis", "case", "score", "max_score")


@dataclass
class FunctionResult:
    """One student's result on one graded function."""

    score: float
    max_score: float
    diagnoses: list[str] = field(default_factory=list)
    case: str = ""


@dataclass
class ClassReport:
    """The class's results on one assignment, as :func:`class_report` reads them."""

    assignment: str
    functions: list[str]
    max_scores: dict[str, float]
    results: dict[str, dict[str, FunctionResult]]  # student -> function -> result
    statuses: dict[str, dict]  # student -> grading record (status, reason, ...)

    def totals(self) -> dict[str, float]:
        return {s: sum(r.score for r in per.values()) for s, per in self.results.items()}

    def misconceptions(self, function: str) -> list[tuple[str, list[str], str]]:
        """``(diagnosis, students, example case)`` for ``function``, most frequent first."""
        students, example = defaultdict(list), {}
        for student, per in sorted(self.results.items()):
            result = per.get(function)
            if result is None or result.score >= result.max_score:
                continue
            for diagnosis in result.diagnoses:
                students[diagnosis].append(student)
                example.setdefault(diagnosis, result.case)
        return sorted(
            ((d, s, example[d]) for d, s in students.items()), key=lambda row: (-len(row[1]), row[0])
        )


def _cell_functions(course: Course, assignment: str) -> tuple[list[str], dict[str, str]]:
    """The graded functions in order, and ``{test grade_id: function}`` from the source notebook."""
    import nbformat

    source = nbformat.read(course.source(assignment), as_version=4)
    functions, owner, current = [], {}, None
    for cell in source.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and cell.cell_type == "code":
            names = [
                line[4:].split("(")[0].strip() for line in cell.source.splitlines() if line.startswith("def ")
            ]
            current = names[0] if names else meta.get("grade_id", "answer")
            functions.append(current)
        elif meta.get("grade") and not meta.get("solution"):
            owner[meta["grade_id"]] = current or meta["grade_id"]
    return functions, owner


def _case(lines: list[str]) -> str:
    """The failing case in one line: the message's first line and the arguments it lists."""
    if not lines or " failed on " not in lines[0]:
        return ""
    shown = [lines[0].rstrip(":")]
    for line in lines[1:7]:
        if line.strip().startswith(("your ", "output", "expected", "got", "Diagnosis:")):
            break
        shown.append(" ".join(line.split()))
    return "; ".join(shown)[:300]


def _failure(outputs: list[dict]) -> tuple[list[str], str] | None:
    """``(diagnoses, case)`` of a failed test cell's outputs, None when it did not fail."""
    for output in outputs:
        if output.get("output_type") != "error":
            continue
        name, value = output.get("ename", ""), output.get("evalue", "")
        lines = value.splitlines()
        case = _case(lines)
        raised = next((_RAISED.search(line) for line in lines if _RAISED.search(line)), None)
        error = raised.group(1) if raised else (None if case or name in _CHECK_ERRORS else name)
        if error == "NotImplementedError":
            return [NOT_ATTEMPTED], case
        if error is not None:
            return [f"raised {error}"], case
        diagnoses = [
            line.split("Diagnosis:", 1)[1].strip() for line in lines if line.startswith("Diagnosis:")
        ]
        return diagnoses or [NO_DIAGNOSIS], case
    return None


def _graded_cells(course: Course, student: str, assignment: str) -> dict[str, dict]:
    path = course.autograded(student, assignment) / f"{assignment}.ipynb"
    try:
        nb = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return {
        cell["metadata"]["nbgrader"]["grade_id"]: cell
        for cell in nb.get("cells", [])
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade")
    }


def class_report(course: Course, assignment: str) -> ClassReport:
    """Read the grading run of ``assignment``: scores, diagnoses and statuses of every student."""
    from nbgrader.api import Gradebook, MissingEntry

    if assignment not in course.assignments():
        raise ValueError(f"`assignment` must be one of {course.assignments()}; got assignment={assignment!r}")
    functions, owner = _cell_functions(course, assignment)
    results: dict[str, dict[str, FunctionResult]] = {}
    statuses: dict[str, dict] = {}
    max_scores: dict[str, float] = defaultdict(float)
    with Gradebook(course.db_url) as gb:
        for student in course.students(assignment):
            statuses[student] = course.read_status(student, assignment) or {
                "status": "ungraded",
                "reason": "",
            }
            try:
                submission = gb.find_submission(assignment, student)
            except MissingEntry:
                continue
            cells = _graded_cells(course, student, assignment)
            per: dict[str, FunctionResult] = {}
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    function = owner.get(grade.name, grade.name)
                    result = per.setdefault(function, FunctionResult(0.0, 0.0))
                    result.score += float(grade.score or 0.0)
                    result.max_score += float(grade.max_score or 0.0)
                    failed = _failure(cells.get(grade.name, {}).get("outputs", []))
                    if failed is not None:
                        for diagnosis in failed[0]:
                            if diagnosis not in result.diagnoses:
                                result.diagnoses.append(diagnosis)
                        result.case = result.case or failed[1]
            for function, result in per.items():
                max_scores[function] = max(max_scores[function], result.max_score)
                if result.score < result.max_score and not result.diagnoses:
                    result.diagnoses.append(NO_DIAGNOSIS)
            results[student] = per
    ordered = [f for f in functions if f in max_scores] + sorted(set(max_scores) - set(functions))
    return ClassReport(assignment, ordered, dict(max_scores), results, statuses)


def _csv(report: ClassReport) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for student, per in sorted(report.results.items()):
        for function in report.functions:
            result = per.get(function)
            if result is None or result.score >= result.max_score:
                continue
            for diagnosis in result.diagnoses:
                writer.writerow(
                    [student, function, diagnosis, result.case, f"{result.score:g}", f"{result.max_score:g}"]
                )
    return buffer.getvalue()


def _figure(report: ClassReport) -> str:
    """The score distributions (total, then each function) as an embedded PNG."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    panels = [("total", report.totals(), sum(report.max_scores.values()))]
    panels += [
        (f, {s: per[f].score for s, per in report.results.items() if f in per}, report.max_scores[f])
        for f in report.functions
    ]
    fig, axes = plt.subplots(1, len(panels), figsize=(2.6 * len(panels), 2.4), squeeze=False)
    for ax, (title, scores, top) in zip(axes[0], panels, strict=True):
        counts = Counter(scores.values())
        ax.bar(list(counts), list(counts.values()), width=max(top, 1) / 25, color="#4c72b0")
        ax.set_xlim(-0.05 * max(top, 1), 1.05 * max(top, 1))
        ax.yaxis.get_major_locator().set_params(integer=True)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("points", fontsize=8)
        ax.tick_params(labelsize=7)
    axes[0][0].set_ylabel("students", fontsize=8)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode()


def _html(report: ClassReport) -> str:
    esc = html.escape
    totals = report.totals()
    n = len(report.statuses)
    top = sum(report.max_scores.values())
    graded = sorted(totals.values())
    median = graded[len(graded) // 2] if graded else 0.0
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>{esc(report.assignment)}: class report</title>",
        "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}"
        "table{border-collapse:collapse;margin:0.5em 0 1.5em}td,th{border:1px solid #ccc;padding:4px 8px;"
        "text-align:left;vertical-align:top}th{background:#f2f2f2}td.n{text-align:right}"
        "img{max-width:100%}code{font-size:90%}</style></head><body>",
        f"<h1>{esc(report.assignment)}: what the class got wrong</h1>",
        f"<p>{n} students handed in; {len(totals)} graded. Median total {median:g} of {top:g} points.</p>",
        "<h2>Score distributions</h2>",
        f"<img alt='score distributions' src='data:image/png;base64,{_figure(report)}'>",
        "<h2>Misconceptions</h2>",
    ]
    for function in report.functions:
        rows = report.misconceptions(function)
        right = sum(
            1
            for per in report.results.values()
            if function in per and per[function].score >= per[function].max_score
        )
        parts.append(f"<h3><code>{esc(function)}</code>: {right} of {len(report.results)} fully right</h3>")
        if not rows:
            parts.append("<p>No failures.</p>")
            continue
        parts.append(
            "<table><tr><th>diagnosis</th><th>students</th><th>share</th><th>a failing case</th></tr>"
        )
        for diagnosis, students, case in rows:
            share = len(students) / max(1, len(report.results))
            who = esc(", ".join(students))
            parts.append(
                f"<tr><td>{esc(diagnosis)}</td><td class='n' title='{who}'>{len(students)}</td>"
                f"<td class='n'>{share:.0%}</td><td><code>{esc(case)}</code></td></tr>"
            )
        parts.append("</table>")
    parts.append("<h2>Grading statuses</h2><table><tr><th>status</th><th>students</th><th>reasons</th></tr>")
    by_status = defaultdict(list)
    for student, record in sorted(report.statuses.items()):
        by_status[record.get("status", "?")].append((student, record.get("reason", "")))
    for status, rows in sorted(by_status.items(), key=lambda item: (item[0] != "ok", item[0])):
        reasons = "<br>".join(f"{esc(s)}: {esc(r)}" for s, r in rows if r) if status != "ok" else ""
        parts.append(f"<tr><td>{esc(status)}</td><td class='n'>{len(rows)}</td><td>{reasons}</td></tr>")
    parts.append("</table></body></html>")
    return "\n".join(parts)


def write_report(course: Course, assignment: str, folder: str | Path | None = None) -> ClassReport:
    """Write ``reports/<assignment>.html`` and ``reports/<assignment>-diagnoses.csv``."""
    report = class_report(course, assignment)
    out = Path(folder) if folder is not None else course.root / "reports"
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{assignment}.html").write_text(_html(report))
    (out / f"{assignment}-diagnoses.csv").write_text(_csv(report))
    return report


def summary_lines(report: ClassReport, limit: int = 3) -> list[str]:
    """A few lines for the terminal: each function's most frequent diagnoses."""
    lines = []
    counts = Counter(r.get("status", "?") for r in report.statuses.values())
    lines.append(", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
    for function in report.functions:
        for diagnosis, students, _ in report.misconceptions(function)[:limit]:
            lines.append(f"  {function}: {len(students)} x {diagnosis}")
    return lines
