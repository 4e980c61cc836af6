"""An adversarial class, graded end to end: every hostile or broken submission gets exactly the
score and status intended, the run never stops, ``submitted/`` is untouched and a re-grade
gives the same CSV.

The class is built from the course's real ``ex01_conv1d`` when ``exercises/`` has it, else from a
two-function assignment written here, so the suite runs before the course's assignments exist.
"""

import copy
import csv
import hashlib
import io
import json
import os
import shutil
import socket
from collections import Counter
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from convlab.course.autograde import GradingLimits, _append_log, autograde, isolation_here
from convlab.course.export import export_csv
from convlab.course.feedback import feedback
from convlab.course.layout import Course
from convlab.course.release import release
from convlab.course.report import NOT_ATTEMPTED, write_report

REAL = Path(__file__).resolve().parents[1] / "exercises"
REAL_ID = "ex01_conv1d"
LIMITS = GradingLimits(timeout=20, memory_mb=1024)


def _meta(gid, **flags):
    return {
        "nbgrader": {
            "grade_id": gid,
            "schema_version": 3,
            "grade": False,
            "locked": False,
            "solution": False,
            **flags,
        }
    }


def _tiny(root):
    """Two functions, each with a visible and a hidden test; the tests use np.testing."""
    nb = new_notebook(
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    )
    sol = "def {0}(a, b):\n    ### BEGIN SOLUTION\n    return a {1} b\n    ### END SOLUTION"
    test = (
        "np.testing.assert_equal({0}(2, 3), {1})\n"
        "### BEGIN HIDDEN TESTS\nnp.testing.assert_equal({0}(4, 5), {2})\n### END HIDDEN TESTS"
    )
    nb.cells = [
        new_markdown_cell("# Tiny", metadata=_meta("intro", locked=True)),
        new_code_cell("import numpy as np"),
        new_code_cell(sol.format("add", "+"), metadata=_meta("add", solution=True)),
        new_code_cell(
            test.format("add", 5, 9), metadata=_meta("test_add", grade=True, locked=True, points=2)
        ),
        new_code_cell(sol.format("mul", "*"), metadata=_meta("mul", solution=True)),
        new_code_cell(
            test.format("mul", 6, 20), metadata=_meta("test_mul", grade=True, locked=True, points=3)
        ),
    ]
    (root / "source" / "tiny").mkdir(parents=True)
    nbformat.write(nb, root / "source" / "tiny" / "tiny.ipynb")
    (root / "nbgrader_config.py").write_text("c = get_config()\n")
    return "tiny"


class Spec:
    """Solution cells, the test cells after each, their points, from the source notebook."""

    def __init__(self, course, assignment):
        self.course, self.id = course, assignment
        source = nbformat.read(course.source(assignment), as_version=4)
        self.solutions, self.points, self.tests = [], [], []
        for cell in source.cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("solution"):
                code = "\n".join(
                    line
                    for line in cell.source.splitlines()
                    if "## BEGIN SOLUTION" not in line and "## END SOLUTION" not in line
                )
                name = next(line.split("(")[0][4:] for line in code.splitlines() if line.startswith("def "))
                self.solutions.append((meta["grade_id"], code, name))
                self.points.append(0)
                self.tests.append([])
            elif meta.get("grade") and self.solutions:
                self.points[-1] += meta["points"]
                self.tests[-1].append(meta["grade_id"])
        self.total = sum(self.points)
        self.release = nbformat.read(course.release(assignment), as_version=4)

    def cell(self, nb, gid):
        return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == gid)

    def correct(self):
        nb = copy.deepcopy(self.release)
        for gid, code, _ in self.solutions:
            self.cell(nb, gid).source = code
        return nb

    def redefine(self, nb, k, body):
        gid, _, name = self.solutions[k]
        self.cell(nb, gid).source += f"\n\ndef {name}(*args, **kwargs):\n" + body
        return nb

    def hand_in(self, student, nb=None, raw=None, filename=None):
        folder = self.course.submitted(student, self.id)
        folder.mkdir(parents=True)
        data = raw if raw is not None else nbformat.writes(nb).encode()
        (folder / (filename or f"{self.id}.ipynb")).write_bytes(data)
        (folder / "timestamp.txt").write_text("2026-03-01 09:00:00+00:00\n")


