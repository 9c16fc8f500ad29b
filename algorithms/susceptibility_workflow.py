"""landslide:susceptibilityworkflow: the whole method in one run, with the factors
the user has: DEM (slope and aspect derived), distances to any line, point or
polygon layers, other continuous and categorical rasters, lithology polygons,
and the inventory → align → factor selection reports → samples → train →
predict → classify. Each step is the provider's own algorithm
(:mod:`.workflow_steps`); the paper's nine-factor layout is also shipped as an
editable model (``landslide:paperworkflow``)."""

from dataclasses import dataclass, field

from qgis.core import QgsProcessing, QgsReferencedRectangle

from ..core.errors import CancelledError, InputError
from .base import LandslideAlgorithm
from .workflow_parameters import OUTPUT_LABELS, add_parameters
from .workflow_steps import (
    StepRunner,
    factor_name,
    for_step,
    is_skipped,
    named_raster,
)

TEMPORARY = QgsProcessing.TEMPORARY_OUTPUT
WORKFLOW_GROUP = "0 · Workflows"
RASTERIZE_INT32 = 4  # gdal:rasterize's DATA_TYPE Int32
UNITS_GEOREFERENCED = 1  # gdal:rasterize's UNITS: georeferenced units


@dataclass
class Plan:
    """The inputs as read and checked before any work."""

    dem: object
    inventory: object
    distance_layers: list
    continuous: list
    categorical: list
    lithology: object = None
    lithology_field: str = ""
    lithology_cell: float = 0.0
    reports: dict = field(default_factory=dict)  # optional report key -> wanted

    def step_count(self):
        lithology = 0
        if self.lithology is not None:
            lithology = 1 + (self.lithology.crs() != self.dem.crs())
        return 1 + len(self.distance_layers) + lithology + 1 + \
            sum(self.reports.values()) + 4


