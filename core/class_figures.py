"""The figures of the susceptibility classes report (:mod:`.class_report`):
landslide density per class, the success-rate curve, the value histogram with
the breaks and a picture of the classified map. matplotlib through
:func:`.report.new_figure` (no pyplot).
"""

import math

import numpy as np

from .class_statistics import CLASS_COLOURS, CLASS_COUNT, CLASS_NAMES, classify_values
from .map_furniture import decorate_map, map_frame
from .metric_names import format_number
from .report import new_figure

LD_AXIS_LABEL = "LD (% of the class's area)"


def ld_figure(rows):
    """Bars of the landslide density per class, in percent of the class's area
    (rows of :func:`.class_statistics.class_table`)."""
    fig = new_figure(6.0, 3.4)
    axes = fig.add_subplot()
    values = [percent(r["ld"]) if math.isfinite(r["ld"]) else 0.0 for r in rows]
    positions = range(len(rows))
    axes.bar(positions, values, color=CLASS_COLOURS, edgecolor="#333333", linewidth=0.5)
    for position, value, row in zip(positions, values, rows, strict=True):
        text = format_number(percent(row["ld"]), "percent") + " %"
        axes.annotate(text, (position, value), xytext=(0, 3), textcoords="offset points",
                      ha="center", fontsize=8)
    axes.set_xticks(list(positions))
    axes.set_xticklabels([r["name"] for r in rows])
    axes.set_ylabel(LD_AXIS_LABEL)
    axes.set_ylim(0, max(values + [0.0]) * 1.2 or 1)
    axes.set_title("Landslide density (LD) per class")
    axes.grid(axis="y", alpha=0.3)
    return fig


def percent(fraction):
    """A fraction in percent (NaN stays NaN)."""
    return 100.0 * fraction


def curve_figure(x, y, auc, points):
    """The success-rate curve ``(x, y)`` with the class limits ``points``
    (:func:`.class_statistics.class_points`), explained in a legend inside the axes
    (no label next to a dot, where the dots of small classes would collide)."""
    fig = new_figure(5.2, 4.6)
    axes = fig.add_subplot()
    axes.plot([0, 1], [0, 1], color="#999999", linestyle="--", linewidth=1, label="chance")
    axes.plot(x, y, color="#b2182b", linewidth=1.8,
              label=f"success rate (AUC {format_number(auc, 'score')})")
    if points[0]:
        names = list(CLASS_NAMES)[::-1]
        colours = list(CLASS_COLOURS)[::-1]
        for px, py, name, colour in zip(points[0], points[1], names, colours, strict=True):
            area, slides = (format_number(percent(v), "percent") for v in (px, py))
            axes.scatter([px], [py], color=colour, edgecolor="#333333", zorder=3, s=30,
                         label=f"{name}: {area} % / {slides} %")
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1.02)
    axes.set_xlabel("cumulative share of the study area (highest susceptibility first)")
    axes.set_ylabel("cumulative share of landslide area")
    axes.legend(loc="lower right", fontsize=7.5, title_fontsize=7.5, framealpha=0.9,
                title="Class limits (from Very high down):\n% of area / % of landslides"
                if points[0] else None)
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


def map_figure(preview, step=1, geotransform=None, crs_wkt=""):
    """The classes ``preview`` (0 = nodata; pixel ``(r, c)`` is cell ``(r * step,
    c * step)`` of the raster) as a picture with a legend; with the raster's
    ``geotransform`` (north-up) in map coordinates with the CRS, a scale bar and a
    north arrow."""
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    rows, cols = preview.shape
    frame = map_frame(geotransform, crs_wkt, rows, cols, step)
    width = 5.5
    fig = new_figure(width + 1.6, max(2.5, width * rows / max(cols, 1) + 0.8))
    axes = fig.add_subplot()
    cmap = ListedColormap(["#ffffff", *CLASS_COLOURS])
    axes.imshow(preview, cmap=cmap, vmin=-0.5, vmax=CLASS_COUNT + 0.5,
                interpolation="nearest", extent=frame.extent if frame else None,
                origin=frame.origin if frame else "upper")
    if frame:
        decorate_map(axes, frame)
    else:
        axes.set_xticks([])
        axes.set_yticks([])
    handles = [Patch(facecolor=c, edgecolor="#333333", label=n)
               for n, c in zip(CLASS_NAMES[::-1], CLASS_COLOURS[::-1], strict=True)]
    axes.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1), fontsize=8,
                frameon=False)
    return fig
