"""A failed check reads like a tutor: its message alone, short, about the smallest failing case,
with diagnoses that are true of it.

- in IPython/Jupyter (a real kernel) a :class:`CheckFailure` shows as its message, without the
  grader's frames, and is still an ``error`` output named ``CheckFailure`` (nbgrader's failure,
  which the class report reads);
- every message of every check, on several kinds of wrong function, fits in 25 lines of at most
  100 columns (tuples shown whole, 4-D arrays as labelled 2-D slices);
- the smallest failing case is reported (by number of input elements; ties: first declared);
- a default argument different from the exercise's fails, and the call line says which;
- a diagnosis is shown only when its misconception reproduces the student's output; at most two,
  the best first; a case that must raise and did not gets only ``no `ValueError` when ...``.
"""

from __future__ import annotations

import copy
import inspect
import re

import nbformat
import numpy as np
import pytest
import torch
from test_grading_checks import ALL_FUNCTIONS, SOLUTIONS, S, check

import convlab.grading as grading
from convlab.grading import CheckFailure, ShortcutError
from convlab.grading.comparison import MAX_LINES, WIDTH, Shown
from convlab.grading.running import Case, exercise
from convlab.grading.running import Misconception as M

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _failure(name, fn, **kwargs) -> CheckFailure:
    with pytest.raises(CheckFailure) as info:
        check(name)(fn, **kwargs)
    return info.value


def _shown(failure: CheckFailure) -> list[str]:
    """The lines IPython shows for ``failure``, colours removed."""
    return [_ANSI.sub("", line) for line in "\n".join(failure._render_traceback_()).splitlines()]


# --------------------------------------------------------------------------- the message alone


def test_ipython_shows_the_message_alone():
    failure = _failure("convolve1d", lambda f, g, mode="full": S.correlate1d(f, g, mode))
    shown = _shown(failure)
    assert shown[0] == "CheckFailure: " + str(failure).splitlines()[0]
    assert all(isinstance(line, str) for line in failure._render_traceback_())
    assert "Traceback" not in "\n".join(shown) and "running.py" not in "\n".join(shown)
    # the message, its lines cut at spaces where longer than the page
    assert " ".join("\n".join(shown).split())[len("CheckFailure: ") :] == " ".join(str(failure).split())


def test_rendering_never_raises():
    class Unprintable(CheckFailure):
        def __str__(self):
            raise RuntimeError("no")

    lines = Unprintable("x")._render_traceback_()
    assert lines and all(isinstance(line, str) for line in lines)


def test_the_structured_attributes_follow_the_message():
    failure = _failure("same_padding", lambda i, k, s=1, d=1: S.same_padding(i, k, s, d)[::-1])
    first = str(failure).splitlines()[0]
    assert first.startswith("`same_padding` failed on case ")
    assert failure.function == "same_padding"
    assert failure.case.startswith("case ") and "same_padding(" in failure.case and "\n" not in failure.case
    lines = str(failure).splitlines()
    assert failure.diagnoses and all(f"Diagnosis: {d}" in lines for d in failure.diagnoses)
    plain = CheckFailure("`f` failed on case 2 of 3:\n  x\nDiagnosis: one\nDiagnosis: two")
    assert (plain.function, plain.case, plain.diagnoses) == ("f", "case 2 of 3", ["one", "two"])


def test_a_real_kernel_shows_the_message_without_internal_frames():
    from nbclient import NotebookClient

    from convlab.course.report import _failure as report_failure

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "from convlab.grading import check_correlate1d, check_convolve1d\n"
            "import numpy as np\n"
            "def correlate1d(f, g, mode='valid'):  # reversed, on purpose\n"
            "    m = len(g)\n"
            "    fp = np.concatenate([np.zeros(m - 1), f, np.zeros(m - 1)])\n"
            "    full = np.array([fp[k : k + m] @ g for k in range(len(f) + m - 1)])\n"
            "    start = {'full': 0, 'same': (m - 1) // 2, 'valid': m - 1}[mode]\n"
            "    size = {'full': len(full), 'same': len(f), 'valid': len(f) - m + 1}[mode]\n"
            "    return full[start : start + size][::-1]"
        ),
        nbformat.v4.new_code_cell("check_correlate1d(correlate1d)"),
        nbformat.v4.new_code_cell("check_convolve1d(lambda f, g, mode='full': np.convolve(f, g, mode))"),
    ]
    NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=True).execute()
    (error,) = [o for o in nb.cells[1].outputs if o.output_type == "error"]
    assert error.ename == "CheckFailure"
    assert error.evalue.startswith("`correlate1d` failed on case ")
    text = _ANSI.sub("", "\n".join(error.traceback))
    assert text.startswith("CheckFailure: `correlate1d` failed on case ")
    assert "Diagnosis: your output is reversed" in text
    for internal in ("convlab", "site-packages", "Traceback", "File ", "running.py", "---------"):
        assert internal not in text.replace("convlab.grading", ""), internal
    assert len(error.traceback) <= MAX_LINES
    # the class report still reads the function and the diagnosis from the error output
    diagnoses, case = report_failure(nb.cells[1].outputs)
    assert case.startswith("`correlate1d` failed on case ")
    assert diagnoses and diagnoses[0].startswith("your output is reversed")
    (shortcut,) = [o for o in nb.cells[2].outputs if o.output_type == "error"]
    assert shortcut.ename == "ShortcutError" and "numpy.convolve" in shortcut.evalue
    assert "Traceback" not in _ANSI.sub("", "\n".join(shortcut.traceback))


