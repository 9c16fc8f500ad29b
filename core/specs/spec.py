"""The machinery of command specs: typed fields with their Processing face.

A spec is a dataclass whose fields are made with :func:`param`. Each field
carries, besides its default, what the Processing side needs to show it (key,
label, kind, range, choices with display names, advanced flag) and what the
engine side needs to check it. So a default, a range or a choice list is
written once, here, and both sides read it:

- ``algorithms/spec_parameters.py`` builds the Processing parameters from the
  fields and reads the user's values back into a spec;
- the engine's command line turns its JSON parameters into the spec with
  :meth:`Spec.from_json` and hands the validated spec to the command.

Kinds: ``int``, ``float``, ``bool``, ``enum`` (one code of ``choices``),
``enum_multi`` (a list of codes), ``string``, ``file`` (an existing file), ``files``
(a list of existing files),
``distance`` (a float in the map units of the ``parent`` layer), ``file_dest``,
``folder_dest``, ``raster_dest`` (output paths), ``inventory`` (landslides as
polygons, points or a raster mask), ``area`` (polygons or a raster mask), ``raster`` and
``points`` (layers: read by the algorithm itself), and ``data`` (engine-only
structured values, e.g. model hyper-parameters; no Processing parameter).
"""

import dataclasses
import json
import math
from dataclasses import dataclass, field

from ..errors import InputError

LAYER_KINDS = ("raster", "points", "inventory", "area")
REQUIRED = dataclasses.MISSING


@dataclass(frozen=True)
class Param:
    """How one spec field appears in Processing and how it is checked."""

    key: str | None  # Processing parameter name; None: engine-only field
    label: str
    kind: str
    minimum: float | None = None
    maximum: float | None = None
    choices: object = None  # tuple of (code, display name), or a callable returning one
    advanced: bool = False
    optional: bool = False
    file_filter: str = ""  # destinations: "HTML files (*.html)"; file: the extension
    parent: str = ""  # distance: the key of the layer whose units it is in
    help: str = ""  # what the parameter does: the tooltip and the algorithm's help
    decimals: int | None = None  # float: decimals the dialog's spin box shows (QGIS: 6)

    def options(self):
        """The ``(code, display name)`` pairs of an enum."""
        return tuple(self.choices() if callable(self.choices) else self.choices or ())

    def codes(self):
        return [code for code, _ in self.options()]

    def labels(self):
        return [label for _, label in self.options()]


def param(default=REQUIRED, *, key=None, label="", kind="string", minimum=None, maximum=None,
          choices=None, advanced=False, optional=False, file_filter="", parent="", help="",
          decimals=None):
    """A dataclass field with its :class:`Param` in the metadata.

    ``label`` is the short on-screen name; ``help`` says what the parameter does
    (a sentence or two: the tooltip, and the algorithm's help lists it).

    List and dict defaults are copied for every instance; a callable default is
    called for every instance (e.g. the registered models).
    """
    meta = {"param": Param(key, label, kind, minimum, maximum, choices, advanced, optional,
                           file_filter, parent, help, decimals)}
    if callable(default):
        return field(default_factory=default, metadata=meta)
    if isinstance(default, list | dict):
        return field(default_factory=lambda: json.loads(json.dumps(default)), metadata=meta)
    return field(default=default, metadata=meta)


def default_of(spec_class, name):
    """The default value of field ``name`` of ``spec_class`` (a fresh copy)."""
    found = {f.name: f for f in dataclasses.fields(spec_class)}[name]
    if found.default_factory is not dataclasses.MISSING:
        return found.default_factory()
    return None if found.default is dataclasses.MISSING else found.default


