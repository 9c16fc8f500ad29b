"""landslide:checkengine: is the engine usable, with which TensorFlow and device."""


from ..core.specs import CheckSpec
from .base import LandslideAlgorithm
from .engine_runner import engine_python, run_engine
from .outputs import add_outputs


class CheckEngine(LandslideAlgorithm):
    NAME = "checkengine"
    DISPLAY_NAME = "Check engine"
    GROUP = "tools"
    ICON = "engine"
    HELP = (
        "Starts the engine (the separate Python process where TensorFlow runs) and reports "
        "its interpreter, Python, TensorFlow, Keras, scikit-learn, NumPy and GDAL versions "
        "and the device it computes on (CPU or which GPU).<br>"
        "The interpreter is the 'Engine Python interpreter' setting (Settings > Options > "
        "Processing > Providers > Landslide susceptibility), overridden by the environment "
        "variable LANDSLIDE_ENGINE_PYTHON; by default the plugin's own .venv made by "
        "'make install', else the engine that Set up engine made in the QGIS profile "
        "folder. When something is missing, or the engine is out of date for this version "
        "of the plugin, the message says how to fix it: usually, run Set up engine "
        "(Tools › Set up engine, or the Set up engine… button of Plugins › Landslide "
        "susceptibility › Check engine…).")

    INTERPRETER = "INTERPRETER"
    TENSORFLOW = "TENSORFLOW"
    DEVICE = "DEVICE"
    REPORT = "REPORT"

    def initAlgorithm(self, config=None):
        add_outputs(self, values=[("INTERPRETER", str, "Interpreter"),
            ("TENSORFLOW", str, "TensorFlow version"), ("DEVICE", str, "Device"),
            ("REPORT", str, "Report")])

    def process(self, parameters, context, feedback):
        python = engine_python()
        feedback.pushInfo(f"Engine interpreter: {python}")
        info = run_engine(CheckSpec(), feedback, python=python)
        report = "\n".join(f"{key}: {value}" for key, value in info.items())
        feedback.pushInfo(report)
        return {self.INTERPRETER: info.get("executable", python),
                self.TENSORFLOW: info.get("tensorflow", ""),
                self.DEVICE: info.get("device", ""), self.REPORT: report}
