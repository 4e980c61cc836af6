"""Match a submitted notebook back to the released one, cell by cell, before nbgrader sees it.

nbgrader finds test cells by the ``grade_id`` in their metadata; its ``OverwriteCells`` restores
the source of a test cell whose metadata survived, but a notebook whose cells were deleted,
turned into markdown, stripped of metadata, given another ``grade_id`` or moved around loses
those points, and one that is not valid JSON fails outright. :func:`repair_notebook` rebuilds the
nbgrader skeleton around the student's code, so that a correct student keeps every point:

1. A notebook that does not parse keeps every complete cell before the damage.
2. Each released locked cell (tests, setup) is recognised by its ``grade_id``, else by identical
   content (whitespace aside); it is put back from the source (nbgrader then restores the
   hidden tests). Everything else is the student's and is kept, code and prose.
3. The released notebook is cut into segments, one per solution cell (the solution cell and the
   test cells after it). Each student code cell goes to the segment of the *first* solution whose
   functions it defines (a cell defining two exercise functions runs before the first one's
   tests); a cell that defines none stays with the next cell that has a place (a helper runs
   before the function after it), or, with nothing after it, at the end.
4. The notebook is written segment by segment, in the released order: the student's cells of a
   segment in their own order, the first of them carrying the solution cell's metadata (an empty
   solution cell when there is none: the released stub is never put back over student code),
   then the segment's released locked cells. Later copies of a cell's ``grade_id`` run as
   ordinary cells.

Every change is reported in words an instructor can pass on to the student.
"""

from __future__ import annotations

import ast
import copy
import json
import re

import nbformat
from nbformat import NotebookNode

__all__ = ["load_submission", "repair_notebook"]

_DEF = re.compile(r"^def\s+([A-Za-z_]\w*)\s*\(", re.MULTILINE)


def _salvage_cells(text: str) -> list[dict]:
    """Complete cell objects at the start of a truncated notebook's ``"cells"`` list."""
    start = text.find('"cells"')
    start = text.find("[", start) if start >= 0 else -1
    if start < 0:
        return []
    decoder, cells, pos = json.JSONDecoder(), [], start + 1
    while True:
        while pos < len(text) and text[pos] in " \t\r\n,":
            pos += 1
        try:
            cell, pos = decoder.raw_decode(text, pos)
        except ValueError:
            return cells
        if isinstance(cell, dict):
            cells.append(cell)


def _clean_cell(raw: dict) -> NotebookNode:
    source = raw.get("source", "")
    source = "".join(source) if isinstance(source, list) else str(source)
    metadata = raw.get("metadata") if isinstance(raw.get("metadata"), dict) else {}
    kind = raw.get("cell_type")
    if kind == "code":
        return nbformat.v4.new_code_cell(source=source, metadata=metadata)
    if kind == "raw":
        return nbformat.v4.new_raw_cell(source=source, metadata=metadata)
    return nbformat.v4.new_markdown_cell(source=source, metadata=metadata)


def load_submission(data: bytes) -> tuple[NotebookNode | None, list[str]]:
    """Parse a submitted notebook, salvaging what a truncated or damaged file still holds.

    Returns the notebook (or None when nothing could be read) and notes on what was lost.
    """
    notes = []
    text = data.decode("utf-8", errors="replace")
    try:
        raw = json.loads(text)
        if not isinstance(raw, dict) or not isinstance(raw.get("cells"), list):
            raise ValueError("no list of cells")
        cells = [c for c in raw["cells"] if isinstance(c, dict)]
    except ValueError as error:
        cells = _salvage_cells(text)
        notes.append(
            f"the notebook is not valid JSON ({str(error).split(':')[0]}); "
            f"{len(cells)} complete cells were recovered"
        )
        if not cells:
            return None, notes
    nb = nbformat.v4.new_notebook()
    nb.cells = [_clean_cell(c) for c in cells]
    return nb, notes


def _norm(source: str) -> str:
    return "\n".join(line.strip() for line in source.strip().splitlines() if line.strip())


def _meta(cell) -> dict:
    meta = cell.get("metadata", {}).get("nbgrader")
    return meta if isinstance(meta, dict) else {}


def _kind(meta: dict, cell_type: str) -> str:
    if meta.get("solution"):
        return "solution cell"
    if meta.get("grade") and cell_type == "code":
        return "test cell"
    return "cell"


def _defined(cell) -> set[str]:
    """Names of the functions a code cell defines at its top level."""
    if cell.get("cell_type") != "code":
        return set()
    try:
        tree = ast.parse(cell.source)
    except SyntaxError:  # unfinished code: its ``def`` lines still say what it means to define
        return set(_DEF.findall(cell.source))
    return {node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}