def _build(spec, port=None):
    """Hand in the class; return {student: (score, status, words expected in the reason)}."""
    s, last, total = spec, len(spec.solutions) - 1, spec.total
    # bugs go in the last function: earlier ones may be used by later ones (correlate via convolve)
    first_test = s.tests[last][0]
    bug = '    raise ValueError("planted bug")'
    expect = {}

    def add(student, nb, score, status="ok", words=(), **kw):
        s.hand_in(student, nb, **kw)
        expect[student] = (score, status, words)

    add("correct", s.correct(), total)
    add("blank", copy.deepcopy(s.release), 0)
    add("planted_bug", s.redefine(s.correct(), last, bug), total - s.points[last])
    add(
        "infinite_loop",
        s.redefine(s.correct(), last, "    while True:\n        pass"),
        total - s.points[last],
        "timeout",
        ("time limit",),
    )
    add(
        "memory_bomb",
        s.redefine(s.correct(), last, "    return bytearray(16 * 1024**3)"),
        total - s.points[last],
        "memory",
        ("MemoryError", "1024 MiB"),
    )
    add(
        "os_exit",
        s.redefine(s.correct(), last, "    import os\n    os._exit(1)"),
        total - s.points[last],
        "kernel-died",
        ("kernel died",),
    )
    nb = s.correct()
    s.cell(nb, s.solutions[0][0]).source += "\nimport sys\nsys.exit()"
    add("sys_exit", nb, total)
    nb = s.correct()
    s.cell(nb, s.solutions[last][0]).source = "import convlab_no_such_module\n" + s.solutions[last][1]
    add("import_error", nb, total - s.points[last])
    nb = s.correct()
    s.cell(nb, s.solutions[0][0]).source += '\nprint("x" * 10_000_000)'
    add("flood", nb, total)
    name0 = s.solutions[0][2]
    wrap = (
        f"\nimport warnings\n_inner = {name0}\ndef {name0}(*args, **kwargs):\n"
        "    warnings.warn('slow')\n    return _inner(*args, **kwargs)"
    )
    nb = s.correct()
    s.cell(nb, s.solutions[0][0]).source += wrap
    add("warnings", nb, total)
    nb = s.correct()
    nb.cells.remove(s.cell(nb, first_test))
    add("deleted_test", nb, total, "repaired", ("missing; restored",))
    nb = s.redefine(s.correct(), last, bug)
    for gid in s.tests[last]:
        s.cell(nb, gid).source = "pass"
    add("edited_test", nb, total - s.points[last], "repaired", ("was edited",))
    nb = s.redefine(s.correct(), last, bug)
    cell = s.cell(nb, first_test)
    nb.cells[nb.cells.index(cell)] = nbformat.v4.new_markdown_cell(cell.source, metadata=cell.metadata)
    add("markdown_test", nb, total - s.points[last], "repaired", ("turned into markdown",))
    nb = s.correct()
    for cell in nb.cells:
        cell.metadata = {}
    add("stripped_metadata", nb, total, "repaired", ("metadata was missing",))
    nb = s.redefine(s.correct(), last, bug)
    s.cell(nb, first_test).metadata.nbgrader.grade_id = "mine"
    add("changed_grade_id", nb, total - s.points[last], "repaired", ("changed to 'mine'",))
    nb = s.correct()
    at = nb.cells.index(s.cell(nb, s.solutions[0][0]))
    nb.cells.insert(at + 1, copy.deepcopy(nb.cells[at]))
    add("duplicated_solution", nb, total, "repaired", ("appears twice",))
    add("renamed_file", s.correct(), total, "repaired", ("homework.ipynb",), filename="homework.ipynb")
    text = nbformat.writes(s.correct())
    cut = text.index(f'"grade_id": "{s.solutions[last][0]}"')
    add(
        "truncated_json",
        None,
        total - s.points[last],
        "repaired",
        ("not valid JSON",),
        raw=text[:cut].encode(),
    )
    nb = copy.deepcopy(s.release)  # wrong answers, and every check and assertion patched to pass
    for k in range(len(s.solutions)):
        s.redefine(nb, k, "    return None")
    s.cell(nb, s.solutions[0][0]).source += (
        "\nimport numpy as np\nimport convlab.grading as _g\n"
        "np.testing.assert_allclose = np.testing.assert_equal = lambda *a, **k: None\n"
        "for _n in [n for n in _g.__all__ if n.startswith('check_')]:\n"
        "    setattr(_g, _n, lambda *a, **k: None)\n    globals()[_n] = lambda *a, **k: None\n"
    )
    add("monkeypatch", nb, 0)
    nb = s.correct()
    s.cell(nb, s.solutions[0][0]).source += (
        "\nimport os\n"
        "for _p in ('../../../../../escape.txt', '~/escape.txt', '../../../submitted/escape.txt'):\n"
        "    with open(os.path.expanduser(_p), 'w') as _f:\n        _f.write('x')\n"
    )
    add("writes_outside", nb, total)
    nb = copy.deepcopy(s.release)  # blank, but borrows the first solution of whoever it can read
    s.cell(nb, s.solutions[0][0]).source += (
        "\nimport glob, json\n"
        f"for _p in glob.glob('../../../submitted/*/{s.id}/*.ipynb') + glob.glob('../../*/{s.id}/*.ipynb'):\n"
        "    for _c in json.load(open(_p))['cells']:\n"
        "        if 'def ' in ''.join(_c['source']) and 'NotImplementedError' not in ''.join(_c['source']):\n"
        "            exec(''.join(_c['source']))\n"
    )
    add("reads_others", nb, 0)
    _hostile(s, add, port)
    _layouts(s, add)
    if s.id == REAL_ID:  # the course's checks must reject shortcuts and mutation
        shortcut = "    import numpy\n    return numpy.correlate(*args, **kwargs)"
        add("calls_reference", s.redefine(s.correct(), last, shortcut), total - s.points[last])
        name = s.solutions[last][2]
        mutate = (
            f"\n_pure = {name}\ndef {name}(f, g, *args, **kwargs):\n"
            "    out = _pure(f, g, *args, **kwargs)\n    f[...] = 0\n    return out"
        )
        nb = s.correct()
        s.cell(nb, s.solutions[last][0]).source += mutate
        add("mutates_input", nb, total - s.points[last])
    return expect


