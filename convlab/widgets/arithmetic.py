"""Convolution-arithmetic explorer: output size, formula, torch call and window positions.

:func:`arithmetic_state` computes everything the explorer shows from ``(i, k, s, p, d)`` with
:mod:`convlab.arithmetic`, and never raises for an impossible combination: it reports it.
:func:`arithmetic_explorer` wraps it in ipywidgets sliders. On the static website the chapter shows
:func:`convlab.viz.window_positions_figure` beside it, which draws the same thing.
"""

from __future__ import annotations

from convlab._validate import check_int
from convlab.arithmetic import _extent
from convlab.widgets._explorer import Explorer, impossible, int_slider

__all__ = ["arithmetic_state", "dumoulin_visin_case", "ArithmeticExplorer", "arithmetic_explorer"]


def dumoulin_visin_case(i: int, k: int, s: int = 1, p: int = 0, d: int = 1) -> str:
    """Name the case of Dumoulin & Visin's guide that a convolution ``(i, k, s, p, d)`` falls in.

    Parameters
    ----------
    i, k, s, p, d : int
        Input size, kernel size, stride, padding, dilation (the combination must be valid).

    Returns
    -------
    str
        E.g. ``"half (same) padding, unit strides"``; ``"dilated, ..."`` when ``d > 1`` (the case
        of the effective kernel :math:`d(k-1)+1`); ``"..., odd: a = (i+2p-k) mod s = 1"`` when the
        stride does not divide :math:`i + 2p - k`.

    Raises
    ------
    TypeError, ValueError
        As :func:`convlab.arithmetic.conv_output_size`.

    See Also
    --------
    convlab.viz.arithmetic_cases_figure : the figure of these cases.

    Notes
    -----
    Half padding is :math:`p = \\lfloor k/2 \\rfloor` for odd :math:`k` (output size :math:`i`), full
    padding is :math:`p = k - 1` (output size :math:`i + k - 1`).

    Examples
    --------
    >>> dumoulin_visin_case(5, 3, p=1)
    'half (same) padding, unit strides'
    >>> dumoulin_visin_case(6, 3, s=2, p=1)
    'padding, non-unit strides, odd: a = (i+2p-k) mod s = 1'
    """
    from convlab.arithmetic import conv_output_size, transposed_equivalent

    conv_output_size(i, k, s, p, d)  # validates
    span = _extent(k, d)
    if s == 1:
        if p == 0:
            name = "no padding, unit strides"
        elif span % 2 == 1 and p == span // 2:
            name = "half (same) padding, unit strides"
        elif p == span - 1:
            name = "full padding, unit strides"
        else:
            name = "arbitrary padding, unit strides"
    else:
        name = "no padding, non-unit strides" if p == 0 else "padding, non-unit strides"
        a = transposed_equivalent(i, k, s, p, d).a
        if a:
            name += f", odd: a = (i+2p-k) mod s = {a}"
    return f"dilated, {name}" if d > 1 else name


def arithmetic_state(
    i: int, k: int, s: int = 1, p: int = 0, d: int = 1, transposed: bool = False, output_padding: int = 0
) -> dict:
    """Everything the arithmetic explorer shows, for one setting of its sliders.

    Parameters
    ----------
    i, k, s, p, d : int
        Input size, kernel size, stride, padding and dilation.
    transposed : bool, default False
        Describe ``ConvTranspose2d`` with these parameters instead of ``Conv2d``.
    output_padding : int, default 0
        ``output_padding`` of the transposed convolution (must be 0 when ``transposed`` is False).

    Returns
    -------
    dict
        ``valid`` (bool); ``message`` (why the combination is impossible, else ``""``);
        ``output_size`` (int, or ``None`` when invalid); ``effective_kernel`` :math:`d(k-1)+1`;
        ``formula`` (the size formula with the numbers substituted); ``torch_call`` (the matching
        ``torch.nn.Conv2d(...)`` or ``torch.nn.ConvTranspose2d(...)`` constructor, 1 channel in and
        out); ``case`` (the Dumoulin & Visin case, ``""`` when invalid).

    Raises
    ------
    TypeError
        If a size is not an integer or ``transposed`` is not a bool (an impossible *combination*
        of integers never raises: it is reported in ``message``).

    See Also
    --------
    convlab.arithmetic.conv_output_size, convlab.arithmetic.conv_transpose_output_size
    torch.nn.Conv2d, torch.nn.ConvTranspose2d

    Notes
    -----
    .. math:: o = \\left\\lfloor \\frac{i + 2p - d(k-1) - 1}{s} \\right\\rfloor + 1, \\qquad
              o' = (i-1)s - 2p + d(k-1) + a + 1

    Examples
    --------
    >>> state = arithmetic_state(5, 3, s=2, p=1)
    >>> state["output_size"], state["formula"]
    (3, 'o = ⌊(5 + 2·1 − 1·(3−1) − 1) / 2⌋ + 1 = ⌊4 / 2⌋ + 1 = 3')
    >>> arithmetic_state(2, 5)["valid"]
    False
    """
    from convlab.arithmetic import conv_output_size, conv_transpose_output_size

    values = {"i": i, "k": k, "s": s, "p": p, "d": d, "output_padding": output_padding}
    for name, value in values.items():
        check_int(value, name)
    if not isinstance(transposed, bool):
        raise TypeError(f"`transposed` must be a bool; got transposed={transposed!r}")
    a = output_padding
    state = {
        "valid": False,
        "message": "",
        "output_size": None,
        "effective_kernel": _extent(k, d) if k >= 1 and d >= 1 else None,
        "formula": "",
        "torch_call": "",
        "case": "",
    }
    if transposed:
        state["formula"] = f"o = ({i}−1)·{s} − 2·{p} + {d}·({k}−1) + {a} + 1"
        state["torch_call"] = (
            f"torch.nn.ConvTranspose2d(1, 1, kernel_size={k}, stride={s}, padding={p}, "
            f"output_padding={a}, dilation={d})"
        )
    else:
        state["formula"] = f"o = ⌊({i} + 2·{p} − {d}·({k}−1) − 1) / {s}⌋ + 1"
        state["torch_call"] = f"torch.nn.Conv2d(1, 1, kernel_size={k}, stride={s}, padding={p}, dilation={d})"
    try:
        if not transposed and a:
            raise ValueError(
                f"`output_padding` applies to transposed convolutions only; got output_padding={a}"
            )
        if transposed:
            o = conv_transpose_output_size(i, k, s, p, a, d)
            state["formula"] += f" = {o}"
            state["case"] = _transposed_case(o, k, s, p, d, a)
        else:
            o = conv_output_size(i, k, s, p, d)
            state["formula"] += f" = ⌊{i + 2 * p - _extent(k, d)} / {s}⌋ + 1 = {o}"
            state["case"] = dumoulin_visin_case(i, k, s, p, d)
    except ValueError as exc:
        state["message"] = str(exc)
        return state
    state["valid"] = True
    state["output_size"] = o
    return state


