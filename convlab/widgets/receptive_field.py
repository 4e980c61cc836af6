"""Receptive-field explorer: type a layer stack, see its field, jump and output size layer by layer.

:func:`receptive_field_state` parses a stack written as text (one ``kernel, stride, padding,
dilation`` layer per line, optionally named: ``conv1: 3, 1, 1, 1``) and computes every row of the
table with :mod:`convlab.arithmetic`; it never raises for a bad stack, it reports it.
:func:`receptive_field_explorer` wraps it in ipywidgets. On the static website the chapter shows
:func:`convlab.viz.receptive_field_figure` beside it, which draws the same thing.
"""

from __future__ import annotations

import io
import re

from convlab._validate import check_int

__all__ = [
    "RECEPTIVE_FIELD_PRESETS",
    "receptive_field_state",
    "ReceptiveFieldExplorer",
    "receptive_field_explorer",
]


def _vgg16(first_padding: int = 1, fc: bool = False) -> str:
    rows, block = [], 1
    for convs in (2, 2, 3, 3, 3):
        for c in range(convs):
            p = first_padding if (block, c) == (1, 0) else 1
            rows.append(f"conv{block}_{c + 1}: 3, 1, {p}, 1")
        rows.append(f"pool{block}: 2, 2, 0, 1")
        block += 1
    if fc:
        rows += ["fc6: 7, 1, 0, 1", "fc7: 1, 1, 0, 1"]
    return "\n".join(rows)


#: Stacks the explorer offers, written in the explorer's text format.
RECEPTIVE_FIELD_PRESETS: dict[str, str] = {
    "VGG-16 to pool5": _vgg16(),
    "FCN-32s to fc7 (conv1_1 padded by 100)": _vgg16(first_padding=100, fc=True),
    "three 3x3 convolutions": "\n".join(f"conv{n}: 3, 1, 1, 1" for n in (1, 2, 3)),
    "3x3 convolutions dilated 1, 2, 4, 8": "\n".join(f"conv_d{d}: 3, 1, {d}, {d}" for d in (1, 2, 4, 8)),
    "3x3 stride-2 convolutions": "\n".join(f"conv{n}: 3, 2, 1, 1" for n in (1, 2, 3, 4)),
}

_LINE = re.compile(r"^\s*(?:([^:]+?)\s*:)?\s*(-?\d+)\s*[, ]\s*(-?\d+)\s*[, ]\s*(-?\d+)\s*[, ]\s*(-?\d+)\s*$")


def receptive_field_state(spec: str, input_size: int = 224) -> dict:
    """Everything the receptive-field explorer shows, for one stack and input size.

    Parameters
    ----------
    spec : str
        One layer per line, ``kernel, stride, padding, dilation`` (commas or spaces), optionally
        prefixed by a name and a colon; blank lines and lines starting with ``#`` are skipped.
    input_size : int
        Height and width of the input image, for the output size of every layer.

    Returns
    -------
    dict
        ``valid`` (bool); ``message`` (why the stack is impossible, else ``""``); ``layers``
        (the parsed ``(k, s, p, d)`` tuples); ``names``; ``rows``: one dict per layer with
        ``name, k, s, p, d`` and ``output_size`` (from
        :func:`convlab.arithmetic.conv_output_size`, ``None`` once the input no longer
        fits), ``size``, ``jump``, ``start`` (from :func:`convlab.arithmetic.receptive_field`).

    Raises
    ------
    TypeError
        If ``spec`` is not a string or ``input_size`` is not an integer (a bad *stack* never
        raises: it is reported in ``message``).

    See Also
    --------
    convlab.arithmetic.receptive_field, convlab.viz.receptive_field_figure

    Examples
    --------
    >>> state = receptive_field_state(RECEPTIVE_FIELD_PRESETS["VGG-16 to pool5"])
    >>> last = state["rows"][-1]
    >>> last["name"], last["size"], last["jump"], last["output_size"]
    ('pool5', 212, 32, 7)
    >>> receptive_field_state("3, 1, 1")["message"]
    "line 1 must be 'kernel, stride, padding, dilation' (an optional 'name:' first); got '3, 1, 1'"
    """
    from convlab.arithmetic import conv_output_size, receptive_field

    if not isinstance(spec, str):
        raise TypeError(f"`spec` must be a string; got {type(spec).__name__}")
    input_size = check_int(input_size, "input_size")
    state: dict = {"valid": False, "message": "", "layers": [], "names": [], "rows": []}
    for number, line in enumerate(spec.splitlines(), start=1):
        if not line.strip() or line.strip().startswith("#"):
            continue
        match = _LINE.match(line)
        if match is None:
            state["message"] = (
                f"line {number} must be 'kernel, stride, padding, dilation' "
                f"(an optional 'name:' first); got {line.strip()!r}"
            )
            return state
        name, *values = match.groups()
        state["layers"].append(tuple(int(v) for v in values))
        state["names"].append(name or f"layer {len(state['layers'])}")
    if not state["layers"]:
        state["message"] = "the stack is empty: write one layer per line"
        return state
    if input_size < 1:
        state["message"] = f"`input_size` must be a positive integer; got input_size={input_size}"
        return state
    try:
        receptive_field(state["layers"])
    except (TypeError, ValueError) as exc:
        state["message"] = str(exc)
        return state
    size: int | None = input_size
    for n, (name, layer) in enumerate(zip(state["names"], state["layers"], strict=True)):
        field = receptive_field(state["layers"][: n + 1])
        if size is not None:
            try:
                size = conv_output_size(size, *layer)
            except ValueError:
                size = None
        k, s, p, d = layer
        state["rows"].append(
            {"name": name, "k": k, "s": s, "p": p, "d": d, "output_size": size, **field._asdict()}
        )
    state["valid"] = True
    return state


