"""landslide:alignfactors: factor rasters -> one factor stack (core/align.py)."""

from qgis.core import (
    QgsProcessing,
    QgsProcessingException,
    QgsProcessingParameterExtent,
    QgsProcessingParameterMultipleLayers,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
)

from ..core.align import align_factors
from .base import LandslideAlgorithm, run_core
from .help_text import with_help
from .outputs import add_outputs, push_warnings, raster_source


class AlignFactors(LandslideAlgorithm):
    NAME = "alignfactors"
    DISPLAY_NAME = "Align factors into a stack"
    GROUP = "data"
    ICON = "align"
    HELP = (
        "Builds the factor stack that every later step uses: one multi-band GeoTIFF on one "
        "grid (the paper's 'Preprocessing of data': one coordinate system, one resolution, "
        "Z-score normalisation). Factors may come in any CRS, cell size and extent.")
    NOTES = (
        "The stack's extent is the reference grid's, clipped to where all factors have "
        "data; a cell missing in any factor is nodata (-9999) in every band. Bands are named "
        "after the layers; the file records per band whether it is categorical, its classes, "
        "and its mean and standard deviation. Values are <i>not</i> normalised in the file: "
        "training normalises with the statistics of its training samples and keeps them "
        "with the model.")

    def initAlgorithm(self, config=None):
        self.addParameter(with_help(QgsProcessingParameterMultipleLayers(
            "CONTINUOUS_FACTORS", "Continuous factors", QgsProcessing.TypeRaster,
            optional=True), "Rasters of measured values: elevation, slope, distances, "
                            "precipitation, NDVI. Resampled bilinearly"))
        self.addParameter(with_help(QgsProcessingParameterMultipleLayers(
            "CATEGORICAL_FACTORS", "Categorical factors", QgsProcessing.TypeRaster,
            optional=True), "Rasters of integer class codes: aspect classes, lithology, land "
                            "use. Resampled by nearest neighbour (by the most common class "
                            "when the stack's cells are 1.5 times coarser or more). One of the "
                            "two lists may be empty, not both"))
        self.addParameter(with_help(QgsProcessingParameterRasterLayer(
            "REFERENCE", "Reference grid", optional=True),
            "The raster whose CRS, cell size and alignment the stack takes; empty: the first "
            "continuous factor (else the first categorical one)"))
        self.addParameter(with_help(QgsProcessingParameterExtent(
            "EXTENT", "Extent", optional=True),
            "Limit the stack to this extent (snapped to the reference grid)"))
        self.addParameter(with_help(QgsProcessingParameterRasterDestination(
            "OUTPUT", "Factor stack"), "The multi-band GeoTIFF of all factors"))
        add_outputs(self, values=[("FACTORS", str, "Factor names (band order)"),
            ("BAND_COUNT", float, "Number of factors"), ("VALID_PIXELS", float, "Valid pixels")])

    def process(self, parameters, context, feedback):
        continuous = self.parameterAsLayerList(parameters, "CONTINUOUS_FACTORS", context)
        categorical = self.parameterAsLayerList(parameters, "CATEGORICAL_FACTORS", context)
        if not continuous and not categorical:
            raise QgsProcessingException(
                "No factors: give at least one raster in Continuous factors "
                "(CONTINUOUS_FACTORS) or Categorical factors (CATEGORICAL_FACTORS).")
        cont = [(layer.name(), raster_source(layer, f"continuous factor '{layer.name()}'"))
                for layer in continuous]
        cat = [(layer.name(), raster_source(layer, f"categorical factor '{layer.name()}'"))
               for layer in categorical]
        reference_layer = self.parameterAsRasterLayer(parameters, "REFERENCE", context)
        reference = raster_source(reference_layer, "reference raster") \
            if reference_layer is not None else None
        grid_layer = reference_layer or (continuous or categorical)[0]
        extent = None
        if parameters.get("EXTENT") not in (None, ""):
            rect = self.parameterAsExtent(parameters, "EXTENT", context, grid_layer.crs())
            if not rect.isNull() and not rect.isEmpty():
                extent = (rect.xMinimum(), rect.yMinimum(), rect.xMaximum(), rect.yMaximum())
        output = self.parameterAsOutputLayer(parameters, "OUTPUT", context)
        feedback.pushInfo("Continuous: " + (", ".join(n for n, _ in cont) or "none"))
        feedback.pushInfo("Categorical: " + (", ".join(n for n, _ in cat) or "none"))
        feedback.pushInfo(f"Reference grid: {reference or (cont or cat)[0][1]}")
        result = run_core(align_factors, feedback, cont, cat, output, reference=reference,
                          extent=extent)
        push_warnings(feedback, result["warnings"])
        feedback.pushInfo(f"Stack: {result['width']} x {result['height']} cells, "
                          f"{len(result['bands'])} bands, {result['valid_pixels']} valid "
                          "pixels")
        for band in result["bands"]:
            kind = "categorical" if band["categorical"] else "continuous"
            extra = (f"classes {band['classes']}" if band["categorical"] else
                     f"mean {band['mean']:.6g}, std {band['std']:.6g}")
            feedback.pushInfo(f"  band {band['index']}: {band['name']} ({kind}, "
                              f"{result['resampling'][band['name']]}) {extra}")
        names = ",".join(band["name"] for band in result["bands"])
        return {"OUTPUT": output, "FACTORS": names,
                "BAND_COUNT": len(result["bands"]),
                "VALID_PIXELS": result["valid_pixels"]}
