"""nbgrader configuration of the convlab course (run nbgrader from this directory).

The course directory is this folder: ``source/`` holds the instructor notebooks (solutions and
hidden tests), ``release/`` the student notebooks generated from them, and ``submitted/``,
``autograded/`` and ``feedback/`` are created by grading (they are not committed).
"""

from pathlib import Path

c = get_config()  # noqa: F821 - provided by nbgrader when it loads this file

HERE = Path(__file__).resolve().parent

c.CourseDirectory.course_id = "convlab"
c.CourseDirectory.root = str(HERE)
c.CourseDirectory.db_url = f"sqlite:///{HERE / 'gradebook.db'}"
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback"]

# What a student finds in place of a solution: a stub that fails loudly when run.
c.ClearSolutions.code_stub = {
    "python": ('# YOUR CODE HERE\nraise NotImplementedError("write this function, then run its test cell")')
}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Autograding: a generous per-cell timeout; a cell that raises is marked wrong, grading goes on.
c.Execute.timeout = 120
c.Execute.interrupt_on_timeout = True

# The course's safeguards, for an instructor who runs nbgrader itself (``nbgrader autograde``,
# formgrader on a JupyterHub) instead of ``convlab-course`` (which sets these and more itself):
# - SandboxedExecute: before each test cell, re-imports convlab and numpy.testing and rebinds the
#   check names, so a solution cell that monkeypatches the checks patches nothing the tests use;
#   it also caps each cell's output and replaces a kernel that dies, and goes on;
# - HideStderr/RestoreStderr: nbgrader scores a test cell 0 when it wrote anything to stderr (a
#   warning); they hide such streams from the scoring and put them back for the feedback;
# - HideHiddenTests: feedback without the hidden test code or the grading seed.
# What only convlab-course adds: per-notebook time and memory limits, parallel workers, repair of
# damaged notebooks, isolation of each kernel and the class report (see the instructor guide).
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor  # noqa: E402
from nbgrader.preprocessors import GetGrades  # noqa: E402

from convlab.course.feedback import HideHiddenTests  # noqa: E402
from convlab.course.sandbox import autograde_preprocessors  # noqa: E402

c.Autograde.autograde_preprocessors = autograde_preprocessors()
c.GenerateFeedback.preprocessors = [HideHiddenTests, GetGrades, CSSHTMLHeaderPreprocessor]
