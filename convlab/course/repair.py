"""Match a submitted notebook back to the released one, cell by cell, before nbgrader sees it.

nbgrader finds test cells by the ``grade_id`` in their metadata; its ``OverwriteCells`` restores
the source of a test cell whose metadata survived, but a notebook whose cells were deleted,
turned into markdown, stripped of metadata or given another ``grade_id`` loses those points, and
one that is not valid JSON fails outright. :func:`repair_notebook` rebuilds the nbgrader skeleton:

1. A notebook that does not parse keeps every complete cell before the damage.
2. Each released cell with a ``grade_id`` is claimed by the first submitted cell carrying that
   id; then, for cells whose metadata is gone or changed, by identical content (whitespace
   aside) or, for solution cells, by the functions the cell defines.
3. Claimed cells get the released cell type and nbgrader metadata back; test and other locked
   cells get the released source (nbgrader then puts the hidden tests back); solution cells keep
   the student's code. Later copies of a claimed cell run as ordinary cells.
4. Released cells that nothing claimed are inserted after their released predecessor.

Every change is reported in words an instructor can pass on to the student.
"""

from __future__ import annotations

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


def repair_notebook(submitted: NotebookNode, released: NotebookNode) -> tuple[NotebookNode, list[str]]:
    """Give ``submitted`` back the nbgrader cells of ``released``; see the module docstring.

    Returns the repaired notebook (a copy) and the notes on each change.
    """
    refs = {}
    for cell in released.cells:
        gid = _meta(cell).get("grade_id")
        if gid:
            refs[gid] = cell
    cells = [copy.deepcopy(c) for c in submitted.cells]
    owner: list[str | None] = [None] * len(cells)
    claimed: dict[str, int] = {}
    notes = []

    for i, cell in enumerate(cells):  # 1. metadata that still names a released cell
        gid = _meta(cell).get("grade_id")
        if gid in refs and gid not in claimed:
            claimed[gid], owner[i] = i, gid
        elif gid in refs:
            kind = _kind(_meta(refs[gid]), refs[gid].cell_type)
            notes.append(f"{kind} {gid} appears twice; the later copy ran as an ordinary cell")

    stripped = []
    for i, cell in enumerate(cells):  # 2. content, or the functions a solution defines
        if owner[i] is not None:
            continue
        text, defined = _norm(cell.source), set(_DEF.findall(cell.source))
        for gid, ref in refs.items():
            if gid in claimed:
                continue
            wanted = set(_DEF.findall(ref.source))
            if (text and text == _norm(ref.source)) or (
                _meta(ref).get("solution") and wanted and wanted <= defined
            ):
                claimed[gid], owner[i] = i, gid
                old = _meta(cell).get("grade_id")
                if old:
                    kind = _kind(_meta(ref), ref.cell_type)
                    notes.append(f"{kind} {gid}: its grade_id was changed to {old!r}; matched by content")
                else:
                    stripped.append(gid)
                break
    if stripped:
        names = ", ".join(stripped)
        notes.append(f"nbgrader metadata was missing on {len(stripped)} cells ({names}); matched by content")

    out = []
    for i, cell in enumerate(cells):  # 3. the released type, metadata and (locked) source
        gid = owner[i]
        if gid is None:
            cell.metadata.pop("nbgrader", None)
            out.append(cell)
            continue
        ref, meta = refs[gid], _meta(refs[gid])
        kind = _kind(meta, ref.cell_type)
        if cell.cell_type != ref.cell_type:
            notes.append(f"{kind} {gid} had been turned into {cell.cell_type}; restored as {ref.cell_type}")
        locked = meta.get("locked") and not meta.get("solution")
        source = ref.source if locked else cell.source
        if locked and _norm(cell.source) != _norm(ref.source):
            notes.append(f"{kind} {gid} was edited; restored from the source")
        new = _clean_cell(
            {"cell_type": ref.cell_type, "source": source, "metadata": copy.deepcopy(ref.metadata)}
        )
        new.metadata.update({k: v for k, v in cell.metadata.items() if k != "nbgrader"})
        new.metadata["nbgrader"] = copy.deepcopy(meta)
        out.append(new)

    order = list(refs)  # 4. released cells nothing claimed, after their released predecessor
    for n, gid in enumerate(order):
        if gid in claimed:
            continue
        ref = refs[gid]
        where = 0
        for previous in reversed(order[:n]):
            hits = [k for k, c in enumerate(out) if _meta(c).get("grade_id") == previous]
            if hits:
                where = hits[0] + 1
                break
        out.insert(where, _clean_cell(copy.deepcopy(dict(ref))))
        claimed[gid] = where
        what = "the released stub was put back" if _meta(ref).get("solution") else "restored from the source"
        notes.append(f"{_kind(_meta(ref), ref.cell_type)} {gid} was missing; {what}")

    repaired = copy.deepcopy(released)
    repaired.cells = out
    return repaired, notes
