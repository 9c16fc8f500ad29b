"""``pretrain``: self-supervised pretraining of a network's encoder on the stack.

Spec: :class:`...core.specs.pretraining.PretrainSpec` (stack, model, patch size,
unlabelled patches, masked share, settings, output encoder). Result:
:class:`...core.specs.pretraining.PretrainOutcome` (encoder path, losses, epochs
run, seconds, card, cancelled flag). The work is :func:`..pretraining.pretrain`.
"""

from ...core.stack import read_stack_info
from ..pretraining import pretrain


def run(spec, reporter):
    stack_info = read_stack_info(spec.stack)
    for warning in stack_info.warnings:
        reporter.warning(warning)
    return pretrain(spec, stack_info, reporter)
