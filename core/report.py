"""The one HTML report machinery of the plugin.

A :class:`Report` collects a title, the inputs and settings used, text, data
tables and matplotlib figures, and writes one self-contained HTML file (figures
embedded as base64 PNG, CSS inline, no scripts or external files), readable in
any browser and in QGIS's results viewer.

Figures are made with :func:`new_figure` (``matplotlib.figure.Figure`` drawn by
the Agg renderer): pyplot is never imported, so no GUI backend (Qt) is loaded
and the global matplotlib backend of the QGIS process is left alone.
"""

import base64
import datetime
import html
import io
import math
import numbers

from .files import atomic_output
from .metric_names import format_number

_CSS = """
body { font-family: "Segoe UI", "DejaVu Sans", Arial, sans-serif; margin: 1.5em;
       color: #222; max-width: 1100px; }
h1 { font-size: 1.5em; border-bottom: 2px solid #55753a; padding-bottom: .2em; }
h2 { font-size: 1.2em; margin-top: 1.6em; color: #33502a; }
table { border-collapse: collapse; margin: .6em 0 1em 0; font-size: .92em; }
th, td { border: 1px solid #c8c8c8; padding: .25em .6em; text-align: left;
         vertical-align: top; }
th { background: #eef3e6; }
td.num { text-align: right; font-family: "DejaVu Sans Mono", Consolas, monospace; }
tr.flag td { background: #fde0dc; }
p.note { color: #555; font-size: .9em; }
p.warning { background: #fff4d6; border-left: 4px solid #e0a800; padding: .4em .6em; }
figure { margin: 1em 0; }
figcaption { color: #555; font-size: .9em; }
img { max-width: 100%; height: auto; }
.footer { color: #777; font-size: .8em; margin-top: 2em; }
"""


def _text(value):
    return html.escape(str(value), quote=True)


