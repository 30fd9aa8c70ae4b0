"""Whether event counts read from Prometheus can be true, for the verdicts that rest on them.

``slokit gate`` and ``slokit report`` read bad and total events and must never turn impossible ones into
a verdict in the service's favour: NaN, an infinity or a negative count (a faulty proxy, a broken query),
or more bad events than events (a ``ratio`` SLI whose good query counts more than its total makes the bad
count negative; a bad query counting events the total does not gives more bad than all).
"""

from __future__ import annotations

import math

#: Sound counts differ from the limits only by rounding and rate extrapolation; a broken query is far off.
SLACK = 1e-6


def unsound(bad: float, total: float) -> str | None:
    """Why ``bad`` of ``total`` events cannot be true, in words; None when they can."""
    for name, v, low in (("events", total, 0.0), ("bad events", bad, -SLACK * (abs(total) + 1))):
        if not math.isfinite(v) or v < low:
            return f"{name} = {v:g}, not a count"
    if bad > total * (1 + SLACK) + SLACK:
        return (f"more bad events than events ({bad:.0f} of {total:.0f}): the good query counts more than the "
                "total, or the bad query counts events the total does not")
    return None
