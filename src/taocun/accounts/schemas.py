"""Shapes of the accounts API."""

from datetime import datetime

from ninja import Field, Schema

from taocun.regions.schemas import DivisionRefOut, Text


class TokenCreateIn(Schema):
    # Lengths are capped so that nobody can make the server hash a megabyte "password".
    phone: Text = Field(max_length=32, description="Mainland mobile number, e.g. 13800138000")
    password: Text = Field(max_length=256)
    name: Text = Field("", max_length=60, description="A label to recognise the token by")


class TokenCreateOut(Schema):
    id: int
    token: str = Field(description="Shown once; only a digest is stored")
    name: str
    prefix: str
    created_at: datetime


class RoleOut(Schema):
    role: str
    scope: DivisionRefOut | None = Field(
        None, description="The region the role covers (county of an officer, area of an agent)"
    )

    @staticmethod
    def resolve_scope(obj) -> object:
        return obj.region


class MeOut(Schema):
    id: int
    phone: str
    display_name: str
    roles: list[RoleOut]
