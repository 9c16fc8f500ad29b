"""landslide:comparemodels: which model is best for this data, and is the
difference real (spatial cross-validation, paired tests)."""

from qgis.core import QgsProcessing, QgsProcessingParameterFeatureSink

from ..core.metric_names import METRIC_KIND, METRIC_ORDER, rounded
from ..core.specs import CompareSpec
from ..core.specs.training import DEFAULT_FOLDS, DEFAULT_REPEATS
from .help_text import with_help
from .outputs import write_table
from .spec_parameters import add_spec_parameters
from .training_parameters import TrainingAlgorithm

RESULT_VALUES = [("BEST_MODEL", str, "Best model by AUC"),
                 ("VERDICT", str, "Verdict of the comparison")]
VALIDATION_KEYS = ["VALIDATION", "FOLDS", "REPEATS", "BLOCK_SIZE", "REFIT", "ENSEMBLE_SEEDS",
                   "BLEND"]
FOLD_TABLE = ("OUTPUT_FOLDS", "Metrics of every fold")
FOLD_TABLE_HELP = ("One row per model and fold: the repeat and fold (from 1), the training, "
                   "validation and test sample counts, every metric on the fold's test "
                   "part and the training time (s)")


def _label(name):
    """The on-screen label of a comparison setting, for the help."""
    return f"<i>{dict(CompareSpec.params())[name].label}</i>"


class CompareModels(TrainingAlgorithm):
    NAME = "comparemodels"
    DISPLAY_NAME = "Compare landslide models"
    GROUP = "models"
    ICON = "compare"
    NOTHING_WRITTEN = "Cancelled before any model finished a fold: nothing was written."
    TABLE, VALUES = ("OUTPUT_TABLE", "Comparison table"), RESULT_VALUES
    TABLE_HELP = (
        "One row per model: every metric (overall accuracy, precision, recall, F1, MCC, "
        "Cohen's kappa, AUC, RMSE, MAE, Brier score) as the mean over the folds and its "
        "standard deviation (NAME_sd), the number of folds, how much lower the mean AUC is "
        "than the best model's (auc_below_best), the p-values of that difference (p_ttest: "
        "corrected resampled t-test of Nadeau and Bengio; p_wilcoxon: Wilcoxon signed-rank "
        "test), parameters, FLOPs per patch, training time per fold (s) and the saved model")
    SPEC, MODEL_KEY, OUTPUT_KEY = CompareSpec, "MODELS", "OUTPUT_FOLDER"
    HELP = (
        "Trains and tests several models on the same samples, the same folds and the same "
        "settings: which model is best for your data, and whether the difference is real. "
        "The paper's Table 2, cross-validated.")
    NOTES = (
        "<b>Why spatial k-fold is the default</b>: test scores on one split, and more so on "
        "a random split whose test patches overlap training patches, vary between splits "
        "more than most models differ (on real areas ± 0.05 to 0.12 AUC between seeds). "
        "Spatial folds measure how a model predicts places it has not seen, and the spread "
        "over the folds says whether a difference is real.<br>"
        "<i>Spatial k-fold</i> cuts the map into square blocks "
        f"({_label('block_size')}) and deals them to k folds, the blocks holding "
        "landslides first so every "
        f"fold has some ({DEFAULT_FOLDS} folds by default); each fold is the test set once. "
        "Training and validation centres less than one patch from a test centre are "
        "dropped, so no test patch shares a pixel with a patch the model learned from; the "
        "validation split of the networks (the model kept, early stopping) is the next "
        "fold's blocks (with 2 folds, a quarter of the training blocks); every model "
        "learns from the same blocks (the classical models score the validation blocks "
        "in their card). <i>Repeated spatial k-fold</i> repeats it "
        f"({DEFAULT_REPEATS} times by default) with the block grid shifted. <i>The samples' "
        "own split</i> trains once on the split of the samples layer (the paper's; no "
        "significance test). The same seed gives the same folds. Too few blocks with "
        "landslides for the folds, or a fold whose training, validation or test part "
        "misses a class, is refused with what to change.<br>"
        "The verdict (log, report, result <i>Verdict of the comparison</i>) names the best "
        "model by mean AUC and, for each other model, how much lower it is and whether that "
        "is significant at 5 % by the corrected resampled t-test (the Wilcoxon p-value "
        "beside it cannot go below 0.0625 with 5 folds). The report adds box plots of the "
        "per-fold AUC and the ROC curves of all folds' test predictions pooled per model.<br>"
        "With <i>Refit on all samples and save</i> (on by default) every "
        "model is trained once more on all samples after the folds and saved in the output "
        "folder with its report, so the best can be mapped; the folds' own models are not "
        "kept. With the samples' own split the models of that split are saved.<br>"
        f"With {_label('ensemble_seeds')} above 1 every network is a deep ensemble: each "
        "fold (and the refit) trains it with the random seed and the next ones and scores "
        "the mean of their probabilities, which is what 'Predict landslide susceptibility' "
        "maps when it is given those models (the log names the refit's files). It costs one "
        "training per seed.<br>"
        f"With {_label('blend')} (on by default), when networks and classical models are "
        "compared, one more row scores the mean of the best network's and the best "
        "classical model's probabilities on every fold, at no training cost, with its test "
        "against the best model; the verdict says how to map it (both files given to "
        "'Predict landslide susceptibility'). It is not a candidate for the best model, "
        "which stays one model file.<br>"
        "<i>Cancel</i> stops the current training and skips the rest; the statistics hold "
        "the folds every model finished.")

    def initAlgorithm(self, config=None):
        """The training algorithm's parameters, with the validation settings right
        after the models (the inputs after them are taken out and put back)."""
        super().initAlgorithm(config)
        names = [d.name() for d in self.parameterDefinitions()]
        later = [d.clone() for d in self.parameterDefinitions()[names.index("MODELS") + 1:]
                 if not d.isDestination()]
        for definition in later:
            self.removeParameter(definition.name())
        add_spec_parameters(self, CompareSpec, VALIDATION_KEYS)
        for definition in later:
            self.addParameter(definition)
        self.addParameter(with_help(QgsProcessingParameterFeatureSink(
            FOLD_TABLE[0], FOLD_TABLE[1], QgsProcessing.TypeVector, optional=True),
            FOLD_TABLE_HELP))

    def outputs(self, spec, result, parameters, context, feedback):
        table = write_table(self, parameters, "OUTPUT_TABLE", context, table_columns(),
                            [table_row(row) for row in result.rows])
        folds = write_table(self, parameters, FOLD_TABLE[0], context, fold_columns(),
                            [fold_row(row) for row in result.fold_rows])
        best = result.best_model or result.best("auc").model
        feedback.pushInfo(result.verdict)
        return {"OUTPUT_FOLDER": spec.output_folder, "OUTPUT_TABLE": table,
                FOLD_TABLE[0]: folds, "OUTPUT_REPORT": spec.output_report,
                "BEST_MODEL": best, "VERDICT": result.verdict}


