"""The HTML report of the susceptibility classes (``landslide:classifysusceptibility``):
settings, the class table, LD per class, the success-rate curve and its AUC,
the distribution of values and a picture of the map."""

from .class_figures import curve_figure, histogram_figure, ld_figure, map_figure, percent
from .class_statistics import class_points
from .map_comparison_report import in_landslide_section
from .metric_names import format_number
from .report import Report

# The report's class table: (heading, key of the row, kind of number of the rounding
# rule, shown in percent). Shares and LD are fractions in the rows (and in the table
# output); the report shows them in percent.
REPORT_TABLE = [("Class", "class", "count", False), ("Name", "name", None, False),
                ("Cells", "cells", "count", False), ("Area (km²)", "area_km2", "area", False),
                ("Area share (%)", "area_share", "percent", True),
                ("Landslide cells", "landslide_cells", "count", False),
                ("Landslide share (%)", "landslide_share", "percent", True),
                ("LD (% of class area)", "ld", "percent", True),
                ("FR", "fr", "ratio", False), ("SCAI", "scai", "ratio", False)]
REPORT_COLUMNS = [heading for heading, *_ in REPORT_TABLE]


def write_report(path, rows, summary_stats, counts, raster, breaks, settings,
                 warnings=None, inside=None):
    """Write the report to ``path``: ``rows`` and ``summary_stats`` from
    :func:`.class_statistics.class_statistics`, ``counts`` the
    :class:`.class_counts.ClassCounts`, ``raster`` the
    :class:`.class_raster.RasterSummary`, ``settings`` a dict of what was used."""
    report = Report("Susceptibility classes")
    report.settings(list(settings.items()) + [
        ("Class breaks", ", ".join(f"{b:.6g}" for b in breaks)),
        ("Value range", f"{raster.minimum:.6g} … {raster.maximum:.6g}"),
        ("Valid cells", raster.valid),
        ("Area", f"{format_number(summary_stats['area_km2'], 'area')} km²"
                 + (f" ({counts.area_note})" if counts.area_note else ""))])
    report.warnings(warnings)
    _classes_section(report, rows, summary_stats)
    if counts.landslide_cells is not None:
        _landslide_section(report, rows, summary_stats)
        in_landslide_section(report, inside)  # .map_comparison.in_landslide_statistics
    else:
        report.note("No landslide inventory was given: no landslide statistics and no "
                    "success-rate curve.")
    _values_section(report, counts, raster, breaks)
    return report.write(path)


def _classes_section(report, rows, summary_stats):
    report.heading("Classes")
    report.table(REPORT_COLUMNS, report_rows(rows), kinds=[k for _, _, k, _ in REPORT_TABLE])
    report.note("Area share: percent of the valid cells in the class. Landslide share: "
                "percent of the landslide cells (on valid cells) in the class. LD (landslide "
                "density, as the paper defines it: landslide area of the class / area of the "
                "class) in percent of the class's area. FR (frequency ratio) = landslide "
                "share / area share. SCAI (seed cell area index) = area share / landslide "
                "share = 1 / FR. A class holds the values above the break below it and up to "
                "(including) the break above it. The table output keeps shares and LD as "
                "fractions (0–1).")
    for note in summary_stats["notes"]:
        report.note(note)


def _landslide_section(report, rows, summary_stats):
    report.paragraph(
        f"{_percent(summary_stats['high_landslide_share'])} of the landslide area lies in "
        f"the High and Very high classes, which cover "
        f"{_percent(summary_stats['high_area_share'])} of the area. Landslide cells: "
        f"{summary_stats['landslide_cells']} (overall LD "
        f"{_percent(summary_stats['landslide_density'])} of the area).")
    report.figure(ld_figure(rows), caption="Landslide density (LD) per class, in percent "
                  "of the class's area; a good map has LD rising from Very low to Very high.")
    x, y = summary_stats["curve"]
    auc = summary_stats["auc"]
    report.heading("Success-rate curve")
    report.paragraph("Area under the success-rate curve (AUC): "
                     f"{format_number(auc, 'score')}.")
    report.note("The success-rate AUC counts landslide cells in the area too, so it is "
                "a little below the ROC AUC of the same map (AUC_success = AUC_ROC × "
                "(1 − p) + p / 2, p the landslide share of the area).")
    report.figure(curve_figure(x, y, auc, class_points(rows)),
                  caption="Cells ranked from the highest susceptibility down: share of "
                          "the study area against the share of landslide area it holds. "
                          "Dots mark the class limits (legend: cumulative shares from Very "
                          "high down to that class). With the inventory used for "
                          "training this is a success rate; with an independent "
                          "inventory it is a prediction rate.")


def _values_section(report, counts, raster, breaks):
    report.heading("Values and map")
    report.figure(histogram_figure(counts.histogram, raster.minimum, raster.maximum, breaks),
                  caption="Histogram of the susceptibility values coloured by class; dotted "
                          "lines are the breaks.")
    if counts.preview.size:
        step = counts.preview_step
        report.figure(map_figure(counts.preview, step, getattr(raster, "geotransform", None),
                                 getattr(raster, "crs_wkt", "")),
                      caption="The classified map" + (f" (one cell in {step} along each "
                                                      "side)" if step > 1 else "")
                      + ", in the raster's map coordinates.")


def report_rows(rows):
    """The class rows as lists in the order of :data:`REPORT_TABLE` (shares and LD in
    percent)."""
    return [[percent(row[key]) if in_percent and row[key] is not None else row[key]
             for _, key, _, in_percent in REPORT_TABLE] for row in rows]


def _percent(fraction):
    return format_number(percent(fraction), "percent") + " %"