def format_value(value, digits=6):
    """A readable string for numbers (significant digits), lists and the rest."""
    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value)
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        value = float(value)
        if math.isnan(value):
            return "–"
        if math.isinf(value):
            return "∞" if value > 0 else "-∞"
        return f"{value:.{digits}g}"
    if isinstance(value, list | tuple):
        return ", ".join(format_value(v, digits) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{humanise(k)}: {format_value(v, digits)}" for k, v in value.items())
    return str(value)


def humanise(key):
    """A readable label of a code name: ``"batch_size"`` -> ``"Batch size"``."""
    text = str(key).replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def _cell(value, digits, kind):
    """The text of a table cell: by the rounding rule of ``kind`` when given."""
    if kind and isinstance(value, numbers.Number):
        return format_number(value, kind)
    return format_value(value, digits)


class Report:
    """An HTML report built part by part; :meth:`write` saves it."""

    def __init__(self, title, subtitle=None):
        self.title = title
        self._parts = []
        if subtitle:
            self.paragraph(subtitle)

    # --- building ------------------------------------------------------------
    def heading(self, text, level=2):
        self._parts.append(f"<h{level}>{_text(text)}</h{level}>")

    def paragraph(self, text, css_class=None):
        attribute = f' class="{css_class}"' if css_class else ""
        self._parts.append(f"<p{attribute}>{_text(text)}</p>")

    def note(self, text):
        self.paragraph(text, "note")

    def warning(self, text):
        self.paragraph(text, "warning")

    def warnings(self, messages):
        for message in messages or []:
            self.warning(message)

    def settings(self, items, title="Inputs and settings"):
        """A two-column table of ``(name, value)`` pairs (or a dict)."""
        pairs = list(items.items()) if isinstance(items, dict) else list(items)
        if title:
            self.heading(title)
        rows = "".join(f"<tr><th>{_text(name)}</th><td>{_text(format_value(value))}</td></tr>"
                       for name, value in pairs)
        self._parts.append(f"<table>{rows}</table>")

    def table(self, headers, rows, title=None, flagged=None, digits=6, kinds=None):
        """A data table; numbers are right-aligned. ``flagged``: indexes of rows
        to highlight (e.g. factors over a threshold). ``kinds``: per column, the
        kind of number (:data:`.metric_names.DECIMALS`: ``"score"``, ``"percent"``,
        ``"count"``…) whose rounding rule formats it; None (or a None entry): numbers
        with ``digits`` significant digits."""
        flagged = set(flagged or [])
        kinds = list(kinds or [])
        if title:
            self.heading(title)
        head = "".join(f"<th>{_text(h)}</th>" for h in headers)
        body = []
        for index, row in enumerate(rows):
            cells = []
            for column, value in enumerate(row):
                number = isinstance(value, numbers.Number) and not isinstance(value, bool)
                css = ' class="num"' if number else ""
                kind = kinds[column] if column < len(kinds) else None
                cells.append(f"<td{css}>{_text(_cell(value, digits, kind))}</td>")
            css = ' class="flag"' if index in flagged else ""
            body.append(f"<tr{css}>{''.join(cells)}</tr>")
        self._parts.append(f"<table><thead><tr>{head}</tr></thead>"
                           f"<tbody>{''.join(body)}</tbody></table>")

    def figure(self, fig, caption=None, alt=None, dpi=110):
        """Embed a matplotlib figure as a base64 PNG."""
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
        data = base64.b64encode(buffer.getvalue()).decode("ascii")
        alt_text = _text(alt or caption or self.title)
        caption_html = f"<figcaption>{_text(caption)}</figcaption>" if caption else ""
        self._parts.append(f'<figure><img alt="{alt_text}" src="data:image/png;base64,{data}">'
                           f"{caption_html}</figure>")

    def raw_html(self, fragment):
        """Append trusted HTML (built by the caller, already escaped)."""
        self._parts.append(fragment)

    # --- output --------------------------------------------------------------
    def html(self):
        stamp = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
        return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                f"<title>{_text(self.title)}</title><style>{_CSS}</style></head><body>"
                f"<h1>{_text(self.title)}</h1>\n" + "\n".join(self._parts)
                + f'\n<p class="footer">Landslide Susceptibility plugin for QGIS · {stamp}</p>'
                "</body></html>\n")

    def write(self, path):
        """Write the report at ``path`` atomically; returns ``path``."""
        with atomic_output(str(path)) as tmp, open(tmp, "w", encoding="utf-8") as handle:
            handle.write(self.html())
        return str(path)


# --- figures -------------------------------------------------------------------

