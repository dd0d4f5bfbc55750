"""Pagination for API lists, with bounds the database can always take.

Ninja's ``LimitOffsetPagination`` leaves ``offset`` unbounded (and ``limit`` too unless a
global maximum is set), so ``?limit=99999999999999999999`` reached the database as an
integer too large for a 64-bit ``LIMIT`` and failed with a 500. Here both are bounded in
the input schema, so such a request is a 400 ``invalid`` naming the parameter.
"""

from typing import Any

from ninja import Field, Schema
from ninja.pagination import LimitOffsetPagination

LIMIT_DEFAULT = 100
LIMIT_MAX = 500
OFFSET_MAX = 1_000_000_000


class BoundedLimitOffsetPagination(LimitOffsetPagination):
    """``?limit=`` (1–500, default 100) and ``?offset=`` (0–1,000,000,000)."""

    class Input(Schema):
        limit: int = Field(LIMIT_DEFAULT, ge=1, le=LIMIT_MAX, description="items per page")
        offset: int = Field(0, ge=0, le=OFFSET_MAX, description="items to skip")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_limit=LIMIT_MAX, **kwargs)
