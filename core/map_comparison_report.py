"""The report of ``landslide:comparemaps`` (:mod:`.map_comparison`), and the section on
the susceptibility inside landslides that the classification report shows too.

Figures through :func:`.report.new_figure` (Agg, no pyplot): the maps side by side
(one colour ramp, the inventory outlined, coordinates, scale bar, north arrow), LD
per class as grouped bars by map, every success-rate (and prediction-rate) curve on
one plot, and the Spearman correlation between maps.
"""

import math

import numpy as np

from .class_statistics import CLASS_COLOURS, CLASS_NAMES
from .map_comparison import STATISTICS
from .map_furniture import decorate_map, map_frame
from .report import Report, heatmap, new_figure

STAT_LABELS = {"mean": "mean", "median": "median", "sd": "SD", "mad": "MAD"}
SERIES_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b",
                  "#e377c2", "#17becf", "#7f7f7f", "#bcbd22")
INSIDE_NOTE = ("Susceptibility inside the historical landslides: over the landslide cells, "
               "and over the landslides (the mean value of each landslide, then their mean, "
               "median, …). SD is the population standard deviation, MAD the median absolute "
               "deviation from the median (not scaled). A map that locates landslides well "
               "has a high mean and a low SD and MAD there (the paper's criterion).")


def series_colour(index):
    return SERIES_COLOURS[index % len(SERIES_COLOURS)]


# ----------------------------------------------------------------- in-landslide section


def inside_rows(inside):
    """Table rows (statistic, over cells[, over landslides]) of one map's
    :func:`.map_comparison.in_landslide_statistics`."""
    slides = inside.get("landslides") is not None
    return [[STAT_LABELS[key], inside["cell"][key]] + ([inside["slide"][key]] if slides else [])
            for key in STATISTICS]


def in_landslide_section(report, inside):
    """The classification report's section: ``inside`` from
    :func:`.map_comparison.in_landslide_statistics` (nothing when None)."""
    if not inside:
        return
    report.heading("Susceptibility inside the landslides")
    slides = inside.get("landslides")
    report.paragraph(f"{inside['cells']} landslide cells"
                     + (f" in {slides} landslides." if slides else "."))
    headers = ["statistic", "over landslide cells"]
    if slides is not None:
        headers.append("over landslides (their means)")
    report.table(headers, inside_rows(inside), digits=4)
    report.note(INSIDE_NOTE)


# ----------------------------------------------------------------- figures


def _value_range(comparison):
    low = min(result.summary.minimum for result in comparison.maps)
    high = max(result.summary.maximum for result in comparison.maps)
    return (0.0, 1.0) if low >= 0.0 and high <= 1.0 else (low, high)


def maps_figure(comparison):
    """The maps side by side, one colour ramp, the inventory outlined."""
    from matplotlib.colors import LinearSegmentedColormap

    count = len(comparison.maps)
    columns = min(count, 3)
    lines = math.ceil(count / columns)
    rows, cols = comparison.maps[0].preview.shape
    panel = 4.2
    fig = new_figure(panel * columns + 1.0, lines * (panel * rows / max(cols, 1) + 0.9))
    cmap = LinearSegmentedColormap.from_list("susceptibility", CLASS_COLOURS)
    cmap.set_bad("#ffffff")
    vmin, vmax = _value_range(comparison)
    grid = comparison.grid
    image, axes_list = None, []
    for index, result in enumerate(comparison.maps):
        axes = fig.add_subplot(lines, columns, index + 1)
        axes_list.append(axes)
        frame = map_frame(grid.geotransform, grid.crs_wkt, rows, cols,
                          comparison.preview_step)
        image = axes.imshow(result.preview, cmap=cmap, vmin=vmin, vmax=vmax,
                            interpolation="nearest", extent=frame.extent, origin=frame.origin)
        _outline(axes, comparison.inventory_preview, frame, "#000000")
        if comparison.validation_preview is not None:
            _outline(axes, comparison.validation_preview, frame, "#1f3fbf")
        decorate_map(axes, frame)
        axes.set_title(result.name, fontsize=10)
    fig.colorbar(image, ax=axes_list, shrink=0.7, label="landslide susceptibility")
    return fig


def _outline(axes, mask, frame, colour):
    if mask is None or not mask.any() or min(mask.shape) < 2:
        return
    axes.contour(mask.astype(np.float32), levels=[0.5], colors=colour, linewidths=0.7,
                 extent=frame.extent, origin=frame.origin)


def ld_bars_figure(comparison):
    """LD per class (percent of the class's area), grouped by class, one bar per map."""
    fig = new_figure(7.0, 3.8)
    axes = fig.add_subplot()
    maps = [result for result in comparison.maps if result.rows]
    width = 0.8 / max(len(maps), 1)
    for index, result in enumerate(maps):
        values = [100.0 * row["ld"] if math.isfinite(row["ld"]) else 0.0
                  for row in result.rows]
        positions = np.arange(len(CLASS_NAMES)) - 0.4 + width * (index + 0.5)
        axes.bar(positions, values, width=width, color=series_colour(index),
                 edgecolor="#333333", linewidth=0.4, label=result.name)
    axes.set_xticks(range(len(CLASS_NAMES)))
    axes.set_xticklabels(CLASS_NAMES)
    axes.set_ylabel("LD (% of the class's area)")
    axes.set_title("Landslide density (LD) per class")
    axes.grid(axis="y", alpha=0.3)
    axes.legend(fontsize=8)
    return fig


