"""The fake engine reporter shared by the tests (``tests/`` is on pytest's
``pythonpath``: ``from reporters import FakeReporter``)."""


class FakeReporter:
    """The engine's reporter for a command run in-process: keeps the info and
    warning messages, ignores progress; cancels from the ``cancel_at``-th
    ``is_cancelled`` call on (never by default)."""

    def __init__(self, cancel_at=None):
        self.messages, self.cancel_at, self.calls = [], cancel_at, 0

    def progress(self, value):
        pass

    def info(self, message):
        self.messages.append(message)

    warning = info

    def is_cancelled(self):
        self.calls += 1
        return self.cancel_at is not None and self.calls >= self.cancel_at
