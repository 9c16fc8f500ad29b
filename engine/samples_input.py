"""Samples for engine commands: the buildsamples layer (read with OGR) or a
``.npz`` with ``rows``, ``cols``, ``labels``, ``splits`` written by the QGIS side
(for layers that are not files, e.g. memory layers or edited layers)."""

import json

import numpy as np

from ..core.sample_layer import read_sample_layer


def load_samples(source, stack_info=None, reporter=None):
    """Return ``((rows, cols, labels, splits), summary or None)``; with
    ``stack_info`` the points are checked against (and re-gridded to) its grid."""
    if str(source).endswith(".npz"):
        data = np.load(source, allow_pickle=False)
        samples = (data["rows"].astype(np.int64), data["cols"].astype(np.int64),
                   data["labels"].astype(np.int64), data["splits"].astype(str))
        summary = json.loads(str(data["summary"])) if "summary" in data.files else None
        return samples, summary
    warnings = []
    grid = (stack_info.geotransform, stack_info.shape) if stack_info is not None else None
    samples = read_sample_layer(source, grid=grid, warnings=warnings)
    for message in warnings:
        if reporter is not None:
            reporter.warning(message)
    return samples, _layer_summary(source)


def _layer_summary(source):
    from osgeo import ogr

    path, _, layer_name = str(source).partition("|layername=")
    dataset = ogr.Open(path)
    layer = dataset.GetLayerByName(layer_name.split("|")[0]) if layer_name \
        else dataset.GetLayer(0)
    text = layer.GetMetadataItem("LANDSLIDE_SAMPLES")
    return json.loads(text) if text else None