def curves_figure(comparison):
    """Every map's success-rate curve (solid) and prediction-rate curve (dashed)."""
    fig = new_figure(5.6, 5.0)
    axes = fig.add_subplot()
    axes.plot([0, 1], [0, 1], color="#999999", linestyle=":", linewidth=1, label="chance")
    for index, result in enumerate(comparison.maps):
        curve = result.stats.get("curve")
        if curve is not None:
            axes.plot(*curve, color=series_colour(index), linewidth=1.6,
                      label=f"{result.name}: success {result.stats['auc']:.3f}")
        if result.prediction and result.prediction.get("curve") is not None:
            axes.plot(*result.prediction["curve"], color=series_colour(index),
                      linestyle="--", linewidth=1.2,
                      label=f"{result.name}: prediction {result.prediction['auc']:.3f}")
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1.02)
    axes.set_xlabel("cumulative share of the study area (highest susceptibility first)")
    axes.set_ylabel("cumulative share of landslide area")
    axes.legend(loc="lower right", fontsize=7.5, title="map: rate AUC", title_fontsize=7.5)
    axes.grid(alpha=0.3)
    return fig


# ----------------------------------------------------------------- the report


INSIDE_HEADERS = (["map", "landslide cells", "landslides"]
                  + [f"{STAT_LABELS[k]} (cells)" for k in STATISTICS]
                  + [f"{STAT_LABELS[k]} (landslides)" for k in STATISTICS])
CLASS_HEADERS = (["map", "success-rate AUC", "prediction-rate AUC",
                  "landslides in High + Very high", "area in Very high"]
                 + [f"LD {name}" for name in CLASS_NAMES])


def write_comparison_report(path, comparison, settings, warnings=None):
    """Write the report of a :class:`.map_comparison.Comparison` to ``path``;
    ``settings``: ``(name, value)`` pairs of what was used."""
    report = Report("Susceptibility maps compared")
    report.settings(list(settings) + [
        ("Grid (the first map's)", comparison.grid.describe()),
        ("Landslide cells", comparison.landslide_cells),
        ("Landslides", f"{comparison.landslides} ({comparison.landslides_are})")])
    report.warnings(warnings)
    rows = comparison.table_rows()
    split = len(INSIDE_HEADERS)
    report.heading("Susceptibility inside the landslides")
    report.table(INSIDE_HEADERS, [row[:split] for row in rows], digits=4)
    report.note(INSIDE_NOTE)
    report.heading("Classes and success rate")
    report.table(CLASS_HEADERS, [row[:1] + row[split:] for row in rows], digits=4)
    report.note("One class method for every map. Shares and LD are fractions; LD (landslide "
                "density) = landslide cells / cells of the class.")
    for line in verdicts(comparison):
        report.paragraph(line)
    report.heading("Maps")
    report.figure(maps_figure(comparison),
                  caption="The maps on one colour ramp; black outlines: the inventory"
                  + ("; blue outlines: the validation inventory"
                     if comparison.validation_preview is not None else "")
                  + (f" (every {comparison.preview_step}th cell)"
                     if comparison.preview_step > 1 else "") + ".")
    report.heading("Landslide density per class")
    report.figure(ld_bars_figure(comparison), caption="A good map has LD rising steeply "
                  "from Very low to Very high.")
    report.heading("Success-rate curves")
    report.figure(curves_figure(comparison), caption="Cells ranked from the highest "
                  "susceptibility down against the share of landslide area they hold: "
                  "success rate with the inventory, prediction rate (dashed) with the "
                  "independent validation inventory.")
    _spearman_section(report, comparison)
    return report.write(path)


def _spearman_section(report, comparison):
    if len(comparison.maps) < 2:
        return
    report.heading("Agreement between the maps")
    names = [result.name for result in comparison.maps]
    report.figure(heatmap(comparison.spearman, names, title="Spearman rank correlation",
                          colorbar_label="Spearman ρ"),
                  caption=f"Spearman rank correlation between the maps' values at "
                          f"{comparison.spearman_cells} cells drawn at random among the cells "
                          "valid in every map (a sample, not every cell). 1: the maps rank "
                          "the cells alike.")


def verdicts(comparison):
    """Plain-words lines: which map is best by each criterion."""
    lines = []
    criteria = (("cell", "mean", max, "highest mean susceptibility inside landslides"),
                ("cell", "sd", min, "lowest SD inside landslides"),
                ("cell", "mad", min, "lowest MAD inside landslides"))
    for part, key, pick, text in criteria:
        found = [(r.inside[part][key], r.name) for r in comparison.maps
                 if math.isfinite(r.inside[part][key])]
        if len(found) > 1:
            value, name = pick(found)
            lines.append(f"{name} has the {text} ({value:.4f}).")
    aucs = [(r.stats.get("auc", math.nan), r.name) for r in comparison.maps]
    aucs = [(a, n) for a, n in aucs if math.isfinite(a)]
    if len(aucs) > 1:
        value, name = max(aucs)
        lines.append(f"{name} has the highest success-rate AUC ({value:.4f}).")
    return lines