#: Printed by a hostile submission for everything it reached; the graded notebooks must hold none.
LEAK = "LEAKED:"


def _hostile(s, add, port):
    """Submissions that try to reach what isolation keeps out; each prints what it reached."""
    root, total, first = s.course.root, s.total, s.solutions[0][0]
    snoop = (  # the globs, then the course's own folders by absolute path
        "\nimport glob, json\n_seen = set()\n"
        "_paths = glob.glob('../../**/*.ipynb', recursive=True)\n"
        "_paths += glob.glob('/tmp/**/*.ipynb', recursive=True)\n"
        f"_paths += glob.glob('{root}/submitted/*/*/*.ipynb')\n"
        f"_paths += glob.glob('{root}/source/**/*.ipynb', recursive=True)\n"
        f"_paths += glob.glob('{root}/autograded/*/*/*.ipynb')\n"
        "for _p in _paths:\n"
        "    try:\n"
        "        _cells = json.load(open(_p))['cells']\n"
        "    except Exception:\n"
        "        continue\n"
        "    for _c in _cells:\n"
        "        _src = ''.join(_c['source'])\n"
        "        if 'def ' in _src and 'NotImplementedError' not in _src:\n"
        "            exec(_src)\n"
        "            _seen.add(_p)\n"
        f"print(*('{LEAK} ' + _p for _p in sorted(_seen)), sep='\\n')\n"
    )
    nb = copy.deepcopy(s.release)  # blank, plus whatever solutions it can read
    s.cell(nb, first).source += snoop
    add("snooper", nb, 0)
    hidden = (  # hidden tests, the source notebook or the scratch gradebook (which holds them)
        "\nimport glob, os\n"
        f"_paths = glob.glob('{root}/source/**', recursive=True) + glob.glob('{root}/*.db')\n"
        "_paths += glob.glob('../../../*.db') + glob.glob('../../../source/**', recursive=True)\n"
        "_paths += glob.glob('/tmp/**/*.db', recursive=True)\n"
        "_paths += glob.glob(os.path.expanduser('~/**'), recursive=True)\n"
        "for _p in _paths:\n"
        "    try:\n"
        "        if b'BEGIN HIDDEN ' + b'TESTS' in open(_p, 'rb').read():\n"
        f"            print('{LEAK}', _p)\n"
        "    except OSError:\n"
        "        pass\n"
    )
    nb = s.correct()
    s.cell(nb, first).source += hidden
    add("reads_source", nb, total)
    seed = (  # correct code that breaks itself if it can see the seed anywhere before its tests
        "\nimport glob, os\n_where = [k for k in os.environ if 'SEED' in k and k != 'PYTHONHASHSEED']\n"
        "for _p in ['/proc/self/environ', f'/proc/{{os.getppid()}}/environ',"
        " *glob.glob('**', recursive=True), *glob.glob(os.path.expanduser('~/**'), recursive=True)]:\n"
        "    try:\n"
        "        if b'CONVLAB_' + b'GRADING_SEED' in open(_p, 'rb').read():\n"
        "            _where.append(_p)\n"
        "    except OSError:\n"
        "        pass\n"
        f"if _where:\n    print('{LEAK}', _where)\n    {{name}} = None\n"
    )
    nb = s.correct()
    for gid, _, name in s.solutions:  # in every solution cell, also those after a test cell ran
        s.cell(nb, gid).source += seed.format(name=name)
    add("reads_seed", nb, total)
    escape = (
        "\nimport os, pathlib\n"
        f"for _p in ('/tmp/convlab-escape-{os.getpid()}.txt', '/dev/shm/convlab-escape-{os.getpid()}.txt',"
        f" '{root}/escape.txt', '{root}/submitted/escape.txt', '{Path.home()}/escape.txt'):\n"
        "    try:\n"
        "        pathlib.Path(_p).write_text('x')\n"
        "    except OSError:\n"
        "        pass\n"
    )
    nb = s.correct()
    s.cell(nb, first).source += escape
    add("escaping_write", nb, total)
    if port is not None:
        network = (
            "\nimport socket\ntry:\n"
            f"    socket.create_connection(('127.0.0.1', {port}), timeout=3).sendall(b'leak')\n"
            f"    print('{LEAK} connected to {port}')\nexcept OSError:\n    pass\n"
        )
        nb = s.correct()
        s.cell(nb, first).source += network
        add("network", nb, total)


