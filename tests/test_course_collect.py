"""collect: names from LMS and Colab downloads, newest wins, nothing guessed."""

import os
import zipfile
from datetime import datetime, timezone

import nbformat
import pytest

from convlab.course.collect import Candidate, collect, newest, parse_submission_name
from convlab.course.layout import Course

A = "ex01_conv1d"
OTHERS = ("ex02_conv2d", "ex03_arithmetic")


@pytest.mark.parametrize(
    ("relpath", "student", "number"),
    [
        ("alice_ex01_conv1d.ipynb", "alice", 0),
        ("ex01_conv1d_alice.ipynb", "alice", 0),
        ("alice/ex01_conv1d.ipynb", "alice", 0),
        ("alice/ex01_conv1d (1).ipynb", "alice", 1),
        ("alice/ex01_conv1d (1) (3).ipynb", "alice", 3),
        ("alice/Copy of ex01_conv1d.ipynb", "alice", 0),
        ("alice/Copy of Copy of ex01_conv1d (2).ipynb", "alice", 2),
        ("Alice Smith_1234_assignsubmission_file_/ex01_conv1d.ipynb", "Alice_Smith", 0),
        ("smithalice_12345_67890_ex01_conv1d.ipynb", "smithalice", 0),
        ("smithalice_late_12345_67890_ex01_conv1d.ipynb", "smithalice", 0),
        ("bob/EX01_CONV1D.ipynb", "bob", 0),
    ],
)
def test_names_seen_in_the_wild(relpath, student, number):
    assert parse_submission_name(relpath, A, OTHERS) == (student, number, "")


@pytest.mark.parametrize(
    ("relpath", "single", "student", "why"),
    [
        ("ex01_conv1d.ipynb", False, None, "no student id"),
        ("Untitled.ipynb", False, None, "does not contain"),
        ("carol/homework.ipynb", False, None, "does not contain"),
        ("carol/homework.ipynb", True, "carol", "renamed notebook accepted"),
        ("carol/ex03_arithmetic.ipynb", True, None, "another assignment (ex03_arithmetic)"),
    ],
)
def test_names_that_do_not_say_whose(relpath, single, student, why):
    got, _, reason = parse_submission_name(relpath, A, OTHERS, single_in_folder=single)
    assert got == student
    assert why in reason


def _t(hour):
    return datetime(2026, 3, 1, hour, tzinfo=timezone.utc)


def test_newest_wins_then_the_higher_copy_number():
    a = Candidate("s", "a", _t(9), 0, None)
    b = Candidate("s", "b", _t(10), 0, None)
    c = Candidate("s", "c", _t(10), 2, None)
    assert newest([a, b]) is b
    assert newest([c, a, b]) is c


@pytest.fixture
def course(tmp_path):
    for name in (A, *OTHERS):
        (tmp_path / "course" / "source" / name).mkdir(parents=True)
        (tmp_path / "course" / "source" / name / f"{name}.ipynb").write_text("{}")
    return Course(tmp_path / "course")


def _nb(text):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(text)]
    return nbformat.writes(nb).encode()


def _zip(path, entries):
    with zipfile.ZipFile(path, "w") as archive:
        for name, (data, when) in entries.items():
            archive.writestr(zipfile.ZipInfo(name, date_time=when), data)
    return path


def test_collect_zip_places_newest_and_reports_the_rest(course, tmp_path):
    download = _zip(
        tmp_path / "download.zip",
        {
            "alice/ex01_conv1d.ipynb": (_nb("old"), (2026, 3, 1, 9, 0, 0)),
            "alice/ex01_conv1d (1).ipynb": (_nb("new"), (2026, 3, 1, 11, 0, 0)),
            "bob_ex01_conv1d.ipynb": (_nb("bob"), (2026, 3, 1, 10, 0, 0)),
            "Untitled.ipynb": (_nb("?"), (2026, 3, 1, 10, 0, 0)),
            "__MACOSX/alice/._ex01_conv1d.ipynb": (b"junk", (2026, 3, 1, 10, 0, 0)),
        },
    )
    report = collect(course, A, download)
    got = nbformat.reads(course.submitted("alice", A).joinpath(f"{A}.ipynb").read_text(), 4)
    assert got.cells[0].source == "new"
    assert (course.submitted("bob", A) / "timestamp.txt").read_text().startswith("2026-03-01 ")
    assert sorted(report.placed) == [
        ("alice", "alice/ex01_conv1d (1).ipynb", "new"),
        ("bob", "bob_ex01_conv1d.ipynb", "new"),
    ]
    assert sorted(name for name, _ in report.unplaced) == ["Untitled.ipynb", "alice/ex01_conv1d.ipynb"]

    again = collect(course, A, download)  # safe to re-run
    assert sorted(again.placed) == [
        ("alice", "alice/ex01_conv1d (1).ipynb", "unchanged"),
        ("bob", "bob_ex01_conv1d.ipynb", "unchanged"),
    ]


def test_collect_never_replaces_a_newer_submission_with_an_older_one(course, tmp_path):
    folder = tmp_path / "hand-in" / "alice"
    folder.mkdir(parents=True)
    nb = folder / "ex01_conv1d.ipynb"
    nb.write_bytes(_nb("second"))
    os.utime(nb, (_t(12).timestamp(),) * 2)
    collect(course, A, tmp_path / "hand-in")

    nb.write_bytes(_nb("first"))
    os.utime(nb, (_t(8).timestamp(),) * 2)
    report = collect(course, A, tmp_path / "hand-in")
    assert report.placed == [("alice", "alice/ex01_conv1d.ipynb", "kept newer submission")]
    assert b"second" in (course.submitted("alice", A) / f"{A}.ipynb").read_bytes()

    nb.write_bytes(_nb("third"))
    os.utime(nb, (_t(14).timestamp(),) * 2)
    assert collect(course, A, tmp_path / "hand-in").placed == [
        ("alice", "alice/ex01_conv1d.ipynb", "updated")
    ]
    assert b"third" in (course.submitted("alice", A) / f"{A}.ipynb").read_bytes()


def test_collect_rejects_unknown_assignment_and_bad_path(course, tmp_path):
    with pytest.raises(ValueError, match="`assignment`"):
        collect(course, "ex99", tmp_path)
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ValueError, match="`path`"):
        collect(course, A, tmp_path / "notes.txt")
