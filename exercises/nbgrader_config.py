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
    "python": (
        '# YOUR CODE HERE\nraise NotImplementedError("write this function, then run the test cell below")'
    )
}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Autograding: a generous per-cell timeout; a cell that raises is marked wrong, grading goes on.
c.Execute.timeout = 120
c.Execute.interrupt_on_timeout = True