def _layouts(s, add):
    """Correct code laid out as students do; repair must keep every point."""
    total, (g0, c0, _), (g1, c1, _) = s.total, s.solutions[0], s.solutions[-1]
    for variant in ("stripped", "renamed"):  # the two findings: both functions in one cell
        nb = copy.deepcopy(s.release)
        s.cell(nb, g0).source = c0 + "\n\n\n" + c1
        s.cell(nb, g1).source = "pass"
        for cell in nb.cells:
            if variant == "stripped":
                cell.metadata = {}
            elif "nbgrader" in cell.metadata:
                cell.metadata.nbgrader.grade_id = "my_" + cell.metadata.nbgrader.grade_id
        add(
            f"both_in_first_{variant}",
            nb,
            total,
            "repaired",
            ("metadata was missing",) if variant == "stripped" else ("changed to 'my_",),
        )
    nb = copy.deepcopy(s.release)  # the last function written first, in the first cell
    s.cell(nb, g0).source, s.cell(nb, g1).source = c1, c0
    add("functions_swapped", nb, total, "repaired", ("moved",))
    nb = s.correct()  # helpers around the cells, every test cell moved to the end
    at = nb.cells.index(s.cell(nb, g0))
    nb.cells.insert(at, new_code_cell("import math\n\ndef _unused_helper(x):\n    return math.floor(x)"))
    tests = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    nb.cells = [c for c in nb.cells if c not in tests] + tests
    nb.cells.insert(len(nb.cells) - len(tests), new_code_cell("_scratch = 1 + 1"))
    add("helpers_and_reordered", nb, total, "repaired", ("moved",))


