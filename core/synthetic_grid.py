"""The grid of the synthetic study area: CRS, top-left corner and nodata value."""

EPSG = 32617
CRS = f"EPSG:{EPSG}"
ORIGIN = (500000.0, 4200000.0)  # top-left corner: WGS 84 / UTM 17N, about 37.9 N 81 W
NODATA = -9999.0
