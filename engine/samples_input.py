"""Samples for engine commands: the buildsamples layer (read with OGR) or a
``.npz`` with ``rows``, ``cols``, ``labels``, ``splits`` written by the QGIS side
(for layers that are not files, e.g. memory layers or edited layers)."""

import json

import numpy as np

from ..core.errors import InputError
from ..core.sample_layer import read_sample_layer
from ..core.specs.training import DataInputs

STACK_LABEL = DataInputs.param_for_key("STACK")[1].label
SAMPLES_LABEL = DataInputs.param_for_key("SAMPLES")[1].label


def load_samples(source, stack_info=None, reporter=None):
    """Return ``((rows, cols, labels, splits), summary or None)``; with
    ``stack_info`` the points are checked against (and re-gridded to) its grid,
    and the factors of the stack the samples were built on (the summary's
    ``factors``) against the stack's (:func:`check_samples_factors`)."""
    if str(source).endswith(".npz"):
        data = np.load(source, allow_pickle=False)
        samples = (data["rows"].astype(np.int64), data["cols"].astype(np.int64),
                   data["labels"].astype(np.int64), data["splits"].astype(str))
        summary = json.loads(str(data["summary"])) if "summary" in data.files else None
    else:
        warnings = []
        grid = (stack_info.geotransform, stack_info.shape) if stack_info is not None else None
        samples = read_sample_layer(source, grid=grid, warnings=warnings)
        for message in warnings:
            if reporter is not None:
                reporter.warning(message)
        summary = _layer_summary(source)
    if stack_info is not None:
        message = check_samples_factors(summary, stack_info, source)
        if message and reporter is not None:
            reporter.warning(message)
    return samples, summary


def check_samples_factors(summary, stack_info, source):
    """Compare the factors the samples were built on (``summary["factors"]``, recorded
    by buildsamples) with the stack's: :class:`InputError` when their number differs,
    a warning (returned) when the names or their order differ, else ``""``. Samples
    without the record (other tools, older layers) are not checked."""
    built_on = (summary or {}).get("factors")
    if not isinstance(built_on, list) or list(built_on) == stack_info.names:
        return ""
    recorded = f"{len(built_on)} factors ({', '.join(map(str, built_on))})"
    found = f"{stack_info.count} ({', '.join(stack_info.names)})"
    if len(built_on) != stack_info.count:
        raise InputError(
            f"The {SAMPLES_LABEL} '{source}' were built on a stack with {recorded}, but the "
            f"{STACK_LABEL} '{stack_info.path}' has {found}. Choose the stack they were built "
            "on, or build samples on this stack.")
    return (f"The {SAMPLES_LABEL} '{source}' were built on a stack with {recorded}; the "
            f"{STACK_LABEL} '{stack_info.path}' has {found}: the patches are cut from this "
            "stack's factors. If that is not intended, choose the stack they were built on, "
            "or build samples on this stack.")


def _layer_summary(source):
    from osgeo import ogr

    path, _, layer_name = str(source).partition("|layername=")
    dataset = ogr.Open(path)
    layer = dataset.GetLayerByName(layer_name.split("|")[0]) if layer_name \
        else dataset.GetLayer(0)
    text = layer.GetMetadataItem("LANDSLIDE_SAMPLES")
    return json.loads(text) if text else None
