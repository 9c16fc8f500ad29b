"""The factor stack: one multi-band GeoTIFF on one grid, and its metadata.

``landslide:alignfactors`` writes it; every later step reads it with
:func:`read_stack_info`. The metadata lives inside the GeoTIFF (its
``GDAL_METADATA`` tag), so the stack is one self-describing file:

- dataset items: ``LANDSLIDE_STACK`` (format version), ``FACTOR_COUNT``,
  ``NODATA`` (one value for all bands);
- per band: the band description is the factor name; items ``FACTOR`` (name),
  ``CATEGORICAL`` (``true``/``false``), ``CLASSES`` (comma-separated integer
  class values of categorical bands), ``CLASS_NAMES`` (JSON ``{value: name}``,
  optional), ``MEAN`` and ``STD`` (over the valid pixels: the Z-score
  normalisation of the paper is recorded here, not applied to the values),
  ``VALID_PIXELS``, ``SOURCE`` (the file the factor came from).

A pixel is valid only where every band is valid (not nodata, finite).
A plain multi-band GeoTIFF without this metadata still works: bands are named
``band_1``, ``band_2``… (or by their descriptions), treated as continuous,
and :attr:`StackInfo.warnings` says so.

numpy + GDAL only; processing is done in row blocks so big stacks fit in memory.
"""

import contextlib
import json
import math
import os
import tempfile
from dataclasses import asdict, dataclass, field

import numpy as np
from osgeo import gdal

from .errors import InputError
from .files import atomic_output, ensure_writable_dir
from .progress import check_cancelled, never_cancelled, no_progress
from .raster_io import GTIFF_OPTIONS

STACK_FORMAT_KEY = "LANDSLIDE_STACK"
STACK_FORMAT_VERSION = "1"
DEFAULT_NODATA = -9999.0
BLOCK_VALUES = 8_000_000  # values read per block (all bands together)


@dataclass
class BandInfo:
    """One factor of a stack. ``index`` is the 1-based band number."""

    index: int
    name: str
    categorical: bool = False
    classes: list = field(default_factory=list)
    class_names: dict = field(default_factory=dict)
    mean: float | None = None
    std: float | None = None
    valid_pixels: int | None = None
    source: str = ""
    nodata: float | None = None

    def as_dict(self):
        return asdict(self)


@dataclass
class RasterGrid:
    """A raster's file, grid and nodata value (what :func:`.inventory.inventory_mask`
    needs: ``width``, ``height``, ``geotransform``, ``crs_wkt``)."""

    path: str
    width: int
    height: int
    geotransform: tuple
    crs_wkt: str
    nodata: float | None

    @property
    def shape(self):
        return (self.height, self.width)


@dataclass
class StackInfo(RasterGrid):
    """What :func:`read_stack_info` found in a stack (or plain GeoTIFF)."""

    bands: list
    has_metadata: bool = True
    warnings: list = field(default_factory=list)

    @property
    def names(self):
        return [band.name for band in self.bands]

    @property
    def categorical(self):
        return [band.categorical for band in self.bands]

    @property
    def count(self):
        return len(self.bands)

    @property
    def pixel_size(self):
        return (abs(self.geotransform[1]), abs(self.geotransform[5]))

    def band(self, name):
        for band in self.bands:
            if band.name == name:
                return band
        raise InputError(f"The stack '{self.path}' has no factor named '{name}'. "
                         f"Its factors: {', '.join(self.names)}.")


# --- writing -----------------------------------------------------------------

