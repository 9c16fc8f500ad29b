"""The Dask scheduler address of the algorithms that can run on a cluster: the
algorithm's parameter, else the environment variable ``LANDSLIDE_DASK_SCHEDULER``,
else the provider setting *Dask scheduler address* (Processing options ›
Providers › Landslide susceptibility). Empty: this computer."""

import os

from ..core.specs.cluster import (
    SCHEDULER_ENV,
    SCHEDULER_LABEL,
    SCHEDULER_SETTING,
    resolve_scheduler,
)

SETTING_DESCRIPTION = (f"{SCHEDULER_LABEL} (empty: this computer; e.g. tcp://10.0.0.5:8786 "
                       "runs maps and model comparisons on that Dask cluster; the "
                       f"environment variable {SCHEDULER_ENV} overrides it)")


def configured_scheduler():
    """The provider setting's value ("" when unset or Processing is not loaded)."""
    try:
        from processing.core.ProcessingConfig import ProcessingConfig

        return ProcessingConfig.getSetting(SCHEDULER_SETTING) or ""
    except Exception:  # provider not loaded (e.g. a bare script)
        return ""


def scheduler_address(value=""):
    """The address the engine gets (normalised; "" = this computer)."""
    return resolve_scheduler(value, os.environ, configured_scheduler())
