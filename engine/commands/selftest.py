"""``selftest``: a job that only reports progress, for tests and diagnostics.

Params: ``duration`` (seconds, default 1), ``fail`` (an error message to fail
with at ``fail_at`` percent, default none), ``ignore_cancel`` (keep going after
a cancel request, to test the caller's hard stop).
"""

import time

from ...core.errors import CancelledError, InputError


def run(params, reporter):
    duration = float(params.get("duration", 1.0))
    fail = params.get("fail")
    fail_at = float(params.get("fail_at", 50))
    steps = max(1, int(duration / 0.05))
    for step in range(steps + 1):
        percent = 100.0 * step / steps
        if reporter.is_cancelled() and not params.get("ignore_cancel"):
            raise CancelledError()
        if fail and percent >= fail_at:
            raise InputError(fail)
        reporter.progress(percent)
        if step < steps:
            time.sleep(duration / steps)
    reporter.info("selftest finished")
    return {"steps": steps}
