"""The model card of a trained model (:mod:`..core.model_card`), the same keys for
networks (:mod:`.training`) and classical models (:mod:`.classical.train`)."""

import os
import time


def plugin_version():
    """The plugin's version, from metadata.txt (the one place it is written)."""
    import configparser

    metadata = configparser.ConfigParser()
    metadata.read(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                               "metadata.txt"))
    return metadata.get("general", "version", fallback="unknown")


def model_card_of(spec, info, data, parameters, training, device, versions):
    """The model card (:mod:`..core.model_card`) of a model of ``spec`` trained on
    ``data`` (a :class:`.training.Prepared`) of the stack ``info``: the same keys for every
    model; ``training``, ``device`` and ``versions`` say how it was made."""
    return {
        "plugin_version": plugin_version(),
        "model": spec.model,
        "hparams": data.hparams,
        "parameters": int(parameters),
        "patch_size": data.patch_size,
        "factors": info.names,
        "categorical": info.categorical,
        "classes": {band.name: band.classes for band in info.bands if band.categorical},
        "normalisation": {"mean": data.mean, "std": data.std,
                          "source": "training split patches"},
        "border_rule": "reflect padding of half a patch at the raster edge; nodata -> 0 "
                       "after normalisation",
        "training": training,
        "data": {"stack": os.path.abspath(info.path), "train_samples": len(data.train[0]),
                 "validation_samples": len(data.validation[0]),
                 "samples_summary": data.summary},
        "device": device,
        "versions": versions,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