def write_stack_metadata(dataset, bands, nodata):
    """Write the stack metadata of ``bands`` (:class:`BandInfo`) into an open
    GDAL dataset (before it is closed)."""
    dataset.SetMetadata({STACK_FORMAT_KEY: STACK_FORMAT_VERSION,
                         "FACTOR_COUNT": str(len(bands)),
                         "NODATA": repr(float(nodata))})
    for info in bands:
        band = dataset.GetRasterBand(info.index)
        band.SetDescription(info.name)
        items = {"FACTOR": info.name,
                 "CATEGORICAL": "true" if info.categorical else "false"}
        if info.categorical:
            items["CLASSES"] = ",".join(str(int(v)) for v in info.classes)
            if info.class_names:
                items["CLASS_NAMES"] = json.dumps(
                    {str(int(k)): str(v) for k, v in info.class_names.items()})
        if info.mean is not None:
            items["MEAN"] = repr(float(info.mean))
        if info.std is not None:
            items["STD"] = repr(float(info.std))
        if info.valid_pixels is not None:
            items["VALID_PIXELS"] = str(int(info.valid_pixels))
        if info.source:
            items["SOURCE"] = info.source
        band.SetMetadata(items)


# --- reading -----------------------------------------------------------------

def open_raster(path, what="raster"):
    """``gdal.Open`` that raises :class:`InputError` naming ``what``."""
    dataset = gdal.Open(str(path)) if path else None
    if dataset is None:
        raise InputError(f"Cannot open the {what} '{path}'"
                         + (f": {gdal.GetLastErrorMsg()}" if gdal.GetLastErrorMsg() else "")
                         + ". Check that the file exists and is a raster GDAL can read.")
    return dataset


def north_up_geotransform(dataset, path, what, fix):
    """The geotransform of ``dataset``; refuses one without georeferencing or with a
    rotated grid (the message names ``what`` and ends with ``fix``)."""
    geotransform = dataset.GetGeoTransform(can_return_null=True)
    if geotransform is None:
        raise InputError(f"The {what} '{path}' has no georeferencing (geotransform). {fix}")
    if geotransform[2] != 0 or geotransform[4] != 0:
        raise InputError(f"The {what} '{path}' has a rotated grid; only north-up grids are "
                         f"supported. {fix}")
    return geotransform


def _float_or_none(text):
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def read_stack_info(path):
    """Read a factor stack's grid and band metadata.

    A raster without the stack metadata (e.g. a plain GeoTIFF) is accepted:
    bands get the names ``band_1``… (or their descriptions), are continuous,
    have no statistics, and ``warnings`` explains this.
    """
    dataset = open_raster(path, "factor stack")
    geotransform = north_up_geotransform(dataset, path, "factor stack",
                                         "Make the stack with 'Align factors'.")
    warnings = []
    crs_wkt = dataset.GetProjection() or ""
    if not crs_wkt:
        warnings.append(f"The factor stack '{path}' has no coordinate reference system.")
    meta = dataset.GetMetadata() or {}
    has_metadata = STACK_FORMAT_KEY in meta
    bands = []
    nodata_values = []
    for index in range(1, dataset.RasterCount + 1):
        band = dataset.GetRasterBand(index)
        items = band.GetMetadata() or {}
        nodata = band.GetNoDataValue()
        nodata_values.append(nodata)
        if has_metadata:
            name = items.get("FACTOR") or band.GetDescription() or f"band_{index}"
            categorical = items.get("CATEGORICAL", "false").lower() == "true"
            classes = [int(v) for v in items.get("CLASSES", "").split(",") if v.strip()]
            try:
                class_names = {int(k): v for k, v in
                               json.loads(items.get("CLASS_NAMES", "{}")).items()}
            except (ValueError, AttributeError):
                class_names = {}
            bands.append(BandInfo(
                index=index, name=name, categorical=categorical, classes=classes,
                class_names=class_names, mean=_float_or_none(items.get("MEAN")),
                std=_float_or_none(items.get("STD")),
                valid_pixels=int(items["VALID_PIXELS"]) if items.get("VALID_PIXELS",
                                                                      "").isdigit() else None,
                source=items.get("SOURCE", ""), nodata=nodata))
        else:
            name = band.GetDescription().strip() or f"band_{index}"
            bands.append(BandInfo(index=index, name=name, nodata=nodata))
    if not bands:
        raise InputError(f"The factor stack '{path}' has no bands.")
    if not has_metadata:
        warnings.append(
            f"'{os.path.basename(str(path))}' has no factor-stack metadata (it was not made by "
            "'Align factors'): its bands are used as continuous factors named "
            f"{', '.join(b.name for b in bands[:6])}{'…' if len(bands) > 6 else ''}, with no "
            "categorical flags, class values or statistics. Make the stack with "
            "'Align factors' to keep names and categorical flags.")
    # Make names unique (plain GeoTIFFs can repeat descriptions).
    seen = {}
    for band in bands:
        if band.name in seen:
            seen[band.name] += 1
            band.name = f"{band.name}_{seen[band.name]}"
        else:
            seen[band.name] = 1
    distinct = {("nan" if v is not None and math.isnan(v) else v) for v in nodata_values}
    if len(distinct) > 1:
        warnings.append(f"The bands of '{os.path.basename(str(path))}' have different nodata "
                        "values; each band's own value is used.")
    nodata = nodata_values[0]
    if has_metadata and meta.get("NODATA") is not None:
        nodata = float(meta["NODATA"])
    return StackInfo(path=str(path), width=dataset.RasterXSize, height=dataset.RasterYSize,
                     geotransform=tuple(geotransform), crs_wkt=crs_wkt, nodata=nodata,
                     bands=bands, has_metadata=has_metadata, warnings=warnings)


