"""Check a model's card against a stack on the QGIS side, before the engine starts."""

from ..core.model_card import check_stack_matches, read_card
from ..core.stack import read_stack_info


def check_model_against_stack(model_path, stack_path):
    """Return the model card; :class:`InputError` (which
    :meth:`.base.LandslideAlgorithm.processAlgorithm` shows as the message) when
    the card is damaged (:func:`read_card` checks it) or the stack does not match."""
    card = read_card(model_path)
    info = read_stack_info(stack_path)
    check_stack_matches(card, info.names, info.categorical)
    return card
