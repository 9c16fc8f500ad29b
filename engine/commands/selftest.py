"""``selftest``: a job that only reports progress, for tests and diagnostics.

Spec: :class:`..core.specs.SelftestSpec` (``duration`` seconds, ``fail`` an
error message to fail with at ``fail_at`` percent, ``ignore_cancel`` to keep
going after a cancel request, to test the caller's hard stop).
"""

import time

from ...core.errors import CancelledError, InputError


def run(spec, reporter):
    duration, fail, fail_at = spec.duration, spec.fail, spec.fail_at
    steps = max(1, int(duration / 0.05))
    for step in range(steps + 1):
        percent = 100.0 * step / steps
        if reporter.is_cancelled() and not spec.ignore_cancel:
            raise CancelledError()
        if fail and percent >= fail_at:
            raise InputError(fail)
        reporter.progress(percent)
        if step < steps:
            time.sleep(duration / steps)
    reporter.info("selftest finished")
    return {"steps": steps}