def _tree_hash(folder):
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        digest.update(str(path.relative_to(folder)).encode())
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("class") / "course"
    if (REAL / "source" / REAL_ID).is_dir():
        (root / "source").mkdir(parents=True)
        shutil.copy(REAL / "nbgrader_config.py", root / "nbgrader_config.py")
        shutil.copytree(REAL / "source" / REAL_ID, root / "source" / REAL_ID)
        assignment = REAL_ID
    else:
        root.mkdir(parents=True)
        assignment = _tiny(root)
    course = Course(root)
    released = release(course, [assignment])
    assert released[0].problems == []
    spec = Spec(course, assignment)
    listener = socket.socket()  # on the host's loopback: no kernel may reach it
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.2)
    expect = _build(spec, listener.getsockname()[1])
    before = _tree_hash(root / "submitted")
    outside = set(os.listdir("/tmp"))
    records = autograde(course, assignment, jobs=2, limits=LIMITS, progress=False)
    first = export_csv(course)
    again = autograde(course, assignment, jobs=2, limits=LIMITS, progress=False)
    second = export_csv(course, root / "grades.csv")
    report = write_report(course, assignment)
    fed = feedback(course, assignment)
    reached = []
    try:
        while True:
            reached.append(listener.accept()[0].recv(16))
    except OSError:
        listener.close()
    return {
        "reached": reached,
        "tmp": (outside, set(os.listdir("/tmp"))),
        "course": course,
        "spec": spec,
        "expect": expect,
        "records": records,
        "again": again,
        "csv": (first, second),
        "hash": (before, _tree_hash(root / "submitted")),
        "feedback": fed,
        "report": report,
    }


def _rows(text):
    return {row["student"]: row for row in csv.DictReader(io.StringIO(text))}


def test_every_student_gets_exactly_the_intended_score_and_status(graded):
    rows = _rows(graded["csv"][0])
    assert set(rows) == set(graded["expect"])
    wrong = {}
    for student, (score, status, words) in graded["expect"].items():
        row = rows[student]
        got = (float(row["score"]), row["status"], all(w in row["reason"] for w in words))
        if got != (score, status, True):
            wrong[student] = (got, (score, status), row["reason"])
    assert wrong == {}
    assert {row["max_score"] for row in rows.values()} == {f"{graded['spec'].total:g}"}


def test_the_class_report_counts_the_adversarial_class(graded):
    """The report's statuses are the intended ones, and every lost point has a diagnosis row."""
    report = graded["report"]
    statuses = Counter(record["status"] for record in report.statuses.values())
    assert statuses == Counter(status for _, status, _ in graded["expect"].values())
    last = report.functions[-1]
    planted = {d for d, students, _ in report.misconceptions(last) if "planted_bug" in students}
    assert planted == {"raised ValueError"}  # the planted bug raises ValueError("planted bug")
    blank = {f for f in report.functions if NOT_ATTEMPTED in report.results["blank"][f].diagnoses}
    assert blank == set(report.functions)
    for student, per in report.results.items():
        for function, result in per.items():
            assert (result.score < result.max_score) == bool(result.diagnoses), (student, function)


