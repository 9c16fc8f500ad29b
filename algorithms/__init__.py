"""Processing algorithms: thin wrappers over core/ and the engine.

The provider registers exactly the classes listed here.
"""

from .check_engine import CheckEngine
from .create_sample_area import CreateSampleArea

ALGORITHMS = [
    CreateSampleArea,
    CheckEngine,
]
