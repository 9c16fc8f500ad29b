"""landslide:setupengine: create (or update) the engine's Python environment from
inside QGIS, make it the engine and check it. The work is core/engine_setup.py."""

from qgis.core import (
    QgsProcessingParameterBoolean,
    QgsProcessingParameterDefinition,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFile,
)

from ..core.engine_setup import GPU_CHOICES, setup_engine
from ..core.specs import CheckSpec
from .base import LandslideAlgorithm, run_core
from .engine_runner import (
    ENV_VAR,
    engine_python,
    profile_engine_folder,
    run_engine,
    set_engine_python,
)
from .help_text import with_help
from .outputs import add_outputs


def _advanced(definition):
    definition.setFlags(definition.flags() | QgsProcessingParameterDefinition.FlagAdvanced)
    return definition


class SetupEngine(LandslideAlgorithm):
    NAME = "setupengine"
    DISPLAY_NAME = "Set up engine"
    GROUP = "tools"
    ICON = "engine"
    HELP = (
        "Creates the engine, the separate Python environment where TensorFlow runs, "
        "without a terminal: a virtual environment in your QGIS profile folder (which a "
        "plugin upgrade keeps), with the packages pinned in the plugin's "
        "requirements/engine.txt (TensorFlow, Keras, scikit-learn and the rest) installed "
        "by pip, one package at a time with progress (Cancel stops pip and leaves nothing "
        "half-made). It then makes it the "
        "'Engine Python interpreter' setting and runs Check engine. Run it again after a "
        "plugin upgrade that changes the requirements (Check engine says so): a complete, "
        "current engine is left as it is. It downloads about 500 MB (the GPU build several "
        "GB more), takes about 2 GB on disk and needs access to the Python package index.")
    NOTES = (
        "<p><b>Which Python.</b> The environment is made with "
        "<code>--system-site-packages</code> from a Python that sees GDAL's bindings, "
        "the first of: on Windows, the Python that comes with QGIS "
        "(<code>apps\\Python3xx\\python.exe</code> of the installation); on macOS, "
        "<code>QGIS.app/Contents/MacOS/bin/python3</code>; on Linux, the system "
        "<code>python3</code> QGIS runs on (e.g. <code>/usr/bin/python3.11</code>, "
        "which needs the packages <code>python3-venv</code> and <code>python3-gdal</code>); "
        "then <code>python3</code> on the PATH. <i>Base Python</i> overrides it.</p>"
        "<p><b>GPU.</b> Automatic: with an NVIDIA GPU (<code>nvidia-smi</code> finds one) "
        "the same TensorFlow version with CUDA (<code>tensorflow[and-cuda]</code>) in "
        "place of <code>tensorflow-cpu</code>.</p>"
        "<p><b>No network?</b> The message gives the commands to run by hand, and the "
        "full pip log is next to the engine folder.</p>")

    FOLDER = "FOLDER"
    GPU = "GPU"
    BASE_PYTHON = "BASE_PYTHON"
    REBUILD = "REBUILD"
    USE_AS_ENGINE = "USE_AS_ENGINE"

    def initAlgorithm(self, config=None):
        self.addParameter(_advanced(with_help(QgsProcessingParameterFile(
            self.FOLDER, "Engine folder", QgsProcessingParameterFile.Folder, optional=True),
            "where to create the engine; empty: landslide_susceptibility/engine-venv in the "
            "QGIS profile folder")))
        self.addParameter(_advanced(with_help(QgsProcessingParameterEnum(
            self.GPU, "TensorFlow build", [label for _, label in GPU_CHOICES], defaultValue=0),
            "CPU only, NVIDIA GPU (CUDA), or chosen by whether nvidia-smi finds a GPU")))
        self.addParameter(_advanced(with_help(QgsProcessingParameterFile(
            self.BASE_PYTHON, "Base Python", optional=True,
            fileFilter="All files (*)"),  # python3 has no extension
            "the Python to make the environment with; empty: found as the notes below say")))
        self.addParameter(_advanced(with_help(QgsProcessingParameterBoolean(
            self.REBUILD, "Rebuild even if up to date", defaultValue=False),
            "make the environment anew, e.g. after it was damaged")))
        self.addParameter(_advanced(with_help(QgsProcessingParameterBoolean(
            self.USE_AS_ENGINE, "Use it as the engine", defaultValue=True),
            "write it into the 'Engine Python interpreter' setting")))
        add_outputs(self, values=[("PYTHON", str, "Engine interpreter"),
            ("STATUS", str, "What was done"), ("TENSORFLOW", str, "TensorFlow version"),
            ("DEVICE", str, "Device")])

    def process(self, parameters, context, feedback):
        folder = (self.parameterAsString(parameters, self.FOLDER, context)
                  or profile_engine_folder())
        gpu = GPU_CHOICES[self.parameterAsEnum(parameters, self.GPU, context)][0]
        base = self.parameterAsString(parameters, self.BASE_PYTHON, context) or None
        feedback.pushInfo(f"Engine folder: {folder}")
        result = run_core(setup_engine, feedback, folder, gpu=gpu, base_python=base,
                          rebuild=self.parameterAsBool(parameters, self.REBUILD, context),
                          log=feedback.pushInfo)
        if self.parameterAsBool(parameters, self.USE_AS_ENGINE, context):
            set_engine_python(result.python)
            feedback.pushInfo(f"'Engine Python interpreter' is now {result.python}")
            if engine_python() != result.python:
                feedback.pushWarning(f"The environment variable {ENV_VAR} overrides the "
                                     f"setting: the engine stays {engine_python()}.")
        feedback.pushInfo("Checking the engine (Check engine)…")
        info = run_engine(CheckSpec(), feedback, python=result.python)
        feedback.pushInfo(f"Engine ready: TensorFlow {info.get('tensorflow')} on "
                          f"{info.get('device')}")
        return {"PYTHON": result.python, "STATUS": result.status,
                "TENSORFLOW": info.get("tensorflow", ""), "DEVICE": info.get("device", "")}