class _Released:
    """The released notebook cut into segments: segment 0 before the first solution cell, segment
    ``j`` the ``j``-th solution cell and the cells after it up to the next one."""

    def __init__(self, released: NotebookNode) -> None:
        self.refs, self.segment, self.solutions = {}, {}, []
        self.free = [c for c in released.cells if not _meta(c).get("grade_id")]  # prose, examples
        for cell in released.cells:
            gid = _meta(cell).get("grade_id")
            if _meta(cell).get("solution") and gid:
                self.solutions.append(gid)
            if gid and gid not in self.refs:
                self.refs[gid] = cell
                self.segment[gid] = len(self.solutions)
        self.functions = {gid: _defined(self.refs[gid]) for gid in self.solutions}

    def is_solution(self, gid: str) -> bool:
        return bool(_meta(self.refs[gid]).get("solution"))

    def kind(self, gid: str) -> str:
        return _kind(_meta(self.refs[gid]), self.refs[gid].cell_type)

    def slot(self, cell) -> int | None:
        """The segment of the first solution whose functions ``cell`` defines, if any."""
        names = _defined(cell)
        hits = [n for n, gid in enumerate(self.solutions, 1) if names & self.functions[gid]]
        return hits[0] if hits else None


def _recognise(cells: list, rel: _Released) -> tuple[list, list[str]]:
    """Step 2: for each submitted cell, the released locked cell it is (a grade_id) or None."""
    claimed, notes, stripped = {}, [], []
    owner: list[str | None] = [None] * len(cells)
    for i, cell in enumerate(cells):  # metadata that still names a released cell
        gid = _meta(cell).get("grade_id")
        if gid in rel.refs and gid in claimed:
            notes.append(f"{rel.kind(gid)} {gid} appears twice; the later copy ran as an ordinary cell")
        elif gid in rel.refs:
            claimed[gid], owner[i] = i, gid
    for i, cell in enumerate(cells):  # content, for cells whose metadata is gone or changed
        text = _norm(cell.source)
        if owner[i] is not None or not text:
            continue
        gid = next(
            (
                g
                for g, ref in rel.refs.items()
                if g not in claimed and not rel.is_solution(g) and text == _norm(ref.source)
            ),
            None,
        )
        if gid is None:
            continue
        claimed[gid], owner[i] = i, gid
        old = _meta(cell).get("grade_id")
        if old:
            notes.append(f"{rel.kind(gid)} {gid}: its grade_id was changed to {old!r}; matched by content")
        else:
            stripped.append(gid)
    return owner, notes, stripped


def _place(cells: list, owner: list, rel: _Released) -> list[int | None]:
    """Step 3: the segment of every submitted cell (None: after everything)."""
    place: list[int | None] = [None] * len(cells)
    for i, cell in enumerate(cells):
        gid = owner[i]
        if gid is not None and not rel.is_solution(gid):
            place[i] = rel.segment[gid]
        elif cell.cell_type == "code" and (rel.slot(cell) or (gid and rel.segment[gid])):
            place[i] = rel.slot(cell) or rel.segment[gid]
    following = None
    for i in reversed(range(len(cells))):  # cells with no place go with the next one that has one
        if place[i] is None:
            place[i] = following
        else:
            following = place[i]
    return place


def _solution_cell(cell, gid: str, rel: _Released) -> NotebookNode:
    ref = rel.refs[gid]
    new = _clean_cell(
        {"cell_type": "code", "source": cell.source if cell is not None else "", "metadata": {}}
    )
    if cell is not None:
        new.metadata.update({k: v for k, v in cell.metadata.items() if k != "nbgrader"})
    new.metadata["nbgrader"] = copy.deepcopy(_meta(ref))
    return new


def _restored(cell, gid: str, rel: _Released, notes: list[str]) -> NotebookNode:
    """A released locked cell put back from the source, with the student's other metadata."""
    ref = rel.refs[gid]
    if cell.cell_type != ref.cell_type:
        notes.append(
            f"{rel.kind(gid)} {gid} had been turned into {cell.cell_type}; restored as {ref.cell_type}"
        )
    if _meta(ref).get("locked") and _norm(cell.source) != _norm(ref.source):
        notes.append(f"{rel.kind(gid)} {gid} was edited; restored from the source")
    source = ref.source if _meta(ref).get("locked") else cell.source
    new = _clean_cell({"cell_type": ref.cell_type, "source": source, "metadata": copy.deepcopy(ref.metadata)})
    new.metadata.update({k: v for k, v in cell.metadata.items() if k != "nbgrader"})
    new.metadata["nbgrader"] = copy.deepcopy(_meta(ref))
    return new


def _ordinary(cell) -> NotebookNode:
    cell.metadata.pop("nbgrader", None)
    return cell


