"""The help an algorithm shows beside its dialog, written from its definitions.

An algorithm's ``HELP`` is a short introduction (what it does, the paper's
step) and its ``NOTES`` anything that needs more room; the list of parameters
and outputs between them is generated here from the parameter definitions: the
on-screen label, what the parameter does (its ``help()``, which is also the
dialog's tooltip), and its default and range. So the help names every
parameter by the label the user sees, and a changed default or range shows up
in the help without editing it.
"""

import html

from qgis.core import (
    QgsProcessingParameterBoolean,
    QgsProcessingParameterDefinition,
    QgsProcessingParameterDistance,
    QgsProcessingParameterEnum,
    QgsProcessingParameterNumber,
)

NO_LIMIT = 1e12  # a bound beyond this is "none" (QGIS's own default bounds are ~1.8e308)


def set_help(algorithm, texts):
    """Set ``{key: text}`` as the help (tooltip) of the algorithm's parameters."""
    for key, text in texts.items():
        definition = algorithm.parameterDefinition(key)
        if definition is None:
            raise KeyError(f"{algorithm.name()} has no parameter {key}")
        definition.setHelp(text)


def with_help(definition, text):
    """``definition`` with ``text`` as its help (tooltip); returns it."""
    definition.setHelp(text)
    return definition


def number(value):
    """A number for reading: whole numbers with thousands separators, others by
    ``:g``."""
    value = float(value)
    if value.is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:g}"


def default_text(definition):
    """The default as the dialog shows it ("" when there is none to show)."""
    value = definition.defaultValue()
    if isinstance(definition, QgsProcessingParameterBoolean):
        return "on" if value else "off"
    if value is None or value == "" or definition.isDestination():
        return ""
    if isinstance(definition, QgsProcessingParameterEnum):
        options = definition.options()
        indices = value if isinstance(value, list) else [value]
        try:
            chosen = [options[int(i)] for i in indices]
        except (TypeError, ValueError, IndexError):
            return str(value)
        if definition.allowMultiple() and len(chosen) == len(options) > 2:
            return "all"
        return ", ".join(chosen)
    if isinstance(definition, QgsProcessingParameterNumber):
        return number(value)
    return str(value)


def range_text(definition):
    """``"1 to 100"``, ``"at least 1"``, ``"at most 5"`` or "" for a number."""
    if not isinstance(definition, QgsProcessingParameterNumber):
        return ""
    low, high = definition.minimum(), definition.maximum()
    has_low, has_high = abs(low) < NO_LIMIT, abs(high) < NO_LIMIT
    if has_low and has_high:
        return f"{number(low)} to {number(high)}"
    if has_low:
        return f"at least {number(low)}" if low else ""  # "at least 0" says little
    return f"at most {number(high)}" if has_high else ""


def parameter_item(definition):
    """One list item: label (default, range, optional, advanced): what it does."""
    flags = definition.flags()
    facts = []
    default = default_text(definition)
    if default:
        unit = " map units" if isinstance(definition, QgsProcessingParameterDistance) else ""
        facts.append(f"default {default}{unit}")
    limits = range_text(definition)
    if limits:
        facts.append(limits)
    if flags & QgsProcessingParameterDefinition.FlagOptional and not definition.isDestination():
        facts.append("optional")
    if flags & QgsProcessingParameterDefinition.FlagAdvanced:
        facts.append("under Advanced parameters")
    text = definition.help().strip()
    if text and not text.endswith((".", "!", "?")):
        text += "."
    facts = f" <i>({'; '.join(facts)})</i>" if facts else ""
    return f"<li><b>{html.escape(definition.description())}</b>{facts}: {text}</li>"


def help_html(algorithm, intro, notes=""):
    """The help of ``algorithm``: ``intro``, its parameters, its outputs, ``notes``."""
    definitions = [d for d in algorithm.parameterDefinitions()
                   if not d.flags() & QgsProcessingParameterDefinition.FlagHidden]
    inputs = [d for d in definitions if not d.isDestination()]
    outputs = [d for d in definitions if d.isDestination()]
    parts = [intro.strip()]
    if inputs:
        parts.append("<p><b>Parameters</b></p><ul>"
                     + "".join(parameter_item(d) for d in inputs) + "</ul>")
    if outputs:
        parts.append("<p><b>Outputs</b></p><ul>"
                     + "".join(parameter_item(d) for d in outputs) + "</ul>")
    if notes.strip():
        parts.append(notes.strip())
    return "\n".join(part if part.startswith("<") else f"<p>{part}</p>" for part in parts)


METRICS_TABLE_HELP = ("One row per metric: its name, its value (rounded) and its code for "
                      "scripts: overall accuracy, precision, recall, F1, MCC, Cohen's kappa, "
                      "AUC, RMSE, MAE, Brier score")