def test_submitted_is_byte_identical_and_a_regrade_gives_the_same_csv(graded):
    before, after = graded["hash"]
    assert before == after
    first, second = graded["csv"]
    assert first == second
    assert (graded["course"].root / "grades.csv").read_text() == second


def test_nothing_escapes_the_scratch_folder(graded):
    root = graded["course"].root
    assert not list(root.parent.rglob("escape.txt"))
    assert not (Path.home() / "escape.txt").exists()
    before, after = graded["tmp"]
    assert not [p for p in after - before if "escape" in p]  # (other runs may share /tmp)
    assert not [p for p in os.listdir("/dev/shm") if "convlab-escape" in p]


def test_hostile_submissions_reached_nothing(graded):
    """No graded notebook shows a leak: no other notebook, hidden test, seed or host port."""
    spec, leaks = graded["spec"], {}
    for student in graded["expect"]:
        path = graded["course"].autograded(student, spec.id) / f"{spec.id}.ipynb"
        if path.exists():
            text = "".join(
                "".join(o.get("text", ""))
                for c in json.loads(path.read_text())["cells"]
                for o in c.get("outputs", [])
            )
            if LEAK in text:
                leaks[student] = [line for line in text.splitlines() if LEAK in line]
    assert leaks == {}
    assert graded["reached"] == []


def test_every_kernel_was_isolated_and_the_record_says_so(graded):
    found = isolation_here()
    rows = _rows(graded["csv"][0])
    graded_here = [r for r in graded["records"].values() if r["status"] not in ("invalid", "error")]
    assert {r["isolation"] for r in graded_here} == {found["level"]}
    assert {rows[s]["isolation"] for s in rows if graded["records"][s]["status"] != "invalid"} == {
        found["level"]
    }
    if found["level"] == "full":
        details = {json.dumps(r["isolation_detail"], sort_keys=True) for r in graded_here}
        assert all('"network": "netns"' in d or '"network": "landlock-tcp"' in d for d in details)


def test_strict_refuses_to_grade_without_isolation_and_off_records_none(graded, monkeypatch, capsys):
    course, spec = graded["course"], graded["spec"]
    import convlab.course.autograde as module

    stamp = (course.autograded("correct", spec.id) / "grading.json").read_text()
    real = isolation_here()["level"]
    monkeypatch.setattr(module, "isolation_here", lambda mode="auto": {"level": "none", "error": "none here"})
    with pytest.raises(ValueError, match="--isolation strict: .*only none isolation"):
        autograde(course, spec.id, ["correct"], jobs=1, limits=LIMITS, progress=False, isolation="strict")
    assert (course.autograded("correct", spec.id) / "grading.json").read_text() == stamp  # nothing graded
    records = autograde(course, spec.id, ["correct"], jobs=1, limits=LIMITS, progress=False, isolation="auto")
    assert "WARNING: no isolation is possible here (none here)" in capsys.readouterr().err
    # the record is what the kernel itself reported, not what the probe predicted
    assert records["correct"]["isolation"] == real
    records = autograde(course, spec.id, ["correct"], jobs=1, limits=LIMITS, progress=False, isolation="off")
    assert records["correct"]["isolation"] == "none" and records["correct"]["score"] == spec.total
    assert records["correct"]["isolation_detail"] == {"level": "none", "mode": "off"}
    assert _rows(export_csv(course))["correct"]["isolation"] == "none"
    monkeypatch.undo()
    records = autograde(course, spec.id, ["correct"], jobs=1, limits=LIMITS, progress=False)
    assert records["correct"]["isolation"] == real


def test_flooded_output_is_capped_in_the_graded_notebook(graded):
    path = graded["course"].autograded("flood", graded["spec"].id) / f"{graded['spec'].id}.ipynb"
    assert path.stat().st_size < 1_000_000
    assert "output beyond" in path.read_text()


