"""One interface for every trained model, network or classical.

:func:`load_trained` reads a model file's card (:func:`..core.model_card.read_card`),
checks it against a stack when given, and loads the model: a ``.keras`` network
(:func:`..models.load_model`, Keras safe mode) or a classical ``.skops`` model
(:mod:`.classical.model_file`, trusted types only). The result answers the
landslide probability of patches or of stack pixels the same way for both:

* networks: the patch Z-scored with the card's statistics, nodata -> 0
  (:func:`.patches.normalise`), softmax index 1;
* classical models: features of the raw patch (the centre values, and the
  neighbourhood statistics when the model uses them), :mod:`.classical`.
"""

import numpy as np

from ..core.model_card import averages_views, check_stack_matches, read_card
from .patches import PaddedStack, mean_over_views, normalise, stack_for_views, view_size


class LoadedModel:
    """A trained model, ready to give landslide probabilities.

    ``path``: the model file; ``card``: its model card; ``patch_size``: the side
    of the patches it reads. Subclasses define :meth:`probability_of_patches`.
    """

    kind = ""  # "network" or "classical"
    cache_dir = None  # the patch cache folder of :meth:`padded_stack` (None: default)

    def __init__(self, path, card):
        self.path = str(path)
        self.card = card
        self.patch_size = int(card["patch_size"])

    @property
    def bands(self):
        return len(self.card["factors"])

    def probability_of_patches(self, raw):
        """Landslide probability ``(N,)`` of ``raw`` ``(N, P, P, C)`` float32 patches,
        not normalised, NaN = nodata."""
        raise NotImplementedError

    def probability(self, stack, rows, cols, batch_size=256, is_cancelled=None):
        """Landslide probability ``(N,)`` of the patches of ``stack`` (a
        :class:`.patches.PaddedStack` of this model's patch size) centred on
        (rows, cols). Raises ``KeyboardInterrupt`` when ``is_cancelled()``."""
        rows, cols = np.asarray(rows), np.asarray(cols)
        if stack.patch_size not in (self.patch_size, self.read_size):
            raise ValueError(f"the stack's patches are {stack.patch_size} pixels, the "
                             f"model's {self.patch_size}")
        stack = self.readable(stack)
        out = []
        for start in range(0, len(rows), max(1, int(batch_size))):
            if is_cancelled is not None and is_cancelled():
                raise KeyboardInterrupt
            stop = start + batch_size
            out.append(self.probability_of_patches(stack.patches(rows[start:stop],
                                                                 cols[start:stop])))
        return np.concatenate(out).astype(float) if out else np.empty(0)

    @property
    def read_size(self):
        """The side of the patches :meth:`probability_of_patches` takes."""
        return self.patch_size

    def readable(self, stack):
        """``stack`` (padded for :attr:`patch_size`) as this model reads it."""
        return stack

    def padded_stack(self, stack_path, cache_dir=None, is_cancelled=None):
        """The :class:`.patches.PaddedStack` of ``stack_path`` for this model (its
        patches of :attr:`read_size`)."""
        return PaddedStack(stack_path, self.read_size, cache_dir=cache_dir or self.cache_dir,
                           is_cancelled=is_cancelled)


class NetworkModel(LoadedModel):
    """A Keras network of the zoo (``keras_model``)."""

    kind = "network"

    def __init__(self, path, card, keras_model):
        super().__init__(path, card)
        self.keras_model = keras_model
        self.mean = card["normalisation"]["mean"]
        self.std = card["normalisation"]["std"]
        self.average_views = averages_views(card)

    @property
    def read_size(self):
        return view_size(self.patch_size) if self.average_views else self.patch_size

    def readable(self, stack):
        return stack_for_views(stack) if self.average_views else stack

    def probability_of_patches(self, raw):
        """As :meth:`LoadedModel.probability_of_patches`, of patches of
        :attr:`read_size` (averaged over the views when the card asks for it)."""
        if len(raw) == 0:
            return np.empty(0)
        x = normalise(np.asarray(raw, np.float32), self.mean, self.std)

        def probability(patches):
            return np.asarray(self.keras_model(patches, training=False))[:, 1]

        if self.average_views:
            return mean_over_views(probability, x, self.patch_size).astype(float)
        return probability(x).astype(float)

    @property
    def parameters(self):
        return int(self.keras_model.count_params())


def is_classical_card(card):
    from ..models import is_classical

    return is_classical(card.get("model", ""))


def load_trained(path, stack_info=None, cache_dir=None):
    """The :class:`LoadedModel` of the model file ``path``.

    ``stack_info`` (a :class:`..core.stack.StackInfo`), when given, is checked
    against the card (same factors, same order, same categorical flags) before the
    model is loaded. ``cache_dir`` is kept for :meth:`LoadedModel.padded_stack`.
    """
    card = read_card(path)
    if stack_info is not None:
        check_stack_matches(card, stack_info.names, stack_info.categorical)
    if is_classical_card(card):
        from .classical.model_file import load_classical

        model = load_classical(path, card)
    else:
        from ..models import load_model

        p, bands = int(card["patch_size"]), len(card["factors"])
        model = NetworkModel(path, card, load_model(path, compile=False,
                                                    input_shape=(p, p, bands)))
    model.cache_dir = cache_dir
    return model


def wrap_network(path, card, keras_model):
    """A :class:`NetworkModel` of an already loaded Keras model (training)."""
    return NetworkModel(path, card, keras_model)
