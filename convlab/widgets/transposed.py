"""Transposed-convolution explorer: both views side by side, PyTorch's and TensorFlow's conventions.

:func:`transposed_state` computes everything the explorer shows with :mod:`convlab.transposed`
(the scatter-add and the zero-insertion views, their agreement with ``conv_transpose2d`` and
``C.T``, the torch call, and in TensorFlow mode the ``output_shape`` values ``'SAME'`` accepts) and
never raises for an impossible combination: it reports it. :func:`transposed_explorer` wraps it in
ipywidgets. On the static website the chapter shows :func:`convlab.viz.stamping_animation` and
:func:`convlab.viz.zero_insertion_figure` beside it.

Chapter: :doc:`/chapters/transposed_conv`.
"""

from __future__ import annotations

import numpy as np

from convlab._validate import check_choice, check_int
from convlab.widgets._explorer import Explorer, escape, impossible, int_slider

__all__ = ["transposed_state", "TransposedExplorer", "transposed_explorer"]

_MODES = ("pytorch", "tensorflow")


def _default_input(n: int) -> np.ndarray:
    return np.arange(1.0, n * n + 1).reshape(n, n)


def _zero_insert_view(x: np.ndarray, w: np.ndarray, s: int, p: int, op: int) -> dict:
    """The stride-1 convolution that the zero-insertion view performs, step by step."""
    from convlab.functional import conv2d
    from convlab.transposed import transposed_canvas

    canvas = transposed_canvas(x, w.shape, s, p, op)
    flipped = w[::-1, ::-1].copy()
    output = np.asarray(conv2d(canvas.values[None, None], flipped[None, None]))[0, 0]
    return {
        "padded": canvas.values,
        "kind": canvas.kind,
        "flipped": flipped,
        "output": output,
        "pad": canvas.before[0],
    }