def test_feedback_hides_hidden_tests_but_keeps_the_failure(graded):
    spec = graded["spec"]
    assert graded["feedback"]["correct"] and graded["feedback"]["planted_bug"]
    page = (graded["course"].feedback("planted_bug", spec.id) / f"{spec.id}.html").read_text()
    assert "planted bug" in page  # the failure's message stays
    assert "HIDDEN TESTS" not in page
    source = nbformat.read(spec.course.source(spec.id), as_version=4)
    hidden = [
        c.source.split("### BEGIN HIDDEN TESTS")[1].split("### END HIDDEN TESTS")[0].strip()
        for c in source.cells
        if "BEGIN HIDDEN TESTS" in c.source
    ]
    assert hidden and not any(h.splitlines()[0] in page for h in hidden)


def test_a_failed_regrade_replaces_old_scores(graded, tmp_path):
    course, spec = graded["course"], graded["spec"]
    folder = course.submitted("correct", spec.id)
    saved = (folder / f"{spec.id}.ipynb").read_bytes()
    try:
        (folder / f"{spec.id}.ipynb").write_bytes(b"not a notebook")
        records = autograde(course, spec.id, ["correct"], jobs=1, limits=LIMITS, progress=False)
        row = _rows(export_csv(course))["correct"]
        assert (records["correct"]["status"], row["score"], row["status"]) == ("invalid", "0", "invalid")
        assert "not valid JSON" in row["reason"]
    finally:
        (folder / f"{spec.id}.ipynb").write_bytes(saved)
    assert _rows(export_csv(course))["correct"]["status"] == "invalid"


def test_a_submission_newer_than_its_grade_is_reported_stale(graded):
    course, spec = graded["course"], graded["spec"]
    stamp = course.submitted("blank", spec.id) / "timestamp.txt"
    saved = stamp.read_text()
    try:
        stamp.write_text("2026-03-02 09:00:00+00:00\n")
        assert _rows(export_csv(course))["blank"]["status"] == "stale"
    finally:
        stamp.write_text(saved)


def test_a_students_patches_never_reach_the_next_kernel(graded):
    """One worker, one fork server: the patcher's kernel dies with its patches; the next is clean."""
    course, spec, expect = graded["course"], graded["spec"], graded["expect"]
    order = ["monkeypatch", "planted_bug"]  # queued in this order, to the same worker
    records = autograde(course, spec.id, order, jobs=1, limits=LIMITS, progress=False)
    for student in order:
        assert (records[student]["score"], records[student]["status"]) == expect[student][:2]


def test_fresh_kernels_grade_exactly_like_forked_ones(graded):
    course, spec, expect = graded["course"], graded["spec"], graded["expect"]
    students = ["correct", "planted_bug", "os_exit", "memory_bomb"]
    records = autograde(course, spec.id, students, jobs=2, limits=LIMITS, progress=False, fresh_kernels=True)
    for student in students:
        assert (records[student]["score"], records[student]["status"]) == expect[student][:2]
        assert all(word in records[student]["reason"] for word in expect[student][2])


def test_each_grading_run_appends_its_logs_under_its_own_header(tmp_path):
    first, second = tmp_path / "worker-0.log", tmp_path / "worker-1.log"
    first.write_text("kernel for alice died (exit status 1)\n")
    second.write_text("preload failed: scipy.signal")  # no trailing newline
    target = tmp_path / "autograded" / "ex01-grading.log"
    _append_log(target, [first, second], "2026-11-23T10:00:00+00:00", "7")
    first.write_text("kernel for bob timed out\n")
    _append_log(target, [first], "2026-11-23T11:00:00+00:00", "8")
    assert target.read_text().splitlines() == [
        "===== grading run started 2026-11-23T10:00:00+00:00 (seed 7) =====",
        "kernel for alice died (exit status 1)",
        "preload failed: scipy.signal",
        "===== grading run started 2026-11-23T11:00:00+00:00 (seed 8) =====",
        "kernel for bob timed out",
    ]
