"""The project's own error types, raised by core/ and the engine.

The Processing wrappers turn them into ``QgsProcessingException``; the engine
reports them as one ``error`` line. Messages name the input and the fix.
"""


class LandslideError(Exception):
    """Base class of every error this plugin raises on purpose."""


class InputError(LandslideError):
    """Bad input: the message names the input and says how to fix it."""


class CancelledError(LandslideError):
    """The user cancelled; nothing partial was left at the output paths."""

    def __init__(self, message="Cancelled by the user; no output was written."):
        super().__init__(message)