def transposed_state(
    input_size: int = 3,
    kernel_size: int = 3,
    stride: int = 2,
    padding: int = 0,
    output_padding: int = 0,
    *,
    mode: str = "pytorch",
    output_shape: int | None = None,
    tf_padding: str = "SAME",
    input: object | None = None,
    weight: object | None = None,
) -> dict:
    r"""Everything the transposed-convolution explorer shows, for one setting of its controls.

    Parameters
    ----------
    input_size, kernel_size, stride : int
        Square input ``i x i``, kernel ``k x k``, stride ``s`` (all positive).
    padding, output_padding : int
        PyTorch's ``padding`` and ``output_padding`` (non-negative; ignored in TensorFlow mode).
    mode : {"pytorch", "tensorflow"}, default "pytorch"
        PyTorch's ``conv_transpose2d`` or TensorFlow's ``conv2d_transpose`` with ``output_shape``.
    output_shape : int, optional
        TensorFlow mode: the requested output height and width (default: the first valid one).
    tf_padding : {"SAME", "VALID"}, default "SAME"
        TensorFlow mode: the padding of the forward convolution.
    input : array_like, shape (i, i), optional
        Default ``1, 2, ..., i*i``.
    weight : array_like, shape (k, k), optional
        Default a kernel of ones, so the output counts overlaps times input values.

    Returns
    -------
    dict
        ``valid`` (bool), ``message`` (why not, or a one-line summary), ``input``, ``weight``,
        ``output_size``, ``scatter`` (:func:`convlab.transposed.conv_transpose2d_scatter`),
        ``canvas`` (the uncropped stamps), ``zero_insert`` (dict: ``padded``, ``kind`` -- 0 input,
        1 inserted zero, 2 padding --, ``flipped``, ``output``, ``pad`` = k-p-1),
        ``consistent`` (scatter, zero insertion, ``C.T`` and ``conv_transpose2d`` agree),
        ``torch_call``; in TensorFlow mode also ``valid_output_shapes``, ``output_shape``,
        ``tf_result`` and ``tf_call``.

    Raises
    ------
    TypeError
        If a size is not an integer.
    ValueError
        If ``mode`` or ``tf_padding`` is unknown, a size is out of range, or ``input``/``weight``
        does not have the stated shape. Impossible combinations of valid values are *reported*
        (``valid=False``), not raised.

    See Also
    --------
    torch.nn.functional.conv_transpose2d, tf.nn.conv2d_transpose

    Notes
    -----
    PyTorch: :math:`o = (i - 1)s - 2p + k + \text{output\_padding}`, ``output_padding < s``.
    TensorFlow ``'SAME'``: any :math:`o` with :math:`\lceil o / s \rceil = i`.

    Examples
    --------
    >>> st = transposed_state(2, 4, 3)
    >>> st["output_size"], st["consistent"]
    (7, True)
    >>> transposed_state(3, 3, 2, output_padding=2)["valid"]
    False
    >>> transposed_state(3, 3, 2, mode="tensorflow")["valid_output_shapes"]
    [5, 6]
    """
    i = check_int(input_size, "input_size", minimum=1)
    k = check_int(kernel_size, "kernel_size", minimum=1)
    s = check_int(stride, "stride", minimum=1)
    p = check_int(padding, "padding", minimum=0)
    op = check_int(output_padding, "output_padding", minimum=0)
    check_choice(mode, "mode", _MODES)
    check_choice(tf_padding, "tf_padding", ("SAME", "VALID"))
    if i > 8 or k > 8 or s > 6:
        raise ValueError(
            "`input_size` and `kernel_size` must be at most 8 and `stride` at most 6 for the explorer; "
            f"got input_size={i}, kernel_size={k}, stride={s}"
        )
    x = _default_input(i) if input is None else np.asarray(input, dtype=np.float64)
    w = np.ones((k, k)) if weight is None else np.asarray(weight, dtype=np.float64)
    if x.shape != (i, i):
        raise ValueError(f"`input` must have shape ({i}, {i}) to match input_size; got shape {x.shape}")
    if w.shape != (k, k):
        raise ValueError(f"`weight` must have shape ({k}, {k}) to match kernel_size; got shape {w.shape}")
    state: dict = {"valid": False, "input": x, "weight": w, "mode": mode, "stride": s, "padding": p}
    if mode == "tensorflow":
        return _tensorflow_state(state, x, w, s, output_shape, tf_padding)

    from convlab.functional import conv_transpose2d
    from convlab.transposed import conv_transpose2d_matrix, conv_transpose2d_scatter

    state["output_padding"] = op
    try:
        kw = {"stride": s, "padding": p, "output_padding": op}
        scatter = np.asarray(conv_transpose2d_scatter(x[None, None], w[None, None], **kw))[0, 0]
    except ValueError as exc:
        state["message"] = str(exc)
        return state
    canvas = np.asarray(conv_transpose2d(x[None, None], w[None, None], stride=s, output_padding=op))[0, 0]
    zero = _zero_insert_view(x, w, s, p, op)
    matrix = np.asarray(conv_transpose2d_matrix(x[None, None], w[None, None], **kw))[0, 0]
    reference = np.asarray(conv_transpose2d(x[None, None], w[None, None], **kw))[0, 0]
    consistent = all(
        a.shape == reference.shape and np.allclose(a, reference) for a in (scatter, zero["output"], matrix)
    )
    o = scatter.shape[0]
    state.update(
        valid=True,
        output_size=o,
        scatter=scatter,
        canvas=canvas,
        zero_insert=zero,
        consistent=consistent,
        torch_call=(
            f"F.conv_transpose2d(x, w, stride={s}, padding={p}, output_padding={op})"
            f"  # (1, 1, {i}, {i}) -> (1, 1, {o}, {o})"
        ),
        message=f"({i} - 1)*{s} - 2*{p} + {k} + {op} = {o}",
    )
    return state


