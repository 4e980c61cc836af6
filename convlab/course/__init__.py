"""Instructor tooling for the course's nbgrader assignments: the ``convlab-course`` command.

nbgrader does the grading; this package drives it headlessly and adds what a real class needs:

==================================  ================================================================
:mod:`convlab.course.layout`        the nbgrader course directory, its configuration and gradebook
:mod:`convlab.course.release`       student versions, and a check that solutions pass and stubs fail
:mod:`convlab.course.collect`       LMS / Colab downloads into ``submitted/<student>/<assignment>/``
:mod:`convlab.course.repair`        submitted notebooks matched back to the source, cell by cell
:mod:`convlab.course.sandbox`       the kernel's limits and environment, and a resilient executor
:mod:`convlab.course.forkserver`    kernels forked from a process that imported the libraries once
:mod:`convlab.course.runner`        a grading worker: one submission at a time in a scratch course
:mod:`convlab.course.autograde`     the parallel run, merged serially into the gradebook
:mod:`convlab.course.feedback`      per-student HTML without hidden test code
:mod:`convlab.course.export`        one CSV row per student and assignment
:mod:`convlab.course.cli`           the command line
==================================  ================================================================

Nothing under ``submitted/`` is ever written except by ``collect``, and every command is safe to
run again. The instructor guide (``chapters/instructor_guide.md``) describes the workflow.
"""

from __future__ import annotations

__all__: list[str] = []
