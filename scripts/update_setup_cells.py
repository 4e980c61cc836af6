"""Rewrite the setup cell (the first code cell) of every chapter and exercise notebook.

The cell installs the course package from ``repository.url`` at ``repository.branch`` of
``_config.yml``; after changing those (a fork), run

    .venv/bin/python scripts/update_setup_cells.py && .venv/bin/convlab-course release

(``release`` regenerates the student copies, whose locked setup cell carries a checksum).
``tests/test_notebook_hygiene.py`` holds the canonical text and fails until the cells agree.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from test_notebook_hygiene import SETUP_CELL, STUDENT_NOTEBOOKS  # noqa: E402


def main() -> None:
    sources = sorted((ROOT / "exercises" / "source").glob("*/*.ipynb"))
    for path in [*STUDENT_NOTEBOOKS, *sources]:
        nb = json.loads(path.read_text())
        cell = next(c for c in nb["cells"] if c["cell_type"] == "code")
        cell["source"] = SETUP_CELL.splitlines(keepends=True)
        tags = cell["metadata"].setdefault("tags", [])
        if "hide-cell" not in tags:
            tags.append("hide-cell")
        path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
        print(path.relative_to(ROOT))


if __name__ == "__main__":
    main()
