"""Small building blocks shared by the engine's table functions: instants as literals of a
column's own type, and thresholds as integer comparisons (exact on every backend)."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

import ibis
import ibis.expr.types as ir

from taocun.labels.rulesets import Threshold


def instant(column: ir.TimestampValue, when: dt.datetime) -> ir.TimestampScalar:
    """``when`` (aware) as a literal of the column's type: naive UTC for a naive column.

    Every boundary the engine uses is a whole second, so on SQLite (where Django stores
    instants as ``YYYY-MM-DD HH:MM:SS[.ffffff]`` text in UTC) the comparison stays exact.
    """
    utc = when.astimezone(dt.UTC)
    if utc.microsecond:
        raise ValueError("engine boundaries are whole seconds")
    dtype = column.type()
    value = utc if dtype.timezone else utc.replace(tzinfo=None)
    return ibis.literal(value, type=dtype)


def passes(value: ir.IntegerValue, threshold: Threshold) -> ir.BooleanValue:
    """``value >= threshold`` or ``value > threshold`` for a whole-number threshold."""
    bound = int(threshold.threshold)
    return value >= bound if threshold.comparison == ">=" else value > bound


def gap(value: ir.IntegerValue, threshold: Threshold) -> ir.IntegerValue:
    """How much more ``value`` needs to pass (0 when it passes)."""
    return ibis.greatest(ibis.literal(threshold.needed(), "int64") - value, 0)


def needed_for_share(scale: ir.IntegerValue, threshold: Threshold) -> ir.IntegerValue:
    """The least whole number ``n`` with ``n / scale`` passing a share threshold.

    ``n >= p/q * scale`` needs ``ceil(p * scale / q)``; ``n > p/q * scale`` needs
    ``floor(p * scale / q) + 1``. Integer arithmetic only: a share of exactly 10 % passes
    ``>= 0.1`` on every backend.
    """
    share = Fraction(threshold.threshold)
    numerator = scale.cast("int64") * share.numerator
    if threshold.comparison == ">=":
        return (numerator + (share.denominator - 1)) // share.denominator
    return numerator // share.denominator + 1


def share_passes(
    part: ir.IntegerValue, whole: ir.IntegerValue, threshold: Fraction, comparison: str
) -> ir.BooleanValue:
    """``part / whole`` against a share, as ``part * q >= p * whole`` (no division)."""
    left = part.cast("int64") * threshold.denominator
    right = whole.cast("int64") * threshold.numerator
    return left >= right if comparison == ">=" else left > right