def rows_per_block(width, bands):
    """How many rows to read at once for ``bands`` bands of ``width`` columns."""
    return int(max(1, min(1 << 20, BLOCK_VALUES // max(1, width * max(1, bands)))))


def band_valid(values, nodata):
    """Valid cells of one band's array: finite and not ``nodata``."""
    valid = np.isfinite(values)
    if nodata is not None and not math.isnan(nodata):
        valid &= values != nodata
    return valid


def read_block(dataset, info, row, rows, band_indexes=None):
    """``(values float64 [bands, rows, width], valid bool [rows, width])`` of a row block."""
    band_indexes = band_indexes or [band.index for band in info.bands]
    by_index = {band.index: band for band in info.bands}
    values = np.empty((len(band_indexes), rows, info.width), dtype=np.float64)
    valid = np.ones((rows, info.width), dtype=bool)
    for slot, index in enumerate(band_indexes):
        array = dataset.GetRasterBand(index).ReadAsArray(0, row, info.width, rows)
        if array is None:
            raise InputError(f"Cannot read band {index} of '{info.path}': "
                             f"{gdal.GetLastErrorMsg()}")
        values[slot] = array
        nodata = by_index[index].nodata if by_index[index].nodata is not None else info.nodata
        valid &= band_valid(values[slot], nodata)
    return values, valid


def iter_blocks(info, band_indexes=None, dataset=None):
    """Yield ``(row, values, valid)`` over the stack in row blocks."""
    dataset = dataset or open_raster(info.path, "factor stack")
    count = len(band_indexes) if band_indexes else info.count
    step = rows_per_block(info.width, count)
    for row in range(0, info.height, step):
        rows = min(step, info.height - row)
        values, valid = read_block(dataset, info, row, rows, band_indexes)
        yield row, values, valid


def valid_mask(info, progress=no_progress, is_cancelled=never_cancelled):
    """Boolean array of the stack's valid pixels (valid in every band)."""
    mask = np.zeros(info.shape, dtype=bool)
    for row, _values, valid in iter_blocks(info):
        check_cancelled(is_cancelled)
        mask[row:row + valid.shape[0]] = valid
        progress(100.0 * (row + valid.shape[0]) / info.height)
    return mask


@dataclass
class PixelSample:
    """Values of sampled pixels: ``values[i, b]`` is band ``b`` at ``(rows[i], cols[i])``."""

    values: np.ndarray
    rows: np.ndarray
    cols: np.ndarray
    available: int  # how many pixels could have been drawn


def sample_pixels(info, size, seed=0, select=None, progress=no_progress,
                  is_cancelled=never_cancelled):
    """A uniform random sample of at most ``size`` valid pixels, in one pass.

    ``select`` (optional boolean array of the stack's shape) restricts the
    draw to pixels where it is True. Every candidate gets a random key; the
    ``size`` smallest keys win, so the result depends only on ``seed`` and the
    data. ``size=None`` takes every candidate.
    """
    rng = np.random.default_rng(seed)
    dataset = open_raster(info.path, "factor stack")
    kept_keys = np.empty(0)
    kept_values = np.empty((0, info.count))
    kept_rows = np.empty(0, dtype=np.int64)
    kept_cols = np.empty(0, dtype=np.int64)
    available = 0
    for row, values, valid in iter_blocks(info, dataset=dataset):
        check_cancelled(is_cancelled)
        rows = valid.shape[0]
        candidates = valid if select is None else valid & select[row:row + rows]
        r, c = np.nonzero(candidates)
        available += r.size
        if r.size:
            keys = rng.random(r.size)
            kept_keys = np.concatenate([kept_keys, keys])
            kept_values = np.concatenate([kept_values, values[:, r, c].T])
            kept_rows = np.concatenate([kept_rows, r + row])
            kept_cols = np.concatenate([kept_cols, c])
            if size is not None and kept_keys.size > size:
                best = np.argpartition(kept_keys, size - 1)[:size]
                best.sort()
                kept_keys, kept_values = kept_keys[best], kept_values[best]
                kept_rows, kept_cols = kept_rows[best], kept_cols[best]
        progress(100.0 * (row + rows) / info.height)
    order = np.lexsort((kept_cols, kept_rows))
    return PixelSample(values=kept_values[order], rows=kept_rows[order],
                       cols=kept_cols[order], available=available)


def raster_driver_for(path):
    """The GDAL driver name for an output path, from its extension (GTiff by default)."""
    ext = os.path.splitext(str(path))[1].lower().lstrip(".")
    if ext in ("", "tif", "tiff"):
        return "GTiff"
    for index in range(gdal.GetDriverCount()):
        driver = gdal.GetDriver(index)
        meta = driver.GetMetadata() or {}
        if meta.get(gdal.DCAP_RASTER) != "YES" or meta.get(gdal.DCAP_CREATE) != "YES":
            continue
        if ext in (meta.get(gdal.DMD_EXTENSIONS) or "").lower().split():
            return driver.ShortName
    raise InputError(f"No raster format writes '.{ext}' files ('{path}'). "
                     "Use a GeoTIFF (.tif) output.")


def creation_options(driver):
    return list(GTIFF_OPTIONS) if driver == "GTiff" else []


@contextlib.contextmanager
def raster_output(path):
    """Yield a temporary GeoTIFF path to write; on success it becomes ``path``.

    A ``.tif`` output is renamed into place (:func:`.files.atomic_output`); any
    other extension (``.img``, ``.sdat``…, possibly several files) is converted
    with GDAL after the GeoTIFF is complete. Nothing is written at ``path`` when
    the body fails.
    """
    driver = raster_driver_for(path)
    if driver == "GTiff":
        with atomic_output(str(path)) as tmp:
            yield tmp
        return
    folder = ensure_writable_dir(os.path.dirname(os.path.abspath(str(path))) or ".")
    with tempfile.TemporaryDirectory(prefix=".output_", dir=folder) as scratch:
        tmp = os.path.join(scratch, "output.tif")
        yield tmp
        source = gdal.Open(tmp)
        if source is None:
            raise InputError(f"Cannot read back the output written for '{path}'.")
        copy = gdal.GetDriverByName(driver).CreateCopy(str(path), source, 0)
        if copy is None:
            raise InputError(f"Cannot write '{path}' as {driver}: {gdal.GetLastErrorMsg()}")
        copy = source = None

