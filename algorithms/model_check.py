"""Check a model's card against a stack on the QGIS side, before the engine starts."""

from qgis.core import QgsProcessingException

from ..core.errors import InputError
from ..core.model_card import check_stack_matches, read_card
from ..core.stack import read_stack_info


def check_model_against_stack(model_path, stack_path):
    """Return the model card; raise a clear error when the stack does not match."""
    try:
        card = read_card(model_path)
        info = read_stack_info(stack_path)
        check_stack_matches(card, info.names, info.categorical)
    except InputError as exc:
        raise QgsProcessingException(str(exc)) from exc
    return card
