"""The report of ``landslide:explainmodel`` (:mod:`.explain`): the permutation importance
of the factors as a table and bars with their spread, and for networks the
occlusion map of the patch. Figures through :mod:`.report` (Agg, no pyplot)."""

import numpy as np

from .explain import importance_rows
from .report import Report, bar_chart, new_figure


def occlusion_figure(occlusion, window, patches):
    """The mean drop of the landslide probability per patch pixel, the centre marked."""
    data = np.asarray(occlusion, dtype=np.float64)
    size = data.shape[0]
    fig = new_figure(5.2, 4.4)
    axes = fig.add_subplot()
    limit = float(np.nanmax(np.abs(data))) or 1.0
    image = axes.imshow(data, cmap="RdBu_r", vmin=-limit, vmax=limit, interpolation="nearest")
    centre = size // 2  # the patch is centred on pixel (P // 2, P // 2)
    axes.plot([centre], [centre], marker="+", color="black", markersize=12, mew=1.5,
              label="the sample's cell")
    axes.set_xlabel("patch column (pixels)")
    axes.set_ylabel("patch row (pixels)")
    axes.set_title(f"Occlusion: {window}-pixel square, {patches} landslide patches",
                   fontsize=9)
    axes.legend(loc="upper right", fontsize=7)
    fig.colorbar(image, ax=axes, shrink=0.8,
                 label="drop of the landslide probability")
    return fig


def write_explain_report(path, outcome, card, settings):
    """Write the report of an :class:`.specs.map_comparison.ExplainOutcome` to ``path``;
    ``card``: the model card, ``settings``: what was used."""
    report = Report(f"Why the model decides: {card.get('model', 'model')}")
    report.settings(dict(settings, **{"AUC on these samples": f"{outcome.baseline_auc:.4f}"}))
    table = importance_rows(outcome.names, outcome.importance, outcome.importance_std)
    report.heading("Permutation importance")
    report.table(["factor", "AUC drop (mean)", "SD"], table, digits=3)
    report.figure(bar_chart([r[0] for r in table], [r[1] for r in table],
                            errors=[r[2] for r in table], xlabel="drop of the AUC when the "
                            "factor is shuffled", title="Permutation importance"),
                  caption=f"Mean ± SD over {outcome.repeats} shuffles of each factor "
                          f"between the {outcome.count} {outcome.split} samples.")
    report.note("A factor is shuffled by giving each sample the factor's whole patch of "
                "another sample (the other factors stay); the model is not retrained. The "
                "drop of the ROC AUC says how much the model relies on the factor: about 0 "
                "when it ignores it, or when another factor carries the same information "
                "(correlated factors share their importance). Negative values are noise.")
    if outcome.occlusion is not None:
        report.heading("Which parts of the patch matter")
        report.figure(occlusion_figure(outcome.occlusion, outcome.occlusion_window,
                                       outcome.occlusion_patches),
                      caption="Each pixel: the mean drop of the landslide probability when a "
                              "square covering it is set to the training mean of every "
                              "factor (no information), averaged over the landslide patches "
                              "of the split. Red: the model needs that part of the patch."
                              + _views_note(outcome.occlusion, card))
    return report.write(path)


def _views_note(occlusion, card):
    """The caption's words for a map one cell larger than the model's patch: a model
    averaged over flips and turns reads the odd patch around the cell."""
    size, patch = len(occlusion), card.get("patch_size")
    if not patch or size == patch:
        return ""
    return (f" The map is {size} x {size} pixels, one more than the model's {patch} x "
            f"{patch} patch: the model averages over the patch's 8 flips and turns about "
            "the sample's cell, which together read this larger patch.")