class ReceptiveFieldExplorer:
    """A preset menu, an editable stack, an input-size slider, and what the state says.

    Attributes
    ----------
    controls : dict
        ``preset`` dropdown, ``spec`` text area, ``input_size`` slider.
    table : ipywidgets.HTML
        One row per layer: name, ``(k, s, p, d)``, output size, field size, jump, centre of cell 0.
    image : ipywidgets.Image
        PNG of :func:`convlab.viz.receptive_field_figure` (empty for an impossible stack).
    widget : ipywidgets.VBox
        The whole explorer; displaying the explorer displays it.
    state : dict
        The last :func:`receptive_field_state`.
    """

    def __init__(self, preset: str = "VGG-16 to pool5", input_size: int = 224) -> None:
        import ipywidgets as widgets

        if preset not in RECEPTIVE_FIELD_PRESETS:
            raise ValueError(
                f"`preset` must be one of {sorted(RECEPTIVE_FIELD_PRESETS)}; got preset={preset!r}"
            )
        self.controls = {
            "preset": widgets.Dropdown(
                options=list(RECEPTIVE_FIELD_PRESETS), value=preset, description="stack"
            ),
            "spec": widgets.Textarea(
                value=RECEPTIVE_FIELD_PRESETS[preset], rows=10,
                description="k, s, p, d", layout={"width": "22em"},
            ),
            "input_size": widgets.IntSlider(
                value=input_size, min=1, max=1024, description="input size", continuous_update=False
            ),
        }  # fmt: skip
        self.table = widgets.HTML()
        self.image = widgets.Image(format="png")
        self.state: dict = {}
        self.controls["preset"].observe(self._load_preset, names="value")
        self.controls["spec"].observe(self.update, names="value")
        self.controls["input_size"].observe(self.update, names="value")
        left = widgets.VBox(list(self.controls.values()))
        self.widget = widgets.VBox([widgets.HBox([left, self.table]), self.image])
        self.update()

    def _load_preset(self, change=None) -> None:
        self.controls["spec"].value = RECEPTIVE_FIELD_PRESETS[self.controls["preset"].value]

    def update(self, change=None) -> dict:
        """Recompute the state from the controls and refresh the table and the figure."""
        self.state = receptive_field_state(self.controls["spec"].value, self.controls["input_size"].value)
        st = self.state
        if not st["valid"]:
            self.table.value = f"<b style='color:#b22222'>impossible: {_escape(st['message'])}</b>"
            self.image.value = b""
            return st
        head = "".join(
            f"<th>{h}</th>" for h in ("layer", "k, s, p, d", "output", "field", "jump", "centre 0")
        )
        body = "".join(
            f"<tr><td>{_escape(r['name'])}</td><td>{r['k']}, {r['s']}, {r['p']}, {r['d']}</td>"
            f"<td>{'—' if r['output_size'] is None else r['output_size']}</td>"
            f"<td>{r['size']}</td><td>{r['jump']}</td><td>{r['start']:g}</td></tr>"
            for r in st["rows"]
        )
        self.table.value = f"<table style='margin-left:1em'><tr>{head}</tr>{body}</table>"
        self.image.value = self._figure_png()
        return st

    def _figure_png(self) -> bytes:
        from convlab.viz.receptive_field import receptive_field_figure

        fig = receptive_field_figure(
            self.state["layers"], self.state["names"], input_size=self.controls["input_size"].value, dpi=72
        )
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
        return buffer.getvalue()

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def receptive_field_explorer(
    preset: str = "VGG-16 to pool5", input_size: int = 224
) -> ReceptiveFieldExplorer:
    """An ipywidgets explorer of the receptive field of a layer stack.

    A menu of stacks (``RECEPTIVE_FIELD_PRESETS``), a text area to edit the stack, and an
    input-size slider; it shows a table of every layer's output size, field size, jump and
    centre of cell 0, and :func:`convlab.viz.receptive_field_figure`, recomputed on every change
    through :func:`receptive_field_state`.

    Parameters
    ----------
    preset : str
        Initial stack, a key of ``RECEPTIVE_FIELD_PRESETS``.
    input_size : int
        Initial input size (1 to 1024).

    Returns
    -------
    ReceptiveFieldExplorer
        Display it in a notebook (it displays its ``widget``).

    Raises
    ------
    ValueError
        If ``preset`` is unknown.
    TraitError
        If ``input_size`` lies outside the slider's range.

    See Also
    --------
    receptive_field_state : what it shows, as a plain function.

    Notes
    -----
    The field follows :math:`r_l = r_{l-1} + d(k-1)\\,j_{l-1}`, :math:`j_l = s\\,j_{l-1}`.

    Examples
    --------
    >>> explorer = receptive_field_explorer()
    >>> explorer.controls["preset"].value = "three 3x3 convolutions"
    >>> [row["size"] for row in explorer.state["rows"]]
    [3, 5, 7]
    """
    return ReceptiveFieldExplorer(preset, input_size)