# --------------------------------------------------------------------------- short messages


def _perturb(out, how):
    """A wrong output: zeros (or ones), a wrong shape, or one element of a tuple wrong."""
    if isinstance(out, tuple):
        if how == "tuple":
            return (*out[:-1], _perturb(out[-1], "zeros"))
        return tuple(_perturb(o, how) for o in out)
    if isinstance(out, np.ndarray):
        if how == "shape":
            return np.concatenate([out, out], axis=-1) if out.ndim else np.array([out, out])
        return np.zeros_like(out) + (1 if np.all(out == 0) else 0)
    if isinstance(out, torch.Tensor):
        if how == "shape":
            return torch.cat([out, out], -1)
        return torch.zeros_like(out) + (1 if bool((out == 0).all()) else 0)
    if isinstance(out, torch.nn.Module):
        out = copy.deepcopy(out)
        with torch.no_grad():
            for p in out.parameters():
                p.add_(1.0)
        return out
    if isinstance(out, int) and not isinstance(out, bool):
        return float(out) if how == "shape" else out + 1
    if isinstance(out, float):
        return out + 0.5
    return out


def _wrong(name, how):
    solution = SOLUTIONS[name]
    return lambda *args, **kwargs: _perturb(solution(*args, **kwargs), how)


@pytest.mark.parametrize("name", ALL_FUNCTIONS)
def test_every_message_fits_the_page(name):
    messages = 0
    for how in ("zeros", "shape", "tuple"):
        for n_random in (0, 30):
            try:
                check(name)(_wrong(name, how), n_random=n_random, seed=5)
            except ShortcutError:
                raise
            except CheckFailure as failure:
                messages += 1
                shown, text = _shown(failure), str(failure)
                assert len(shown) <= MAX_LINES, "\n".join(shown)
                assert max(len(line) for line in shown) <= WIDTH, "\n".join(shown)
                lines = text.splitlines()
                assert lines[0].startswith(f"`{name}` failed on ")
                assert sum(line.startswith("Diagnosis: ") for line in lines) <= 2
            else:
                assert how == "tuple", f"{name}: a {how} output passed"
    assert messages >= 4


def test_a_tuple_output_is_shown_whole():
    failure = _failure("conv2d_backward", _wrong("conv2d_backward", "tuple"))
    text = str(failure)
    assert "output[0]: right" in text and "output[1]: right" in text and "output[2]: " in text
    padding = str(_failure("same_padding", lambda i, k, s=1, d=1: S.same_padding(i, k, s, d)[::-1]))
    assert re.search(r"output: expected \(\d+, \d+\); received \(\d+, \d+\)", padding)


def test_four_dimensional_arrays_print_as_labelled_slices():
    x = np.arange(24.0).reshape(1, 2, 3, 4)
    lines = Shown("x", x).render(0)
    assert lines[0] == "x[0, 0]:" and "x[0, 1]:" in lines
    assert "[ 0.  1.  2.  3.]" in lines[1]
    # channels last (NHWC): slices of the (H, W) plane
    assert Shown("y", np.arange(75.0).reshape(1, 5, 5, 3)).render(0)[0] == "y[0, :, :, 0]:"
    focused = Shown("z", x, focus=(0, 1, 2, 3)).render(1)
    assert focused[0] == "z[0, 1]:" and len(focused) == 4  # only the slice holding the focus
    assert len(Shown("w", x).render(Shown.LEVELS - 1)) == 1


def test_large_arrays_are_summarised():
    big = np.arange(40_000.0).reshape(200, 200)
    lines = Shown("big", big).render(1)
    assert len(lines) <= 9 and "..." in "\n".join(lines)
    assert all(len(line) <= WIDTH for line in lines)


# --------------------------------------------------------------------------- the smallest failing case


def _double_check(cases, misconceptions=(), random=None):
    return exercise(
        "double(x, scale=2.0)",
        lambda x, scale: x * scale,
        cases,
        random,
        misconceptions,
        doc="Check ``double(x, scale=2.0)``.",
    )


def test_the_smallest_failing_case_is_reported():
    check_double = _double_check(
        [Case(np.ones(5)), Case(np.ones(3)), Case(np.ones(2)), Case(np.ones(9)), Case(np.zeros(2) + 3)]
    )
    with pytest.raises(CheckFailure) as info:
        check_double(lambda x, scale=2.0: x * scale + (len(x) != 3))
    assert info.value.case.startswith("case 3 of 5")  # size 2, declared before the other size-2 case
    with pytest.raises(CheckFailure) as info:
        check_double(lambda x, scale=2.0: x * scale + (len(x) > 3))
    assert info.value.case.startswith("case 1 of 5")  # the 9-element case is larger


