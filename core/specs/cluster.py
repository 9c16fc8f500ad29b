"""The Dask scheduler address of the commands that can run on a cluster
(``predict``, ``compare``): one definition of the parameter, the environment
variable and the Processing setting, and the address check (standard library only).

Empty means this computer, in the engine process, as without a cluster. Precedence
(Processing side): the algorithm's parameter, else the environment variable
:data:`SCHEDULER_ENV`, else the provider setting *Dask scheduler address*. The
engine's command line: ``--scheduler``, else the spec's ``scheduler``, else
:data:`SCHEDULER_ENV`.
"""

import re

from ..errors import InputError
from .spec import param

SCHEDULER_ENV = "LANDSLIDE_DASK_SCHEDULER"
SCHEDULER_SETTING = "LANDSLIDE_DASK_SCHEDULER"  # the provider setting's name
SCHEDULER_LABEL = "Dask scheduler address"
DEFAULT_PORT = 8786
_PROTOCOLS = ("tcp", "tls", "ws", "wss", "inproc", "ucx")


def scheduler_param(key=None):
    """The ``scheduler`` field of a spec (advanced; empty = this computer)."""
    return param("", key=key, label=SCHEDULER_LABEL, kind="string", optional=True,
                 advanced=True,
                 help="Empty: run on this computer. Else the address of a Dask scheduler "
                      "(e.g. tcp://10.0.0.5:8786) whose workers run the engine's "
                      "requirements: the tiles (or trainings) then run on the cluster. "
                      f"Default: the environment variable {SCHEDULER_ENV}, else the "
                      f"Processing setting '{SCHEDULER_LABEL}'")


def normalise_address(text):
    """``"host:port"``, ``"host"`` or ``"tcp://host:port"`` -> ``"tcp://host:port"``;
    ``""`` stays ``""``. Raises InputError on something that is not an address."""
    text = (text or "").strip()
    if not text:
        return ""
    protocol, _, rest = text.rpartition("://")
    protocol = protocol or "tcp"
    if protocol not in _PROTOCOLS:
        raise InputError(f"{SCHEDULER_LABEL} '{text}': unknown protocol '{protocol}://' "
                         f"(one of {', '.join(p + '://' for p in _PROTOCOLS)}).")
    if protocol == "inproc":
        return text
    match = re.fullmatch(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(?::(\d{1,5}))?", rest)
    if not match:
        raise InputError(f"{SCHEDULER_LABEL} '{text}' is not an address: write HOST:PORT, "
                         f"e.g. tcp://10.0.0.5:{DEFAULT_PORT}.")
    port = int(match.group(2) or DEFAULT_PORT)
    if not 0 < port < 65536:
        raise InputError(f"{SCHEDULER_LABEL} '{text}': port {port} is out of range.")
    return f"{protocol}://{match.group(1)}:{port}"


def resolve_scheduler(value, environ, setting=""):
    """The address to use: ``value``, else ``environ[SCHEDULER_ENV]``, else
    ``setting``; normalised (``""`` = this computer)."""
    for candidate in (value, environ.get(SCHEDULER_ENV, ""), setting):
        if candidate and str(candidate).strip():
            return normalise_address(str(candidate))
    return ""