@dataclass(kw_only=True)
class Spec:
    """Base of every command spec. Subclasses set ``COMMAND`` and ``RESULT``."""

    COMMAND = ""
    RESULT = None

    @classmethod
    def params(cls):
        """``[(field name, Param)]`` in declaration order."""
        return [(f.name, f.metadata["param"]) for f in dataclasses.fields(cls)
                if "param" in f.metadata]

    @classmethod
    def param_for_key(cls, key):
        return next(((name, p) for name, p in cls.params() if p.key == key), (None, None))

    @classmethod
    def label_of(cls, name):
        """``Label (KEY)`` of field ``name``: as the dialog shows it, and as typed."""
        p = dict(cls.params())[name]
        return f"{p.label} ({p.key})" if p.key else p.label

    @classmethod
    def from_json(cls, data):
        """The spec of a JSON object; unknown names and wrong types raise InputError."""
        if not isinstance(data, dict):
            raise InputError(f"The parameters of '{cls.COMMAND}' must be a JSON object.")
        known = dict(cls.params())
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise InputError(f"Unknown parameter(s) for '{cls.COMMAND}': {', '.join(unknown)}."
                             f" Known: {', '.join(known)}.")
        missing = [known[name].label or name for name in known
                   if name not in data and _required(cls, name)]
        if missing:
            raise InputError(f"'{cls.COMMAND}' needs: {', '.join(missing)}.")
        values = {name: coerce(known[name], name, value) for name, value in data.items()}
        return cls(**values)

    def to_json(self):
        """A JSON-ready dict of the fields (``from_json`` reads it back)."""
        return json.loads(json.dumps(dataclasses.asdict(self)))

    def validate(self):
        """Check ranges, choices and required values, then :meth:`check`; returns self."""
        for name, p in self.params():
            check_value(p, name, getattr(self, name))
        self.check()
        return self

    def check(self):
        """Rules between fields; subclasses override."""

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)


def _required(cls, name):
    found = {f.name: f for f in dataclasses.fields(cls)}[name]
    return found.default is REQUIRED and found.default_factory is REQUIRED


def display(p, name):
    return p.label or name


def coerce(p, name, value):
    """``value`` converted to the field's kind (JSON gives ints for floats, etc.)."""
    what = display(p, name)
    if value is None:
        return None
    try:
        if p.kind == "int":
            number = float(value)
            if not number.is_integer():
                raise InputError(f"{what} must be a whole number, not {value}.")
            return int(number)
        if p.kind in ("float", "distance"):
            return float(value)
        if p.kind == "bool":
            return _boolean(value, what)
        if p.kind == "enum_multi":
            return [str(item) for item in (value if isinstance(value, list | tuple)
                                           else str(value).split(","))]
        if p.kind == "data":
            return value
        if p.kind == "files":
            return [str(item) for item in (value if isinstance(value, list | tuple)
                                           else [value]) if item]
        return str(value)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{what}: {value!r} is not a valid {p.kind}.") from exc


def _boolean(value, what):
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise InputError(f"{what} must be true or false, not {value!r}.")


def check_value(p, name, value):
    """Raise InputError when ``value`` breaks the field's range, choices or need."""
    what = display(p, name)
    if value in (None, "") and p.kind not in ("bool", "data"):
        if p.optional or p.kind in LAYER_KINDS + ("file_dest", "raster_dest", "folder_dest"):
            return
        if p.kind in ("int", "float", "distance"):
            raise InputError(f"{what} needs a value.")
        return
    if p.kind in ("int", "float", "distance"):
        if isinstance(value, float) and not math.isfinite(value):
            raise InputError(f"{what} must be a finite number, not {value}.")
        if p.kind == "int" and not float(value).is_integer():
            raise InputError(f"{what} must be a whole number, not {value:g}.")
        if p.minimum is not None and value < p.minimum:
            raise InputError(f"{what} must be at least {_number(p.minimum)}, not "
                             f"{_number(value)}.")
        if p.maximum is not None and value > p.maximum:
            raise InputError(f"{what} must be at most {_number(p.maximum)}, not "
                             f"{_number(value)}.")
    elif p.kind == "enum":
        _check_codes(p, what, [value])
    elif p.kind == "enum_multi":
        if not value:
            raise InputError(f"{what}: choose at least one of {', '.join(p.labels())}.")
        _check_codes(p, what, value)


def _check_codes(p, what, values):
    codes = p.codes()
    wrong = [str(v) for v in values if v not in codes]
    if wrong:
        choices = "; ".join(f"{code} = {label}" for code, label in p.options())
        raise InputError(f"{what}: '{', '.join(wrong)}' is not one of: {choices}.")


def _number(value):
    return f"{value:g}" if isinstance(value, float) else str(value)


@dataclass(kw_only=True)
class Result:
    """Base of typed command results: a JSON round trip and nothing else."""

    def to_json(self):
        return json.loads(json.dumps(dataclasses.asdict(self), default=_plain))

    @classmethod
    def from_json(cls, data):
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{key: value for key, value in (data or {}).items() if key in names})


def _plain(value):
    """numpy scalars and arrays in results become plain JSON values."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
