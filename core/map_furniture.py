"""Map furniture for the report pictures of rasters: axes in map coordinates
labelled with the CRS, a scale bar of a round length computed from the
geotransform, and a north arrow. matplotlib (through the figures of
:mod:`.report`) and GDAL's ``osr`` only.
"""

import math
from dataclasses import dataclass

METRES_PER_DEGREE = 111_320.0  # along the equator, and along a meridian (within 1 %)


@dataclass(frozen=True)
class MapFrame:
    """Where a picture of ``rows`` x ``cols`` cells lies on the map."""

    extent: tuple  # (left, right, bottom, top) in map units, for imshow
    origin: str  # imshow's origin: "upper" when row 0 is the northern edge
    crs_name: str  # "WGS 84 / UTM zone 17S (EPSG:32717)", or "no CRS"
    geographic: bool
    metres_per_unit: float  # along x at the centre of the picture
    unit: str  # "m", "°", "US survey foot", ...


def map_frame(geotransform, crs_wkt, rows, cols, step=1):
    """The :class:`MapFrame` of a picture whose pixel ``(r, c)`` is cell ``(r * step,
    c * step)`` of a raster with ``geotransform``; None for a rotated grid (no
    north-up axes to draw)."""
    if geotransform is None:
        return None
    x0, dx, rx, y0, ry, dy = (float(v) for v in geotransform)
    if rx or ry or not dx or not dy:
        return None
    x1, y1 = x0 + cols * step * dx, y0 + rows * step * dy
    name, geographic, metres, unit = describe_crs(crs_wkt)
    if geographic:
        metres = METRES_PER_DEGREE * max(math.cos(math.radians((y0 + y1) / 2)), 1e-6)
    return MapFrame(extent=(min(x0, x1), max(x0, x1), min(y0, y1), max(y0, y1)),
                    origin="upper" if dy < 0 else "lower", crs_name=name,
                    geographic=geographic, metres_per_unit=metres, unit=unit)


def describe_crs(crs_wkt):
    """``(name, geographic, metres per unit, unit)`` of a CRS; without a readable CRS
    the map units are taken as metres (as the class areas are)."""
    if not crs_wkt:
        return "no CRS (map units taken as metres)", False, 1.0, "m"
    from osgeo import osr

    srs = osr.SpatialReference()
    if srs.ImportFromWkt(crs_wkt) != 0:
        return "unreadable CRS (map units taken as metres)", False, 1.0, "m"
    name = srs.GetName() or "unnamed CRS"
    authority, code = srs.GetAuthorityName(None), srs.GetAuthorityCode(None)
    if authority and code:
        name = f"{name} ({authority}:{code})"
    if srs.IsGeographic():
        return name, True, METRES_PER_DEGREE, "°"
    metres = float(srs.GetLinearUnits() or 1.0)
    return name, False, metres, "m" if metres == 1.0 else srs.GetLinearUnitsName()


def nice_length(metres):
    """The largest round length (1, 2 or 5 times a power of ten) not above ``metres``."""
    if not metres > 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(metres))
    return max(step * power for step in (1.0, 2.0, 5.0) if step * power <= metres * (1 + 1e-9))


def length_text(metres):
    """``"500 m"``, ``"2 km"``, ``"0.5 m"``."""
    if metres >= 1000:
        return f"{metres / 1000:g} km"
    return f"{metres:g} m"


def decorate_map(axes, frame):
    """Map coordinates on the axes (with the CRS), a scale bar and a north arrow."""
    from matplotlib.ticker import MaxNLocator

    for axis in (axes.xaxis, axes.yaxis):
        axis.set_major_locator(MaxNLocator(nbins=4))
    axes.ticklabel_format(useOffset=False, style="plain")
    axes.tick_params(labelsize=7)
    for label in axes.get_yticklabels():
        label.set(rotation=90, va="center")
    if frame.geographic:
        axes.set(xlabel="longitude (°)", ylabel="latitude (°)")
    else:
        axes.set(xlabel=f"easting ({frame.unit})", ylabel=f"northing ({frame.unit})")
    axes.set_title(f"CRS: {frame.crs_name}", fontsize=8)
    add_scale_bar(axes, frame)
    add_north_arrow(axes)


def add_scale_bar(axes, frame, share=0.25):
    """A scale bar of a round length near ``share`` of the map width, lower left;
    returns the length in metres."""
    from matplotlib.font_manager import FontProperties
    from mpl_toolkits.axes_grid1.anchored_artists import AnchoredSizeBar

    left, right = frame.extent[:2]
    metres = nice_length((right - left) * frame.metres_per_unit * share)
    label = length_text(metres) + (" (at the centre)" if frame.geographic else "")
    thickness = (frame.extent[3] - frame.extent[2]) * 0.012
    bar = AnchoredSizeBar(axes.transData, metres / frame.metres_per_unit, label,
                          loc="lower left", pad=0.4, borderpad=0.6, sep=3, frameon=True,
                          size_vertical=thickness, fontproperties=FontProperties(size=8))
    bar.patch.set(alpha=0.85, edgecolor="#999999")
    axes.add_artist(bar)
    return metres


def add_north_arrow(axes):
    """An arrow pointing to the top of the map (north on a north-up grid), top right."""
    axes.annotate("N", xy=(0.93, 0.97), xytext=(0.93, 0.80), xycoords="axes fraction",
                  ha="center", va="center", fontsize=10, fontweight="bold",
                  bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "alpha": 0.85,
                        "edgecolor": "none"},
                  arrowprops={"facecolor": "black", "edgecolor": "black", "width": 2.5,
                              "headwidth": 8, "headlength": 8, "shrink": 0.0})
