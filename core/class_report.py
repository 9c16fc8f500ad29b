"""The HTML report of the susceptibility classes (``landslide:classifysusceptibility``):
settings, the class table, LD per class, the success-rate curve and its AUC,
the distribution of values and a picture of the map."""

from .class_figures import curve_figure, histogram_figure, ld_figure, map_figure
from .class_statistics import class_points, table_rows
from .report import Report

# the headings of the columns of :data:`.class_statistics.TABLE_COLUMNS`
REPORT_COLUMNS = ["class", "name", "cells", "area (km²)", "area share", "landslide cells",
                  "landslide share", "LD", "FR", "SCAI"]


def write_report(path, rows, summary_stats, counts, raster, breaks, settings,
                 warnings=None):
    """Write the report to ``path``: ``rows`` and ``summary_stats`` from
    :func:`.class_statistics.class_statistics`, ``counts`` the
    :class:`.class_counts.ClassCounts`, ``raster`` the
    :class:`.class_raster.RasterSummary`, ``settings`` a dict of what was used."""
    report = Report("Susceptibility classes")
    report.settings(list(settings.items()) + [
        ("Class breaks", ", ".join(f"{b:.6g}" for b in breaks)),
        ("Value range", f"{raster.minimum:.6g} … {raster.maximum:.6g}"),
        ("Valid cells", raster.valid),
        ("Area", f"{summary_stats['area_km2']:.6g} km²"
                 + (f" ({counts.area_note})" if counts.area_note else ""))])
    report.warnings(warnings)
    _classes_section(report, rows, summary_stats)
    if counts.landslide_cells is not None:
        _landslide_section(report, rows, summary_stats)
    else:
        report.note("No landslide inventory was given: no landslide statistics and no "
                    "success-rate curve.")
    _values_section(report, counts, raster, breaks)
    return report.write(path)


def _classes_section(report, rows, summary_stats):
    report.heading("Classes")
    report.table(REPORT_COLUMNS, table_rows(rows), digits=4)
    report.note("Shares are fractions of the valid cells (area share) and of the landslide "
                "cells on valid cells (landslide share). LD (landslide density) = landslide "
                "cells / cells of the class, the fraction of the class that is landslide. "
                "FR (frequency ratio) = landslide share / area share. SCAI (seed cell area "
                "index) = area share / landslide share = 1 / FR. A class holds the values "
                "above the break below it and up to (including) the break above it.")
    for note in summary_stats["notes"]:
        report.note(note)


def _landslide_section(report, rows, summary_stats):
    report.paragraph(
        f"{summary_stats['high_landslide_share']:.1%} of the landslide area lies in the "
        f"High and Very high classes, which cover {summary_stats['high_area_share']:.1%} "
        f"of the area. Landslide cells: {summary_stats['landslide_cells']} "
        f"(overall density {summary_stats['landslide_density']:.3%}).")
    report.figure(ld_figure(rows), caption="Landslide density (LD) per class; a good "
                  "map has LD rising from Very low to Very high.")
    x, y = summary_stats["curve"]
    auc = summary_stats["auc"]
    report.heading("Success-rate curve")
    report.paragraph(f"Area under the success-rate curve (AUC): {auc:.4f}.")
    report.note("The success-rate AUC counts landslide cells in the area too, so it is "
                "a little below the ROC AUC of the same map (AUC_success = AUC_ROC × "
                "(1 − p) + p / 2, p the landslide share of the area).")
    report.figure(curve_figure(x, y, auc, class_points(rows)),
                  caption="Cells ranked from the highest susceptibility down: share of "
                          "the study area against the share of landslide area it holds. "
                          "Dots mark the class limits. With the inventory used for "
                          "training this is a success rate; with an independent "
                          "inventory it is a prediction rate.")


def _values_section(report, counts, raster, breaks):
    report.heading("Values and map")
    report.figure(histogram_figure(counts.histogram, raster.minimum, raster.maximum, breaks),
                  caption="Histogram of the susceptibility values coloured by class; dotted "
                          "lines are the breaks.")
    if counts.preview.size:
        step = counts.preview_step
        report.figure(map_figure(counts.preview),
                      caption="The classified map" + (f" (every {step}th cell)"
                                                      if step > 1 else "") + ".")
