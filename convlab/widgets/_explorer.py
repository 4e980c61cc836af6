"""The part every explorer shares: controls on the left, a summary beside them, a figure below.

An explorer subclass builds its controls, then says what to compute from their values
(:meth:`Explorer._compute`, one of the ``*_state`` functions), which lines of HTML to show
(:meth:`Explorer._rows`) and which figure to draw (:meth:`Explorer._figure`). Changing any control
recomputes all three.
"""

from __future__ import annotations

import io

from convlab.viz.palettes import PALETTE

__all__: list[str] = []  # private module: the explorers are exported by their own modules

_IMPOSSIBLE = "<b style='color:" + PALETTE["impossible"] + "'>impossible: {}</b>"


def escape(text: str) -> str:
    """``text`` safe inside HTML."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def impossible(message: str) -> str:
    """The summary line of a combination that has no output."""
    return _IMPOSSIBLE.format(escape(message))


def int_slider(value: int, lo: int, hi: int, description: str, width: str = "8em"):
    """An integer slider that updates on release."""
    import ipywidgets as widgets

    return widgets.IntSlider(
        value=value, min=lo, max=hi, description=description, continuous_update=False,
        style={"description_width": width},
    )  # fmt: skip


def figure_png(fig) -> bytes:
    """PNG bytes of ``fig``, which is closed afterwards."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()


class Explorer:
    """Controls, a summary (:class:`ipywidgets.HTML`), an image and the last computed state.

    Attributes
    ----------
    controls : dict
        The ipywidgets controls, by name.
    summary : ipywidgets.HTML
    image : ipywidgets.Image
        PNG of the figure (empty when there is none).
    widget : ipywidgets.VBox
        The whole explorer; displaying the explorer displays it.
    state : dict
        The last state computed.
    """

    def __init__(self, controls: dict) -> None:
        import ipywidgets as widgets

        self.controls = controls
        self.summary = widgets.HTML()
        self.image = widgets.Image(format="png")
        self.state: dict = {}
        self._updating = False
        for control in controls.values():
            control.observe(self.update, names="value")
        left = widgets.VBox(list(controls.values()))
        self.widget = widgets.VBox([widgets.HBox([left, self.summary]), self.image])
        self.update()

    def update(self, change=None) -> dict:
        """Recompute the state from the controls and refresh the text and the figure."""
        if self._updating:  # a control being refilled by _refresh_controls
            return self.state
        values = {name: control.value for name, control in self.controls.items()}
        self.state = st = self._compute(values)
        self._updating = True
        try:
            self._refresh_controls(st, values)
        finally:
            self._updating = False
        self.summary.value = "<div style='padding-left:1em'>" + "<br>".join(self._rows(st)) + "</div>"
        fig = self._figure(st, values) if st["valid"] else None
        self.image.value = b"" if fig is None else figure_png(fig)
        return st

    def _compute(self, values: dict) -> dict:
        raise NotImplementedError

    def _rows(self, state: dict) -> list[str]:
        raise NotImplementedError

    def _figure(self, state: dict, values: dict):
        """The figure for a valid state, or None for none."""
        return None

    def _refresh_controls(self, state: dict, values: dict) -> None:
        """Adjust controls to the new state (their changes do not trigger another update)."""

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)
