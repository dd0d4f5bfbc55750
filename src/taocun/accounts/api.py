"""The accounts API: API tokens and who the caller is.

Getting a token is the one endpoint that takes a password, so it goes through
:func:`taocun.accounts.services.user_login`, the same throttled check as the login page.
"""

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Status

from taocun.accounts import services
from taocun.accounts.schemas import MeOut, TokenCreateIn, TokenCreateOut
from taocun.core.errors import NotFound

router = Router()


@router.post("/auth/token", response={201: TokenCreateOut}, auth=None, summary="Get a token")
def token_create(request: HttpRequest, payload: TokenCreateIn) -> Status:
    """No session and no CSRF token needed: the phone and password are the credentials."""
    user = services.user_login(request=request, phone=payload.phone, password=payload.password)
    token, raw = services.api_token_create(user=user, name=payload.name)
    return Status(
        201,
        {
            "id": token.pk,
            "token": raw,
            "name": token.name,
            "prefix": token.prefix,
            "created_at": token.created_at,
        },
    )


@router.delete("/auth/token/{token_id}", response={204: None}, summary="Revoke a token")
def token_revoke(request: HttpRequest, token_id: int) -> Status:
    """Only the token's owner can revoke it; someone else's token is "not found"."""
    if not services.api_token_revoke(user=request.auth, token_id=token_id):
        raise NotFound(
            _("You have no active token with id %(id)d.") % {"id": token_id}, field="token_id"
        )
    return Status(204, None)


@router.get("/me", response=MeOut, summary="The caller")
def me(request: HttpRequest) -> MeOut:
    user = request.auth
    grants = user.role_grants.select_related("region").order_by("role", "region_id")
    return MeOut(id=user.pk, phone=user.phone, display_name=user.display_name, roles=list(grants))
