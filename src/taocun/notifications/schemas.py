"""Shapes of the notifications API."""

from datetime import datetime
from typing import Annotated

from ninja import Field, Schema
from pydantic import AfterValidator, StrictBool


def _refuse_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


Text = Annotated[str, AfterValidator(_refuse_nul)]


class NotificationOut(Schema):
    id: int
    kind: str = Field(description="What happened, e.g. order.paid")
    group: str = Field(description="orders, payments, reviews or program")
    title: str
    body: str
    url: str = Field(description="A path on this site or an address; may be empty")
    context: dict
    created_at: datetime
    read_at: datetime | None


class UnreadFilterIn(Schema):
    unread: bool = Field(False, description="Only unread notifications")


class UnreadCountOut(Schema):
    unread: int


class MarkedOut(Schema):
    marked: int = Field(description="How many notifications were unread and are now read")


class ChannelsIO(Schema):
    sms: StrictBool
    email: StrictBool


class ChannelsPatchIn(Schema):
    sms: StrictBool | None = None
    email: StrictBool | None = None


class PreferencesOut(Schema):
    language: str = Field(description="The language messages are written in")
    language_chosen: str = Field(description="The user's choice; empty: the site's default")
    email: str
    channels: dict[str, ChannelsIO] = Field(description="Per group: SMS and e-mail on or off")


class PreferencesIn(Schema):
    language: Text | None = Field(None, max_length=10, description="'' for the default")
    email: Text | None = Field(None, max_length=254, description="'' to remove it")
    channels: dict[str, ChannelsPatchIn] | None = Field(
        None, description="Groups to change; a group or channel left out keeps its value"
    )
