"""The whole buildsamples step on files: inventory + stack -> samples layer."""

import math

from .inventory import inventory_mask
from .mapped_area import read_mapped_area
from .progress import check_cancelled, never_cancelled, no_progress, scaled
from .sample_layer import write_sample_layer
from .samples import RANDOM, draw_samples
from .specs.samples import DEFAULT_PATCH_SIZE, RATIOS, SAMPLES_PER_CLASS
from .stack import read_stack_info, valid_mask


def build_samples(stack_path, inventory, output, patch_size=DEFAULT_PATCH_SIZE,
                  samples_per_class=SAMPLES_PER_CLASS, split_method=RANDOM, block_size=None,
                  ratios=RATIOS, negative_buffer=0.0,
                  seed=0, layer_name=None, kind=None, mapped_area=None, area_layer_name=None,
                  area_kind=None, progress=no_progress, is_cancelled=never_cancelled):
    """Draw and split patch centres; write the point layer at ``output``.

    ``block_size`` and ``negative_buffer`` are in map units of the stack and are
    converted to whole cells (rounded up). ``mapped_area`` (optional: polygons
    or a raster mask, :mod:`.mapped_area`) keeps every centre and block inside
    it. Returns the summary, warnings and path.
    """
    info = read_stack_info(stack_path)
    warnings = list(info.warnings)
    cell = max(info.pixel_size)
    inventory_result = inventory_mask(inventory, info, layer_name=layer_name, kind=kind,
                                      progress=scaled(progress, 0, 20),
                                      is_cancelled=is_cancelled)
    warnings += inventory_result.warnings
    valid = valid_mask(info, progress=scaled(progress, 20, 40), is_cancelled=is_cancelled)
    check_cancelled(is_cancelled)
    area = None
    if mapped_area:
        area = read_mapped_area(mapped_area, info, valid, inventory_result.mask,
                                layer_name=area_layer_name, kind=area_kind,
                                progress=scaled(progress, 40, 50), is_cancelled=is_cancelled)
        warnings += area.warnings
        valid = area.mask
    block_cells = math.ceil(block_size / cell) if block_size else None
    buffer_cells = math.ceil(negative_buffer / cell) if negative_buffer else 0
    drawn = draw_samples(inventory_result.mask, valid, patch_size=patch_size,
                         samples_per_class=samples_per_class, split_method=split_method,
                         block_cells=block_cells, ratios=ratios,
                         negative_buffer_cells=buffer_cells, seed=seed,
                         area_mask=None if area is None else area.mask,
                         progress=scaled(progress, 50, 85), is_cancelled=is_cancelled)
    warnings += drawn["warnings"] + _split_warnings(drawn["splits"])
    summary = dict(drawn["summary"], patch_size=patch_size, seed=seed,
                   split_method=split_method,
                   block_cells=block_cells, negative_buffer_cells=buffer_cells,
                   landslide_pixels=int((inventory_result.mask & valid).sum()),
                   factors=info.names,
                   mapped_area=None if area is None else area.summary())
    check_cancelled(is_cancelled)
    write_sample_layer(output, drawn["rows"], drawn["cols"], drawn["labels"], drawn["splits"],
                       info.geotransform, info.crs_wkt, summary)
    progress(100)
    return {"output": output, "summary": summary, "warnings": warnings}


def _split_warnings(splits):
    """A warning when no sample is in the test split (TEST_RATIO 0)."""
    if (splits == "test").any():
        return []
    return ["No sample is in the test split (Test ratio 0): 'Train landslide model' and "
            "'Compare landslide models' will compute no test metrics (their metrics table "
            "stays empty). Keep a test ratio above 0, or evaluate the model later with "
            "'Evaluate landslide model' on other samples."]