def test_a_random_case_is_reported_when_it_is_the_smallest():
    check_double = _double_check([Case(np.ones(4))], random=lambda rng: Case(np.ones(1)))
    with pytest.raises(CheckFailure) as info:
        check_double(lambda x, scale=2.0: x * 0, n_random=3, seed=1)
    assert info.value.case.startswith("random case 1 of 3")


# --------------------------------------------------------------------------- defaults

_OTHER = {"full": "same", "same": "valid", "valid": "same", "SAME": "VALID"}


def _wrong_default(value):
    if value is None:
        return 1
    if isinstance(value, bool):
        return not value
    if isinstance(value, str):
        return _OTHER[value]
    return value + 1


DEFAULTS = [
    (name, p)
    for name in ALL_FUNCTIONS
    for p, param in check(name).exercise.signature.parameters.items()
    if param.default is not inspect.Parameter.empty
]


@pytest.mark.parametrize(("name", "parameter"), DEFAULTS, ids=[f"{n}-{p}" for n, p in DEFAULTS])
def test_a_wrong_default_fails(name, parameter):
    params = check(name).exercise.signature.parameters
    wrong = _wrong_default(params[parameter].default)
    head = ", ".join(f"{p}={wrong!r}" if p == parameter else str(param) for p, param in params.items())
    namespace = {"solution": SOLUTIONS[name]}
    exec(f"def {name}({head}):\n    return solution({', '.join(params)})", namespace)
    failure = _failure(name, namespace[name])
    if parameter != "b":  # a bias of 1 is not even accepted by the model answer: it fails otherwise
        lines = str(failure).splitlines()
        assert lines[1].endswith(f"— with your default for {parameter}"), str(failure)
        said = lines[2].strip()
        assert said.startswith(f"(your default is not the exercise's {parameter}="), str(failure)


def test_the_wrong_default_of_correlate1d_is_named():
    def correlate1d(f, g, mode="same"):
        return S.correlate1d(f, g, mode)

    failure = _failure("correlate1d", correlate1d)
    lines = str(failure).splitlines()
    assert lines[1] == "  called as correlate1d(f, g) — with your default for mode"
    assert lines[2].startswith("  (your default is not the exercise's mode='valid': with mode='valid' given")
    # a misconception shown with it is true of the call as made: the output is the 'same' one
    assert all("'same'" in d for d in failure.diagnoses)


def test_every_default_is_used_by_a_fixed_case():
    """Else a wrong default could pass the visible tests."""
    for name in ALL_FUNCTIONS:
        declared = check(name).exercise
        for p, param in declared.signature.parameters.items():
            if param.default is inspect.Parameter.empty:
                continue
            calls = [declared._student_call(declared.signature.bind(c)[0]) for c in declared.fixed]
            assert any(p not in call for call in calls), (name, p)


# --------------------------------------------------------------------------- diagnoses that are true


def test_a_missing_value_error_gets_only_its_diagnosis():
    def conv_output_size(i, k, s=1, p=0, d=1):
        return (i + 2 * p - d * (k - 1) - 1) // s + 1

    failure = _failure("conv_output_size", conv_output_size)
    assert failure.diagnoses == ["no `ValueError` when the kernel does not fit the padded input (i=2, k=5)"]
    assert str(failure).count("Diagnosis: ") == 1


def test_a_diagnosis_needs_the_students_output():
    hints = [M("plus one", lambda x: x + 1), M("times three", lambda x: x * 3)]
    check_double = _double_check([Case(np.array([1.0, 2.0]))], hints)
    with pytest.raises(CheckFailure) as info:
        check_double(lambda x, scale=2.0: x * 4)
    assert info.value.diagnoses == [] and "Diagnosis" not in str(info.value)


def test_at_most_two_diagnoses_the_best_first():
    hints = [M("A", lambda x: x + 2), M("B", lambda x: 2 * x + 2), M("C", lambda x: x * x + 2)]
    check_double = _double_check([Case(np.array([1.0, 2.0])), Case(np.array([0.0]))], hints)
    with pytest.raises(CheckFailure) as info:
        check_double(lambda x, scale=2.0: x * x + 2)
    # all three give 2 on the smallest case [0]; only C also gives [3, 6] on the other one
    assert info.value.case.startswith("case 2 of 2")
    assert info.value.diagnoses == ["C", "A"]
    assert [line for line in str(info.value).splitlines() if line.startswith("Diagnosis")] == [
        "Diagnosis: C",
        "Diagnosis: A",
    ]


def test_planted_bugs_keep_their_diagnosis_first():
    message = str(_failure("convolve1d", lambda f, g, mode="full": S.correlate1d(f, g, mode)))
    assert message.splitlines()[-1].startswith("Diagnosis: your output equals the correlation")
    assert grading.check_convolve1d.exercise.misconceptions  # declared, not rebuilt