class SusceptibilityWorkflow(LandslideAlgorithm):
    NAME = "susceptibilityworkflow"
    DISPLAY_NAME = "Susceptibility workflow (factors to classes)"
    GROUP = "workflows"
    ICON = "landslide"
    HELP = (
        "The whole method of the paper in one run, with the factors you have: from a DEM "
        "and a landslide inventory (the only required inputs) to the five-class "
        "susceptibility map. Slope and aspect come from the DEM; each layer of features "
        "gives a distance factor (distance_to_&lt;layer name&gt;); other rasters and the "
        "lithology polygons are added as they are. Each step is the provider's own "
        "algorithm, with its defaults for the settings not shown here.")
    NOTES = (
        "<b>Steps</b>, in the order of the outputs:<ol>"
        "<li>Derive terrain factors, Distance to features (one per layer), rasterize the "
        "lithology polygons on the DEM's grid;</li>"
        "<li>Align factors into a stack on the DEM's grid (the paper's 'Preprocessing of "
        "data');</li>"
        "<li>Multicollinearity and Factor importance reports, for you to read: the model "
        "uses every factor (skip the reports to skip their steps; scripts that leave them "
        "out skip them);</li>"
        "<li>Build landslide samples;</li>"
        "<li>Train landslide model (the trained model goes beside the samples, or the "
        "factor stack, unless you choose a file; the log warns when it is a temporary "
        "file, which QGIS deletes when it closes);</li>"
        "<li>Predict landslide susceptibility and Classify susceptibility.</li></ol>"
        "The outputs you ask to open load styled. Cancel stops the running step and the "
        "workflow; the outputs written so far are kept (a cancelled training keeps its best "
        "model) and the log lists them. An error names the step that failed.<br>"
        "To change a step's other settings, run the steps one by one, or open the paper's "
        "nine-factor layout in the graphical modeler: 'Susceptibility workflow (paper's "
        "nine factors, editable model)'.")

    def group(self):
        return WORKFLOW_GROUP

    def initAlgorithm(self, config=None):
        add_parameters(self)

    def checkParameterValues(self, parameters, context):
        # Outputs left out (scripts, qgis_process) take their defaults, as in the
        # dialog: temporary files (QGIS would refuse a missing required output).
        filled = dict(parameters)
        for definition in self.destinationParameterDefinitions():
            if filled.get(definition.name()) is None:
                filled[definition.name()] = definition.defaultValue()
        return super().checkParameterValues(filled, context)

    def processAlgorithm(self, parameters, context, feedback):
        # Trained model's default (Train's: beside the samples) names a folder that is
        # known only once the samples are written: Train resolves it, and the check
        # of the outputs before any work leaves it out.
        self._trained_model = self._value(parameters, "OUTPUT_MODEL")
        checked = dict(parameters)
        if is_placeholder(self._trained_model):
            checked["OUTPUT_MODEL"] = TEMPORARY
        return super().processAlgorithm(checked, context, feedback)

    def process(self, parameters, context, feedback):
        plan = self._plan(parameters, context)
        runner = StepRunner(plan.step_count(), context, feedback)
        try:
            self._run(plan, runner, parameters, context, feedback)
        except CancelledError as exc:
            runner.results["CANCELLED"] = True
            kept = [OUTPUT_LABELS[key] for key in OUTPUT_LABELS if runner.results.get(key)]
            feedback.pushInfo(f"{exc} Kept: {', '.join(kept) or 'nothing'}.")
        runner.results.setdefault("CANCELLED", False)
        return runner.results

    # -- inputs -------------------------------------------------------------------
    def _plan(self, parameters, context):
        dem = self.parameterAsRasterLayer(parameters, "DEM", context)
        if dem is None:
            raise InputError("DEM (elevation) (DEM) could not be loaded as a raster layer.")
        inventory = self.parameterAsLayer(parameters, "INVENTORY", context)
        if inventory is None:
            raise InputError("The landslide inventory (INVENTORY) could not be loaded: choose "
                             "a polygon, point or raster layer.")
        plan = Plan(dem, inventory,
                    self.parameterAsLayerList(parameters, "DISTANCE_LAYERS", context),
                    self.parameterAsLayerList(parameters, "CONTINUOUS_FACTORS", context),
                    self.parameterAsLayerList(parameters, "CATEGORICAL_FACTORS", context))
        plan.lithology = self.parameterAsVectorLayer(parameters, "LITHOLOGY", context)
        if plan.lithology is not None:
            fields = self.parameterAsFields(parameters, "LITHOLOGY_FIELD", context)
            if not fields:
                raise InputError("Lithology class field (LITHOLOGY_FIELD) is needed with "
                                 "Lithology (polygons): choose the field of the class codes.")
            plan.lithology_field = fields[0]
            plan.lithology_cell = self.parameterAsDouble(parameters, "LITHOLOGY_CELL_SIZE",
                                                         context)
        for key in ("OUTPUT_VIF_REPORT", "OUTPUT_IMPORTANCE_REPORT"):
            plan.reports[key] = not is_skipped(parameters.get(key))
        return plan

    def _value(self, parameters, key):
        """The user's value of a setting as given (the step checks it), else its default."""
        value = parameters.get(key)
        return self.parameterDefinition(key).defaultValue() if value is None else value

    # -- steps --------------------------------------------------------------------
    def _run(self, plan, runner, parameters, context, feedback):
        outputs = {key: for_step(parameters.get(key), label)
                   for key, label in OUTPUT_LABELS.items()}
        continuous, categorical = self._factors(plan, runner, context, feedback)
        stack = runner.run("landslide:alignfactors", {
            "CONTINUOUS_FACTORS": continuous, "CATEGORICAL_FACTORS": categorical,
            "REFERENCE": plan.dem, "OUTPUT": outputs["OUTPUT_STACK"]},
            "Align factors into a stack",
            keep={"OUTPUT_STACK": "OUTPUT", "FACTORS": "FACTORS"})["OUTPUT"]
        self._reports(plan, runner, stack, parameters, outputs)
        samples = runner.run("landslide:buildsamples", dict(
            {key: self._value(parameters, key) for key in
             ("PATCH_SIZE", "SAMPLES_PER_CLASS", "SPLIT_METHOD", "BLOCK_SIZE", "SEED")},
            STACK=stack, INVENTORY=plan.inventory, OUTPUT=outputs["OUTPUT_SAMPLES"]),
            "Build landslide samples", keep={"OUTPUT_SAMPLES": "OUTPUT"})["OUTPUT"]
        model = self._train(runner, stack, samples, parameters, outputs)
        probability = runner.run("landslide:predictsusceptibility", {
            "MODEL": model, "STACK": stack, "OUTPUT": outputs["OUTPUT_PROBABILITY"]},
            "Predict landslide susceptibility",
            keep={"OUTPUT_PROBABILITY": "OUTPUT"})["OUTPUT"]
        runner.run("landslide:classifysusceptibility", {
            "SUSCEPTIBILITY": probability, "INVENTORY": plan.inventory,
            "OUTPUT": outputs["OUTPUT_CLASSES"], "OUTPUT_TABLE": outputs["OUTPUT_CLASS_TABLE"],
            "OUTPUT_REPORT": outputs["OUTPUT_CLASS_REPORT"]}, "Classify susceptibility",
            keep={"OUTPUT_CLASSES": "OUTPUT", "OUTPUT_CLASS_TABLE": "OUTPUT_TABLE",
                  "OUTPUT_CLASS_REPORT": "OUTPUT_REPORT", "SUCCESS_AUC": "SUCCESS_AUC"})

    def _factors(self, plan, runner, context, feedback):
        """Run the factor steps; ``(continuous, categorical)`` layers named as the
        stack's bands will be."""
        terrain = runner.run("landslide:deriveterrainfactors", {
            "DEM": plan.dem, "OUTPUT_SLOPE": TEMPORARY, "OUTPUT_ASPECT": TEMPORARY},
            "Derive slope and aspect from the DEM")
        continuous = [named_raster(plan.dem.source(), "elevation", context),
                      named_raster(terrain["OUTPUT_SLOPE"], "slope", context)]
        categorical = [named_raster(terrain["OUTPUT_ASPECT"], "aspect", context)]
        for layer in plan.distance_layers:
            distance = runner.run("landslide:distancetofeatures", {
                "INPUT": layer, "REFERENCE": plan.dem, "OUTPUT": TEMPORARY},
                f"Distance to '{layer.name()}'")["OUTPUT"]
            continuous.append(named_raster(distance, factor_name(layer.name(), "distance_to_"),
                                           context))
        if plan.lithology is not None:
            categorical.append(self._lithology(plan, runner, context))
        continuous += plan.continuous
        categorical += plan.categorical
        feedback.pushInfo("Factors: continuous " + ", ".join(c.name() for c in continuous)
                          + "; categorical " + ", ".join(c.name() for c in categorical))
        return continuous, categorical

    def _lithology(self, plan, runner, context):
        """The lithology polygons rasterized (in the DEM's CRS) as the factor 'lithology'."""
        polygons = plan.lithology
        if polygons.crs() != plan.dem.crs():
            polygons = runner.run("native:reprojectlayer", {
                "INPUT": polygons, "TARGET_CRS": plan.dem.crs(), "OUTPUT": TEMPORARY},
                "Reproject the lithology to the DEM's CRS")["OUTPUT"]
        cell = plan.lithology_cell or plan.dem.rasterUnitsPerPixelX()
        extent = QgsReferencedRectangle(plan.dem.extent(), plan.dem.crs())
        raster = runner.run("gdal:rasterize", {
            "INPUT": polygons, "FIELD": plan.lithology_field, "UNITS": UNITS_GEOREFERENCED,
            "WIDTH": cell, "HEIGHT": cell, "EXTENT": extent, "NODATA": 0,
            "DATA_TYPE": RASTERIZE_INT32, "INIT": 0, "INVERT": False, "OUTPUT": TEMPORARY},
            "Rasterize the lithology polygons")["OUTPUT"]
        return named_raster(raster, "lithology", context)

    def _reports(self, plan, runner, stack, parameters, outputs):
        """The factor selection reports asked for (skipped outputs skip their step)."""
        if plan.reports["OUTPUT_VIF_REPORT"]:
            runner.run("landslide:multicollinearity", {
                "STACK": stack, "SEED": self._value(parameters, "SEED"),
                "OUTPUT_TABLE": TEMPORARY, "OUTPUT_REPORT": outputs["OUTPUT_VIF_REPORT"]},
                "Multicollinearity (VIF, TOL)", keep={"OUTPUT_VIF_REPORT": "OUTPUT_REPORT"})
        if plan.reports["OUTPUT_IMPORTANCE_REPORT"]:
            runner.run("landslide:factorimportance", {
                "STACK": stack, "INVENTORY": plan.inventory,
                "SEED": self._value(parameters, "SEED"), "OUTPUT_TABLE": TEMPORARY,
                "OUTPUT_REPORT": outputs["OUTPUT_IMPORTANCE_REPORT"]},
                "Factor importance (random forest)",
                keep={"OUTPUT_IMPORTANCE_REPORT": "OUTPUT_REPORT"})

    def _train(self, runner, stack, samples, parameters, outputs):
        """Train; the model's path. A cancelled training stops the workflow."""
        runner.run("landslide:trainmodel", dict(
            {key: self._value(parameters, key) for key in ("MODEL", "EPOCHS", "SEED")},
            STACK=stack, SAMPLES=samples, OUTPUT_MODEL=self._trained_model,
            OUTPUT_METRICS=outputs["OUTPUT_METRICS"],
            OUTPUT_REPORT=outputs["OUTPUT_TRAINING_REPORT"]), "Train landslide model",
            keep={"OUTPUT_MODEL": "OUTPUT_MODEL", "OUTPUT_METRICS": "OUTPUT_METRICS",
                  "OUTPUT_TRAINING_REPORT": "OUTPUT_REPORT", "TEST_AUC": "AUC",
                  "CANCELLED": "CANCELLED"})
        if runner.results.get("CANCELLED") or not runner.results.get("OUTPUT_MODEL"):
            raise CancelledError("Training stopped early: the workflow ends here.")
        return runner.results["OUTPUT_MODEL"]


def is_placeholder(value):
    """Whether an output value is a default that names a place yet to be known
    (Train's '<samples folder>/<model>.<keras or skops>')."""
    return isinstance(value, str) and "<" in value and ">" in value