def _tensorflow_state(state, x, w, s, output_shape, tf_padding) -> dict:
    from convlab.arithmetic import same_padding, tf_transpose_output_sizes
    from convlab.transposed import tf_conv2d_transpose

    i, k = x.shape[0], w.shape[0]
    sizes = list(tf_transpose_output_sizes(i, k, s, tf_padding))
    state["valid_output_shapes"] = sizes
    size = sizes[0] if output_shape is None and sizes else output_shape
    if size is None:
        state["message"] = f"no output_shape gives a {i}x{i} input with padding={tf_padding!r}"
        return state
    size = check_int(size, "output_shape", minimum=1)
    state["output_shape"] = size
    state["tf_call"] = (
        f"tf.nn.conv2d_transpose(x, filters, output_shape=[1, {size}, {size}, 1], "
        f"strides={s}, padding={tf_padding!r})"
    )
    try:
        result = tf_conv2d_transpose(
            x[None, :, :, None], w[:, :, None, None], [1, size, size, 1], s, tf_padding
        )
    except ValueError as exc:
        state["message"] = str(exc)
        return state
    state.update(
        valid=True,
        output_size=size,
        tf_result=np.asarray(result)[0, :, :, 0],
        tf_pad=same_padding(size, k, s) if tf_padding == "SAME" else (0, 0),
        message=f"valid output_shape values for {i}x{i}, stride {s}, {tf_padding}: {sizes}",
    )
    return state


def _explorer_figure(state: dict, *, dpi: float = 72):
    """The figure the explorer shows for a valid ``state``: the two views side by side."""
    from convlab.viz.grids import PALETTE, draw_grid, grid_axes, new_figure

    x, w = state["input"], state["weight"]
    if state["mode"] == "tensorflow":
        res = state["tf_result"]
        shapes = [x.shape, w.shape, res.shape]
        titles = ["input", "filters", f"conv2d_transpose, output_shape {res.shape[0]}"]
        arrays = [x, w, res]
        colours = [PALETTE["input"], PALETTE["kernel"], PALETTE["output"]]
    else:
        z = state["zero_insert"]
        p = state["padding"]
        canvas = state["canvas"]
        shapes = [canvas.shape, z["padded"].shape, z["flipped"].shape, state["scatter"].shape]
        titles = [
            "scatter-add: stamps, crop p",
            "zero insertion + pad k-p-1",
            "kernel rotated 180°",
            "output",
        ]
        arrays = [canvas, z["padded"], z["flipped"], state["scatter"]]
        colours = [PALETTE["output"], PALETTE["input"], PALETTE["kernel"], PALETTE["output"]]
    cell = 0.34
    widths = [max(sh[1], 4) * cell + 0.4 for sh in shapes]
    fig_h = max(sh[0] for sh in shapes) * cell + 0.9
    fig = new_figure(sum(widths) + 0.3, fig_h, dpi=dpi)
    x0 = 0.15
    for n, (sh, title, arr, colour) in enumerate(zip(shapes, titles, arrays, colours, strict=True)):
        ax = grid_axes(fig, x0, 0.1, sh, cell)
        kwargs = {}
        if state["mode"] == "pytorch" and n == 0 and p > 0:
            mask = np.ones(arr.shape, dtype=bool)
            mask[p : arr.shape[0] - p, p : arr.shape[1] - p] = False
            kwargs["padding_mask"] = mask
        if state["mode"] == "pytorch" and n == 1:
            kwargs["padding_mask"] = z["kind"] != 0
        draw_grid(ax, arr, color=colour, fontsize=7, **kwargs)
        ax.set_title(title, fontsize=9)
        x0 += widths[n]
    return fig