def new_figure(width=6.4, height=4.0):
    """A matplotlib ``Figure`` rendered with Agg (no pyplot, no GUI backend)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)  # a canvas with a renderer: text extents can be measured
    return fig


def renderer_of(fig):
    """Lay ``fig`` out (constrained layout included) and return its renderer, so that
    ``artist.get_window_extent(renderer)`` gives the pixels the artist will cover."""
    fig.draw_without_rendering()
    return fig.canvas.get_renderer()


def bar_chart(labels, values, title="", xlabel="", errors=None, threshold=None,
              threshold_label=None, flagged=None, colour="#55753a", flag_colour="#d7301f",
              kind=None):
    """Horizontal bars, top to bottom in the given order, each with its value (by the
    rounding rule of ``kind`` when given); an optional threshold line labelled above
    the axes. Value labels stay inside the axes and clear of the threshold line."""
    labels = [str(label) for label in labels]
    count = len(labels)
    fig = new_figure(6.4, max(2.2, 0.42 * count + 1.2))
    axes = fig.add_subplot()
    flagged = set(flagged or [])
    shown = [0.0 if (v is None or not math.isfinite(v)) else float(v) for v in values]
    colours = [flag_colour if i in flagged else colour for i in range(count)]
    positions = list(range(count))[::-1]
    axes.barh(positions, shown, xerr=errors, color=colours, edgecolor="#333333",
              linewidth=0.5, capsize=3 if errors is not None else 0)
    axes.set_yticks(positions)
    axes.set_yticklabels(labels)
    spreads = [0.0] * count if errors is None else [
        float(e) if e is not None and math.isfinite(e) else 0.0 for e in errors]
    notes = [axes.annotate(format_number(raw, kind) if kind else format_value(raw, 3),
                           (max(value, 0.0) + spread, pos), xytext=(4, 0),
                           textcoords="offset points", va="center", fontsize=8)
             for pos, value, raw, spread in zip(positions, shown, values, spreads, strict=True)]
    right = max([v + e for v, e in zip(shown, spreads, strict=True)] + [0.0])
    if threshold is not None:
        axes.axvline(threshold, color=flag_colour, linestyle="--", linewidth=1.2)
        axes.annotate(threshold_label or f"threshold {threshold:g}", (threshold, 1.0),
                      xycoords=axes.get_xaxis_transform(), xytext=(0, 3),
                      textcoords="offset points", ha="center", va="bottom", fontsize=8,
                      color=flag_colour)
        right = max(right, threshold)
    axes.set_xlim(left=min(0.0, min(shown + [0.0]) * 1.15), right=right * 1.05 or 1)
    axes.set_xlabel(xlabel)
    if title:
        axes.set_title(title, pad=14 if threshold is not None else 6)
    axes.grid(axis="x", alpha=0.3)
    fit_value_labels(fig, axes, notes, threshold)
    return fig


def fit_value_labels(fig, axes, notes, threshold=None, gap=3.0):
    """Move the value labels ``notes`` (annotations right of their point) that would
    cross the vertical line at ``threshold`` to just right of it, and widen the x axis
    so that every label ends inside the axes. ``gap``: pixels kept clear."""
    for _ in range(5):
        renderer = renderer_of(fig)
        moved = False
        if threshold is not None:
            line = axes.transData.transform((threshold, 0.0))[0]
            for note in notes:
                extent = note.get_window_extent(renderer)
                if note.xy[0] < threshold and extent.x0 - gap < line < extent.x1 + gap:
                    note.xy = (threshold, note.xy[1])
                    moved = True
        widened = _widen_for(axes, notes, renderer, gap)
        if not (moved or widened):
            return


def _widen_for(axes, notes, renderer, gap):
    """Raise the right x limit so every label in ``notes`` ends ``gap`` pixels inside."""
    box = axes.get_window_extent(renderer)
    left, right = axes.get_xlim()
    needed = right
    for note in notes:
        extent = note.get_window_extent(renderer)
        if extent.x1 <= box.x1 - gap:
            continue
        anchor = axes.transData.transform((note.xy[0], 0.0))[0]
        width = extent.x1 - anchor + 2 * gap
        if box.width > 2 * width:  # solve (x - left) / (R - left) * W + width = W for R
            needed = max(needed, left + (note.xy[0] - left) * box.width / (box.width - width))
    if needed > right:
        axes.set_xlim(left, needed)
        return True
    return False


def heatmap(matrix, labels, title="", vmin=-1.0, vmax=1.0, cmap="RdBu_r", colorbar_label=""):
    """A square matrix with its values written in the cells."""
    import numpy as np

    matrix = np.asarray(matrix, dtype=float)
    count = len(labels)
    size = max(3.5, 0.6 * count + 2.0)
    fig = new_figure(size + 1.0, size)
    axes = fig.add_subplot()
    image = axes.imshow(matrix, vmin=vmin, vmax=vmax, cmap=cmap)
    axes.set_xticks(range(count))
    axes.set_yticks(range(count))
    axes.set_xticklabels(labels, rotation=45, ha="right")
    axes.set_yticklabels(labels)
    if count <= 20:
        for i in range(count):
            for j in range(count):
                value = matrix[i, j]
                text = format_number(value, "score")
                dark = np.isfinite(value) and abs(value) > 0.6 * max(abs(vmin), abs(vmax))
                axes.text(j, i, text, ha="center", va="center", fontsize=8,
                          color="white" if dark else "black")
    bar = fig.colorbar(image, ax=axes, shrink=0.8)
    if colorbar_label:
        bar.set_label(colorbar_label)
    if title:
        axes.set_title(title)
    return fig