def table_columns():
    """The comparison table: every metric's mean and sd, the tests, the rest."""
    metrics = [column for name in METRIC_ORDER for column in ((name, float),
                                                              (f"{name}_sd", float))]
    return [("model", str)] + metrics + [
        ("folds", int), ("auc_below_best", float), ("p_ttest", float), ("p_wilcoxon", float),
        ("parameters", int), ("flops_per_patch", float), ("training_s", float),
        ("model_path", str)]


def table_row(row):
    sd = row.metrics_sd or {}
    values = [v for name in METRIC_ORDER
              for v in (rounded(row.metrics.get(name), METRIC_KIND),
                        rounded(sd.get(name), METRIC_KIND))]
    return [row.model] + values + [
        row.folds, rounded(row.auc_difference, METRIC_KIND), _p(row.p_ttest),
        _p(row.p_wilcoxon), row.parameters, row.flops, row.seconds, row.model_path]


def fold_columns():
    return [("model", str), ("repeat", int), ("fold", int), ("train", int),
            ("validation", int), ("test", int)] + [(name, float) for name in METRIC_ORDER] + \
        [("training_s", float)]


def fold_row(row):
    return [row["model"], row["repeat"] + 1, row["fold"] + 1, row["train"],
            row["validation"], row["test"]] + \
        [rounded(row["metrics"].get(name), METRIC_KIND) for name in METRIC_ORDER] + \
        [row["seconds"]]


def _p(value):
    """A p-value rounded for reading (4 decimals keeps 0.0001 apart from 0)."""
    return None if value is None else round(float(value), 4)
