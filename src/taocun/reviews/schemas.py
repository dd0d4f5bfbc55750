"""Shapes of the reviews API. Stars are 1–5; times are ISO 8601 (UTC)."""

from datetime import datetime
from typing import Literal

from ninja import Field, Schema

from taocun.reviews.models import NOTE_MAX, REASON_MAX, REPLY_MAX, TEXT_MAX

ReportReasonName = Literal["spam", "offensive", "false", "private", "other"]


class ReviewCreateIn(Schema):
    stars: int = Field(ge=1, le=5)
    text: str = Field("", max_length=TEXT_MAX)


class ReviewUpdateIn(Schema):
    stars: int | None = Field(None, ge=1, le=5)
    text: str | None = Field(None, max_length=TEXT_MAX)


class ReplyIn(Schema):
    text: str = Field(min_length=1, max_length=REPLY_MAX)


class ReportIn(Schema):
    reason: ReportReasonName
    note: str = Field("", max_length=NOTE_MAX)


class HideIn(Schema):
    reason: str = Field(min_length=1, max_length=REASON_MAX)


class ReplyOut(Schema):
    text: str
    at: datetime
    edited_at: datetime | None


class ReviewOut(Schema):
    id: int
    line: int = Field(alias="line_id")
    product: int = Field(alias="product_id")
    shop: int = Field(alias="shop_id")
    author: str = Field(description="The buyer's display name, or a masked phone number")
    stars: int
    text: str
    photo_url: str | None
    photo_thumbnail_url: str | None
    created_at: datetime
    edited_at: datetime | None
    status: str
    reply: ReplyOut | None

    @staticmethod
    def resolve_author(obj) -> str:
        from taocun.reviews.templatetags.reviews import review_author

        return review_author(obj.buyer)

    @staticmethod
    def resolve_photo_url(obj) -> str | None:
        return obj.photo.url if obj.photo else None

    @staticmethod
    def resolve_photo_thumbnail_url(obj) -> str | None:
        return obj.photo_thumbnail.url if obj.photo_thumbnail else None

    @staticmethod
    def resolve_reply(obj) -> dict | None:
        if obj.reply_at is None:
            return None
        return {"text": obj.reply_text, "at": obj.reply_at, "edited_at": obj.reply_edited_at}


class ModerationItemOut(ReviewOut):
    open_reports: int = 0
    hidden_reason: str


class ReportOut(Schema):
    id: int
    review: int = Field(alias="review_id")
    reason: str
    note: str
    created_at: datetime


class RatingOut(Schema):
    rating_sum: int
    rating_count: int
    rating_average: float | None
