"""Pictures of a run: loss curves from a History, and contact sheets of results.

Drawn with Pillow's ImageDraw (no matplotlib) into uint8 ``[H, W, 3]``
arrays; write them with :func:`nst_keras.images.save_image`. No TensorFlow
is imported, so ``nst-keras sheet`` starts fast.

Example:

>>> from nst_keras import plots
>>> curves = plots.loss_curves({"loss": [1.0, 0.5, 0.3], "style_loss": [0.8, 0.3, 0.2]})
>>> curves.shape
(400, 640, 3)
>>> sheet = plots.contact_sheet([[content, style, result]], height=128)  # doctest: +SKIP
"""

import math

import numpy as np
from PIL import Image, ImageDraw, ImageFont

# Total first, then the weighted parts in the order the model logs them.
_ORDER = ("loss", "style_loss", "content_loss", "total_variation_loss")
_COLORS = ((20, 20, 20), (214, 39, 40), (31, 119, 180), (44, 160, 44), (148, 103, 189), (255, 127, 14))
_GRID = (225, 225, 225)
_AXIS = (90, 90, 90)
_MARGIN_LEFT, _MARGIN_RIGHT, _MARGIN_TOP, _MARGIN_BOTTOM = 64, 16, 28, 40


def _font():
    return ImageFont.load_default()


def _series(history):
    logs = getattr(history, "history", history)
    if not isinstance(logs, dict):
        raise ValueError(
            "Expected `history` to be a keras.callbacks.History or a dict of lists. "
            f"Received: history of type {type(history).__name__}"
        )
    names = [name for name in _ORDER if name in logs] + sorted(set(logs) - set(_ORDER))
    series = {name: np.asarray(logs[name], dtype=np.float64).ravel() for name in names}
    series = {name: values for name, values in series.items() if values.size}
    if not series:
        raise ValueError(f"Expected at least one logged value in `history`. Received: history={logs!r}")
    return series


def _log_ticks(low, high):
    ticks = []
    for exponent in range(math.floor(low), math.ceil(high) + 1):
        for mantissa in (1, 2, 5) if high - low < 2 else (1,):
            value = math.log10(mantissa) + exponent
            if low - 1e-9 <= value <= high + 1e-9:
                ticks.append(value)
    return ticks


def _label(value):
    return f"{value:.3g}"