class TransposedExplorer(Explorer):
    """Controls for a transposed convolution and the two views :func:`transposed_state` computes.

    Attributes
    ----------
    controls : dict
        ``input_size``, ``kernel_size``, ``stride``, ``padding``, ``output_padding`` sliders,
        the ``mode`` toggle (PyTorch / TensorFlow SAME) and the ``output_shape`` dropdown.
    summary : ipywidgets.HTML
        Output size, consistency of the views, the torch or TensorFlow call, or the reason the
        combination is impossible.
    image : ipywidgets.Image
        PNG of the scatter-add and zero-insertion views (empty when impossible).
    widget : ipywidgets.VBox
        The whole explorer; displaying the explorer displays it.
    state : dict
        The last :func:`transposed_state`.
    """

    def __init__(self, input_size: int = 2, kernel_size: int = 4, stride: int = 3, padding: int = 0) -> None:
        import ipywidgets as widgets

        super().__init__(
            {
                "input_size": int_slider(input_size, 1, 5, "input size i"),
                "kernel_size": int_slider(kernel_size, 1, 5, "kernel size k"),
                "stride": int_slider(stride, 1, 4, "stride s"),
                "padding": int_slider(padding, 0, 4, "padding p"),
                "output_padding": int_slider(0, 0, 3, "output_padding"),
                "mode": widgets.ToggleButtons(
                    options=[("PyTorch", "pytorch"), ("TensorFlow SAME", "tensorflow")], value="pytorch"
                ),
                "output_shape": widgets.Dropdown(options=[], description="output_shape"),
            }
        )

    def _compute(self, c: dict) -> dict:
        tf = c["mode"] == "tensorflow"
        return transposed_state(
            c["input_size"], c["kernel_size"], c["stride"], c["padding"], c["output_padding"],
            mode=c["mode"], output_shape=c["output_shape"] if tf else None,
        )  # fmt: skip

    def _refresh_controls(self, st: dict, c: dict) -> None:
        tf = c["mode"] == "tensorflow"
        if tf:  # the dropdown lists exactly the sizes TensorFlow accepts
            dropdown = self.controls["output_shape"]
            dropdown.options = st.get("valid_output_shapes", [])
            if st.get("output_shape") in dropdown.options:
                dropdown.value = st["output_shape"]
        self.controls["output_shape"].disabled = not tf
        for name in ("padding", "output_padding"):
            self.controls[name].disabled = tf

    def _rows(self, st: dict) -> list[str]:
        if not st["valid"]:
            return [impossible(st["message"])]
        rows = [f"<b>output size: {st['output_size']}×{st['output_size']}</b>", escape(st["message"])]
        if st["mode"] == "tensorflow":
            return rows + [
                f"<code>{escape(st['tf_call'])}</code>",
                f"TensorFlow pads (before, after) = {st['tf_pad']}",
            ]
        verdict = "agree" if st["consistent"] else "DISAGREE"
        return rows + [
            f"scatter-add, zero insertion and C<sup>T</sup> {verdict}",
            f"<code>{escape(st['torch_call'])}</code>",
        ]

    def _figure(self, st: dict, values: dict):
        return _explorer_figure(st)


def transposed_explorer(
    input_size: int = 2, kernel_size: int = 4, stride: int = 3, padding: int = 0
) -> TransposedExplorer:
    r"""An ipywidgets explorer of transposed convolution.

    Sliders for input size, kernel size, stride, padding and ``output_padding``; a toggle between
    PyTorch's convention and TensorFlow's ``conv2d_transpose`` with ``'SAME'`` padding (whose
    ``output_shape`` dropdown lists exactly the sizes TensorFlow accepts). It shows the uncropped
    stamps of the scatter-add view next to the zero-inserted, padded input and rotated kernel of
    the zero-insertion view, the output, whether all views agree, and the matching call.

    Parameters
    ----------
    input_size, kernel_size, stride, padding : int
        Initial slider values (default: the 2x2 input, 4x4 kernel, stride 3 example -> 7x7).

    Returns
    -------
    TransposedExplorer
        Display it in a notebook (it displays its ``widget``).

    Raises
    ------
    TraitError
        If an initial value lies outside its slider's range.

    See Also
    --------
    transposed_state : what it shows, as a plain function.

    Notes
    -----
    :math:`o = (i - 1)s - 2p + k + \text{output\_padding}`.

    Examples
    --------
    >>> explorer = transposed_explorer()
    >>> explorer.state["output_size"]
    7
    >>> explorer.controls["output_padding"].value = 3
    >>> explorer.state["valid"]
    False
    """
    return TransposedExplorer(input_size, kernel_size, stride, padding)