def _anchors(mine: list[int], locked: dict, slotted: set[int]) -> dict[int, str | None]:
    """For each unplaced cell of a segment, the locked cell it goes before (None: the code part)."""
    owner_of = {i: gid for gid, i in locked.items()}
    anchor, following = {}, None
    for i in reversed(mine):
        if i in owner_of:
            following = owner_of[i]
        elif i in slotted:
            following = None
        else:
            anchor[i] = following
    return anchor


def _carrier(mine, slotted, anchor, locked, gid, cells, owner, rel: _Released):
    """The cell that gets the solution metadata: the one with its grade_id, else the first that
    defines its functions, else the last code cell standing before the segment's tests (by
    position: the stub left as ``pass`` while the function was written elsewhere)."""
    if gid is None:
        return None
    with_id = [i for i in mine if owner[i] == gid]
    if with_id or slotted:
        return (with_id or sorted(slotted))[0]
    first_test = min(locked.values(), default=None)
    free = {_norm(c.source) for c in rel.free}
    before = [
        i
        for i in mine
        if anchor.get(i, 0) is not None
        and cells[i].cell_type == "code"
        and (first_test is None or i < first_test)
        and _norm(cells[i].source) not in free
    ]
    return before[-1] if before else None


def _segment(j: int, cells, owner, place, rel: _Released, notes: list[str], order: list[int]) -> list:
    """Step 4 for one segment: the student's code (one cell carrying the solution metadata), then
    the released locked cells, each after the student's cells that stood just before it."""
    mine = [i for i in range(len(cells)) if place[i] == j]
    locked = {owner[i]: i for i in mine if owner[i] is not None and not rel.is_solution(owner[i])}
    gid = rel.solutions[j - 1] if j else None
    slotted = {i for i in mine if i not in locked.values() and rel.slot(cells[i]) == j}
    slotted |= {i for i in mine if owner[i] == gid and gid is not None}
    anchor = _anchors(mine, locked, slotted)
    carrier = _carrier(mine, slotted, anchor, locked, gid, cells, owner, rel)

    def emit(i: int) -> NotebookNode:
        order.append(i)
        return _solution_cell(cells[i], gid, rel) if i == carrier else _ordinary(cells[i])

    out = [emit(i) for i in mine if i in slotted or anchor.get(i, 0) is None]
    if gid is not None and carrier is None:
        out.append(_solution_cell(None, gid, rel))
        moved = any(_meta(c).get("grade_id") == gid for c in cells)
        what = "its code runs before the tests of the functions it defines" if moved else "it was missing"
        notes.append(f"solution cell {gid}: {what}; an empty one was put in its place")
    elif carrier is not None and owner[carrier] != gid and _meta(cells[carrier]).get("grade_id"):
        old = _meta(cells[carrier])["grade_id"]
        notes.append(f"solution cell {gid}: its grade_id was changed to {old!r}; matched by content")
    for ref_id in rel.refs:
        if rel.segment[ref_id] != j or rel.is_solution(ref_id):
            continue
        out += [emit(i) for i in mine if anchor.get(i, 0) == ref_id]
        if ref_id in locked:
            out.append(_restored(cells[locked[ref_id]], ref_id, rel, notes))
        else:
            out.append(_clean_cell(copy.deepcopy(dict(rel.refs[ref_id]))))
            notes.append(f"{rel.kind(ref_id)} {ref_id} was missing; restored from the source")
    return out


def repair_notebook(submitted: NotebookNode, released: NotebookNode) -> tuple[NotebookNode, list[str]]:
    """Give ``submitted`` back the nbgrader cells of ``released``; see the module docstring.

    Returns the repaired notebook (a copy) and the notes on each change.
    """
    rel = _Released(released)
    cells = [copy.deepcopy(c) for c in submitted.cells]
    owner, notes, stripped = _recognise(cells, rel)  # 2. the released locked cells
    if stripped:
        names = ", ".join(stripped)
        notes.append(f"nbgrader metadata was missing on {len(stripped)} cells ({names}); matched by content")
    place = _place(cells, owner, rel)  # 3. a segment for every cell
    out, order = [], []
    for j in range(len(rel.solutions) + 1):  # 4. segment by segment, in the released order
        out += _segment(j, cells, owner, place, rel, notes, order)
    out += [_ordinary(cells[i]) for i in range(len(cells)) if place[i] is None]
    elsewhere = [i for i, g in enumerate(owner) if g in rel.functions and place[i] != rel.segment[g]]
    if order != sorted(order) or elsewhere:
        notes.append("cells were moved so that each function's code runs before its tests")
    repaired = copy.deepcopy(released)
    repaired.cells = out
    return repaired, notes