def _transposed_case(o: int, k: int, s: int, p: int, d: int, a: int) -> str:
    """The case of the direct convolution ``o -> i`` whose transpose this is."""
    try:
        return "transposed of: " + dumoulin_visin_case(o, k, s, p, d)
    except ValueError:
        return "transposed convolution (its direct convolution has no output)"


class ArithmeticExplorer(Explorer):
    """Sliders for ``(i, k, s, p, d)``, a transposed toggle, and what :func:`arithmetic_state` says.

    Attributes
    ----------
    controls : dict
        ``i``, ``k``, ``s``, ``p``, ``d``, ``output_padding`` sliders and the ``transposed`` toggle.
    summary : ipywidgets.HTML
        Output size, formula, case, torch call, or the reason the combination is impossible.
    image : ipywidgets.Image
        PNG of :func:`convlab.viz.window_positions_figure` (empty when the combination is
        impossible or too large to draw).
    widget : ipywidgets.VBox
        The whole explorer; displaying the explorer displays it.
    state : dict
        The last :func:`arithmetic_state`.
    """

    def __init__(self, i: int = 5, k: int = 3, s: int = 2, p: int = 1, d: int = 1) -> None:
        import ipywidgets as widgets

        super().__init__(
            {
                "i": int_slider(i, 1, 16, "input size i", "9em"),
                "k": int_slider(k, 1, 7, "kernel size k", "9em"),
                "s": int_slider(s, 1, 4, "stride s", "9em"),
                "p": int_slider(p, 0, 6, "padding p", "9em"),
                "d": int_slider(d, 1, 3, "dilation d", "9em"),
                "output_padding": int_slider(0, 0, 3, "output_padding a", "9em"),
                "transposed": widgets.ToggleButton(value=False, description="transposed", icon="exchange"),
            }
        )

    def _compute(self, values: dict) -> dict:
        return arithmetic_state(**values)

    def _rows(self, st: dict) -> list[str]:
        rows = [f"<code>{st['formula']}</code>", f"effective kernel d(k−1)+1 = {st['effective_kernel']}"]
        if st["valid"]:
            rows.insert(0, f"<b>output size: {st['output_size']}×{st['output_size']}</b>")
            rows += [f"case: {st['case']}", f"<code>{st['torch_call']}</code>"]
        else:
            rows.insert(0, impossible(st["message"]))
        return rows

    def _figure(self, st: dict, values: dict):
        from convlab.viz.sliding import window_positions_figure

        try:
            return window_positions_figure(
                values["i"], values["k"], values["s"], values["p"], values["d"],
                transposed=values["transposed"], output_padding=values["output_padding"], dpi=72,
            )  # fmt: skip
        except ValueError:  # e.g. a transposed padding larger than d(k-1): nothing to draw
            return None


def arithmetic_explorer(i: int = 5, k: int = 3, s: int = 2, p: int = 1, d: int = 1) -> ArithmeticExplorer:
    """An ipywidgets explorer of convolution arithmetic.

    Sliders for input size, kernel size, stride, padding, dilation and ``output_padding``, and a
    toggle for the transposed convolution; it shows the output size, the formula with the numbers
    substituted, the Dumoulin & Visin case, the matching ``torch.nn`` constructor and a figure of
    the window positions (:func:`convlab.viz.window_positions_figure`), all recomputed on every
    change through :func:`arithmetic_state`.

    Parameters
    ----------
    i, k, s, p, d : int
        Initial slider values.

    Returns
    -------
    ArithmeticExplorer
        Display it in a notebook (it displays its ``widget``).

    Raises
    ------
    TraitError
        If an initial value lies outside its slider's range.

    See Also
    --------
    arithmetic_state : what it shows, as a plain function.

    Notes
    -----
    The output size follows :math:`o = \\lfloor (i + 2p - d(k-1) - 1)/s \\rfloor + 1`.

    Examples
    --------
    >>> explorer = arithmetic_explorer()
    >>> explorer.controls["p"].value = 0
    >>> explorer.state["output_size"]
    2
    """
    return ArithmeticExplorer(i, k, s, p, d)
