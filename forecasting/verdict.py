"""The forecast verdict for a target: on course, at risk or off course, by the indicator's polarity.

"On course": the whole interval meets the target.  "Off course": the whole interval misses it by more than
the tolerance.  "At risk": the interval straddles the target or its tolerance.  Values are compared as the
pack shows them (rounded to the indicator's decimals), as marts.trajectory judges the status.
"""
from __future__ import annotations

ON, AT_RISK, OFF = "on course", "at risk", "off course"


def verdict(lower: float, upper: float, target: float, tolerance: float, polarity: str,
            decimals: int | None = None) -> str | None:
    """None for a neutral indicator (no better direction)."""
    if polarity not in ("high", "low"):
        return None
    if decimals is not None:
        lower, upper, target = round(lower, decimals), round(upper, decimals), round(target, decimals)
    eps = 1e-9 * max(1.0, abs(target))
    if polarity == "high":
        if lower >= target - eps:
            return ON
        return OFF if upper < target - tolerance - eps else AT_RISK
    if upper <= target + eps:
        return ON
    return OFF if lower > target + tolerance + eps else AT_RISK
