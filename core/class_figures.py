"""The figures of the susceptibility classes report (:mod:`.class_report`):
landslide density per class, the success-rate curve, the value histogram with
the breaks and a picture of the classified map. matplotlib through
:func:`.report.new_figure` (no pyplot).
"""

import math

import numpy as np

from .class_statistics import CLASS_COLOURS, CLASS_COUNT, CLASS_NAMES, classify_values
from .report import new_figure


def ld_figure(rows):
    """Bars of the landslide density per class (rows of :func:`.class_statistics.class_table`)."""
    fig = new_figure(6.0, 3.4)
    axes = fig.add_subplot()
    values = [100.0 * r["ld"] if math.isfinite(r["ld"]) else 0.0 for r in rows]
    positions = range(len(rows))
    axes.bar(positions, values, color=CLASS_COLOURS, edgecolor="#333333", linewidth=0.5)
    for position, value, row in zip(positions, values, rows, strict=True):
        text = "–" if not math.isfinite(row["ld"]) else f"{value:.3g} %"
        axes.annotate(text, (position, value), xytext=(0, 3), textcoords="offset points",
                      ha="center", fontsize=8)
    axes.set_xticks(list(positions))
    axes.set_xticklabels([r["name"] for r in rows])
    axes.set_ylabel("landslide density (% of the class's area)")
    axes.set_ylim(0, max(values + [0.0]) * 1.2 or 1)
    axes.set_title("Landslide density per class")
    axes.grid(axis="y", alpha=0.3)
    return fig


def curve_figure(x, y, auc, points):
    """The success-rate curve ``(x, y)`` with the class limits ``points``
    (:func:`.class_statistics.class_points`)."""
    fig = new_figure(4.8, 4.4)
    axes = fig.add_subplot()
    axes.plot([0, 1], [0, 1], color="#999999", linestyle="--", linewidth=1, label="chance")
    axes.plot(x, y, color="#b2182b", linewidth=1.8, label=f"success rate (AUC {auc:.3f})")
    if points[0]:
        names = list(CLASS_NAMES)[::-1]
        colours = list(CLASS_COLOURS)[::-1]
        for px, py, name, colour in zip(points[0], points[1], names, colours, strict=True):
            axes.scatter([px], [py], color=colour, edgecolor="#333333", zorder=3, s=30)
            axes.annotate(f"…{name}", (px, py), xytext=(5, -10), textcoords="offset points",
                          fontsize=7)
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1.02)
    axes.set_xlabel("cumulative share of the study area (highest susceptibility first)")
    axes.set_ylabel("cumulative share of landslide area")
    axes.legend(loc="lower right", fontsize=8)
    axes.grid(alpha=0.3)
    return fig


def histogram_figure(histogram, minimum, maximum, breaks):
    """The value histogram (bins over ``[minimum, maximum]``) coloured by class."""
    fig = new_figure(6.0, 3.0)
    axes = fig.add_subplot()
    counts = np.asarray(histogram, dtype=np.float64)
    group = max(1, counts.size // 100)
    counts = counts[: counts.size // group * group].reshape(-1, group).sum(axis=1)
    edges = np.linspace(minimum, maximum, counts.size + 1)
    classes = classify_values((edges[:-1] + edges[1:]) / 2, breaks)
    axes.bar(edges[:-1], counts, width=np.diff(edges), align="edge",
             color=[CLASS_COLOURS[c - 1] for c in classes], linewidth=0)
    for b in breaks:
        axes.axvline(b, color="#333333", linewidth=0.8, linestyle=":")
    axes.set_xlabel("susceptibility value")
    axes.set_ylabel("cells")
    axes.set_title("Distribution of values and class breaks")
    return fig


def map_figure(preview):
    """The classes ``preview`` (0 = nodata) as a picture with a legend."""
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    rows, cols = preview.shape
    width = 5.5
    fig = new_figure(width + 1.6, max(2.0, width * rows / max(cols, 1)))
    axes = fig.add_subplot()
    cmap = ListedColormap(["#ffffff", *CLASS_COLOURS])
    axes.imshow(preview, cmap=cmap, vmin=-0.5, vmax=CLASS_COUNT + 0.5,
                interpolation="nearest")
    axes.set_xticks([])
    axes.set_yticks([])
    handles = [Patch(facecolor=c, edgecolor="#333333", label=n)
               for n, c in zip(CLASS_NAMES[::-1], CLASS_COLOURS[::-1], strict=True)]
    axes.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1), fontsize=8,
                frameon=False)
    return fig