def _epoch_ticks(count):
    step = max(1, 10 ** math.floor(math.log10(max(count, 1))))
    if count / step < 4:
        step = max(1, step // 2)
    return list(range(step, count + 1, step)) if count > 1 else [1]


def loss_curves(history, size=(640, 400), boundaries=(), title="loss per epoch"):
    """Draw the logged losses per epoch on a log scale; return uint8 ``[H, W, 3]``.

    Args:
        history: a ``keras.callbacks.History`` or a dict ``{name: [values]}``;
            every key is drawn (``loss`` first), values <= 0 are left out
            (a log scale cannot show them) and the legend says so.
        size: ``(width, height)`` of the picture in pixels.
        boundaries: epoch counts after which a new stage starts (the scales
            of a coarse-to-fine run, ``StylizeResult.scale_boundaries``),
            drawn as dashed vertical lines.
        title: text at the top.

    Example:

    >>> loss_curves({"loss": [3.0, 2.0, 1.5, 1.2]}, size=(320, 200)).shape
    (200, 320, 3)
    """
    width, height = (int(v) for v in size)
    if width < _MARGIN_LEFT + _MARGIN_RIGHT + 40 or height < _MARGIN_TOP + _MARGIN_BOTTOM + 40:
        raise ValueError(f"Expected `size` to be at least (120, 108) pixels. Received: size={size!r}")
    series = _series(history)
    count = max(len(values) for values in series.values())
    positive = np.concatenate([values[values > 0] for values in series.values()])
    low, high = (np.log10(positive.min()), np.log10(positive.max())) if positive.size else (0.0, 1.0)
    if high - low < 1e-6:
        low, high = low - 0.5, high + 0.5
    pad = (high - low) * 0.05
    low, high = low - pad, high + pad

    image = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    font = _font()
    entries = [
        (f"{name} {_label(values[-1])}" if (values > 0).any() else f"{name} <= 0, not drawn",
         _COLORS[index % len(_COLORS)])
        for index, (name, values) in enumerate(series.items())
    ]
    # The legend sits right of the plot, so it never hides a curve.
    legend_width = 28 + max(draw.textlength(text, font=font) for text, _ in entries)
    left, right = _MARGIN_LEFT, max(_MARGIN_LEFT + 40, width - _MARGIN_RIGHT - int(legend_width))
    top, bottom = _MARGIN_TOP, height - _MARGIN_BOTTOM

    def x_of(epoch):  # epochs are numbered from 1
        return left + (right - left) * ((epoch - 1) / max(count - 1, 1))

    def y_of(log_value):
        return bottom - (bottom - top) * (log_value - low) / (high - low)

    for tick in _log_ticks(low, high):
        y = y_of(tick)
        draw.line([(left, y), (right, y)], fill=_GRID)
        draw.text((left - 6, y), _label(10**tick), fill=_AXIS, font=font, anchor="rm")
    for tick in _epoch_ticks(count):
        x = x_of(tick)
        draw.line([(x, top), (x, bottom)], fill=_GRID)
        draw.text((x, bottom + 6), str(tick), fill=_AXIS, font=font, anchor="mt")
    for boundary in boundaries:
        x = x_of(boundary + 0.5)
        for y in range(top, bottom, 8):
            draw.line([(x, y), (x, min(y + 4, bottom))], fill=_AXIS)
    draw.rectangle([left, top, right, bottom], outline=_AXIS)
    draw.text(((left + right) / 2, height - 6), "epoch", fill=_AXIS, font=font, anchor="mb")
    draw.text(((left + right) / 2, 6), title, fill=(0, 0, 0), font=font, anchor="mt")

    stages = [0] + sorted(int(b) for b in boundaries) + [count]
    for (shown, color), values in zip(entries, series.values()):
        # One polyline per stage: the loss of a new scale is not continuous with the last.
        for start, end in zip(stages, stages[1:]):
            points = [(x_of(i + 1), y_of(math.log10(values[i]))) for i in range(start, min(end, len(values)))
                      if values[i] > 0]
            if len(points) > 1:
                draw.line(points, fill=color, width=2)
            for x, y in points if count < 40 else points[-1:]:
                draw.ellipse([x - 2, y - 2, x + 2, y + 2], fill=color)
    for row, (shown, color) in enumerate(entries):
        x, y = right + 12, top + 14 * row
        draw.line([(x, y + 5), (x + 16, y + 5)], fill=color, width=2)
        draw.text((x + 20, y), shown, fill=color, font=font)
    return np.asarray(image, dtype=np.uint8)


def _as_pil(image):
    array = np.asarray(image)
    if array.ndim == 4 and array.shape[0] == 1:
        array = array[0]
    if array.ndim != 3 or array.shape[-1] != 3:
        raise ValueError(f"Expected an RGB image [H, W, 3]. Received: image with shape {array.shape}")
    if array.dtype != np.uint8:
        array = np.rint(np.clip(array.astype(np.float64), 0.0, 1.0) * 255.0).astype(np.uint8)
    return Image.fromarray(array, "RGB")


def cell_width(image_shape, height):
    """Width of a cell showing an image of ``image_shape`` ``(H, W, ...)`` at ``height``.

    Example:

    >>> cell_width((300, 400, 3), 150)
    200
    """
    return max(1, round(image_shape[1] * height / image_shape[0]))


LABEL_HEIGHT = 16
# Words of a label are parted by two spaces: the font's space is 2 px, too narrow to part an option from its value.
WORD_SPACE = "  "


def text_width(text):
    """The width in pixels of ``text`` written in the labels' font.

    Example:

    >>> text_width("abc") > text_width("a") > 0
    True
    """
    return ImageDraw.Draw(Image.new("RGB", (1, 1))).textlength(str(text), font=_font())


def label_lines(label, width, measure):
    """The lines a cell's ``label`` is written in, and the width they need: never cut, wrapped at spaces.

    Each line of ``label`` (split at ``"\n"``) that is wider than ``width``
    pixels is wrapped at its spaces; a word wider than ``width`` widens the
    cell instead of being cut, so every value stays readable at any cell size.
    The words of a line are parted by :data:`WORD_SPACE`.

    Args:
        label: the caption; ``"\n"`` starts another line.
        width: the cell's width in pixels.
        measure: a function giving a text's width in pixels.

    Returns:
        ``(lines, width)``: the lines to draw and the width they take, at
        least ``width``.

    Example:

    >>> label_lines("--content-weight 0.05", 20, len)
    (['--content-weight', '0.05'], 20)
    >>> label_lines("--content-weight 0.05", 10, len)
    (['--content-weight', '0.05'], 16)
    >>> label_lines("--init noise", 40, len)
    (['--init  noise'], 40)
    """
    lines = []
    for text in str(label).split("\n"):
        words = text.split(" ")
        width = max([width] + [math.ceil(measure(word)) for word in words])
        line = words[0]
        for word in words[1:]:
            if measure(line + WORD_SPACE + word) <= width:
                line += WORD_SPACE + word
            else:
                lines.append(line)
                line = word
        lines.append(line)
    return lines, width


def contact_sheet(rows, height=192, labels=None, gap=8):
    """Lay out rows of images at one height on a white sheet; return uint8 ``[H, W, 3]``.

    One row per result, e.g. ``[content, style, ..., output, epoch images...]``.
    Each image is scaled to ``height`` keeping its aspect ratio; rows are
    left-aligned and the sheet is as wide as the widest row.

    Args:
        rows: list of rows, each a list of ``[H, W, 3]`` images (float in
            [0, 1] or uint8).
        height: cell height in pixels.
        labels: optional list of rows of captions (same shape as ``rows``),
            written under each image; ``"\n"`` starts another line. Captions
            are never cut: a line too wide for its image is wrapped at its
            spaces, and a word wider than the image widens its column, the
            image centred in it (:func:`label_lines`).
        gap: white space between and around cells.

    Size: width ``gap + max over rows of sum(column width + gap)``, height
    ``gap + len(rows) * (height + gap)``, plus ``LABEL_HEIGHT`` per line of
    the longest label, per row, with labels; a column is as wide as its
    image, or as its widest label word.

    Example:

    >>> import numpy as np
    >>> sheet = contact_sheet([[np.zeros((50, 100, 3)), np.ones((100, 100, 3))]], height=50, gap=0)
    >>> sheet.shape
    (50, 150, 3)
    """
    rows = [list(row) for row in rows]
    if not rows or not all(rows):
        raise ValueError(f"Expected a non-empty list of non-empty rows of images. Received: {len(rows)} rows")
    if labels is not None and [len(r) for r in labels] != [len(r) for r in rows]:
        raise ValueError(
            "Expected one label per image in `labels`. Received: labels with row lengths "
            f"{[len(r) for r in labels]} for rows of {[len(r) for r in rows]} images"
        )
    height, gap = int(height), int(gap)
    cells = [[_as_pil(image) for image in row] for row in rows]
    widths = [[cell_width((im.height, im.width), height) for im in row] for row in cells]
    font = _font()
    laid_out = [[label_lines(label, w, text_width) for label, w in zip(label_row, row)]
                for label_row, row in zip(labels, widths)] if labels is not None else None
    columns = [[w for _, w in row] for row in laid_out] if laid_out is not None else widths
    lines = max(len(text) for row in laid_out for text, _ in row) if laid_out is not None else 0
    label_height = LABEL_HEIGHT * lines
    sheet_width = gap + max(sum(w + gap for w in row) for row in columns)
    sheet_height = gap + len(rows) * (height + label_height + gap)
    sheet = Image.new("RGB", (sheet_width, sheet_height), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    y = gap
    for row_index, (row, row_widths, row_columns) in enumerate(zip(cells, widths, columns)):
        x = gap
        for col, (im, w, column) in enumerate(zip(row, row_widths, row_columns)):
            sheet.paste(im.resize((w, height), Image.Resampling.LANCZOS), (x + (column - w) // 2, y))
            for line_index, line in enumerate(laid_out[row_index][col][0] if laid_out is not None else []):
                draw.text((x + column / 2, y + height + 2 + line_index * LABEL_HEIGHT), line, fill=(40, 40, 40),
                          font=font, anchor="mt")
            x += column + gap
        y += height + label_height + gap
    return np.asarray(sheet, dtype=np.uint8)
