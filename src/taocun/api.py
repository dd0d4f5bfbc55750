"""The REST API root: /api/v1/.

Routers live in each app's ``api`` module and are registered here. This module is also the
one place where every failure becomes the API's error shape::

    {"code": "not_found", "message": "No division with code 330782999999", "field": "code"}

``code`` is stable (clients switch on it), ``message`` is for people, ``field`` (when there
is one) names the input that was wrong. Whatever a client sends, the answer is such a JSON
body with a 4xx status, never a 500 page.
"""

import json
import logging
from collections.abc import Callable
from typing import Any, ClassVar

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation, TooManyFieldsSent
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.middleware.csrf import get_token
from django.templatetags.static import static
from django.urls import URLPattern, URLResolver
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Router
from ninja.errors import AuthenticationError, AuthorizationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.openapi.docs import DocsBase
from ninja.parser import Parser
from ninja.renderers import JSONRenderer
from ninja.security import HttpBearer, SessionAuth

from taocun.accounts.api import router as accounts_router
from taocun.accounts.services import api_token_user
from taocun.core.errors import ApplicationError, NotFound, ValidationError
from taocun.core.pydantic_messages import pydantic_error_message
from taocun.labels.api import router as labels_router
from taocun.market.api import router as market_router
from taocun.notifications.api import router as notifications_router
from taocun.orders.api import router as orders_router
from taocun.payments.api import router as payments_router
from taocun.regions.api import router as regions_router
from taocun.reviews.api import router as reviews_router

logger = logging.getLogger("django.request")


# --- errors specific to HTTP ------------------------------------------------------------


class PayloadTooLarge(ApplicationError):
    """The body is over settings.DATA_UPLOAD_MAX_MEMORY_SIZE; it was not read."""

    code = "too_large"
    http_status = 413


class UnsupportedMediaType(ApplicationError):
    """A body that is not JSON. Refused rather than guessed at."""

    code = "unsupported_media_type"
    http_status = 415


class MalformedBody(ApplicationError):
    """JSON that does not parse (bad syntax, bad UTF-8, absurd nesting)."""

    code = "malformed_json"
    http_status = 400


# --- request parsing --------------------------------------------------------------------


class StrictJsonParser(Parser):
    """Parse JSON bodies only, and turn every way of failing into an ApplicationError.

    Ninja wraps whatever ``parse_body`` raises into ``HttpError(400, "Cannot parse request
    body")`` chained to the original exception; the error handlers below read the chained
    cause, so a too-large body still becomes 413 and a form post 415.
    """

    def parse_body(self, request: HttpRequest) -> Any:
        content_type = request.content_type or ""
        if content_type != "application/json" and not content_type.endswith("+json"):
            raise UnsupportedMediaType(
                _("Send the body as JSON with Content-Type: application/json (got %(type)s).")
                % {"type": content_type or "none"},
                field="body",
            )
        try:
            body = request.body
        except RequestDataTooBig:
            raise PayloadTooLarge(_too_large_message(), field="body") from None
        try:
            return json.loads(body)
        except (ValueError, RecursionError) as error:  # UnicodeDecodeError is a ValueError
            raise MalformedBody(
                _("The body is not valid JSON: %(error)s") % {"error": _short(error)},
                field="body",
            ) from None


def _too_large_message() -> str:
    return _("The request body is too large (%(limit)d bytes at most).") % {
        "limit": settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    }


def _short(error: Exception) -> str:
    return str(error)[:200] or type(error).__name__


# --- authentication ---------------------------------------------------------------------


class BearerTokenAuth(HttpBearer):
    """``Authorization: Bearer tc_…``: a token from POST /api/v1/auth/token."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = api_token_user(token.strip()) if token else None
        if user is not None:
            # Let code that reads request.user (access checks, audit) see the token's user.
            request.user = user
        return user


class SessionCookieAuth(SessionAuth):
    """The site's login session, for the browser and the docs page.

    Ninja's SessionAuth checks CSRF before it looks at the session, so an anonymous POST
    would get 403 "CSRF failed" instead of 401; here CSRF is checked only for a request that
    actually carries a logged-in session (it is still checked for every unsafe method then).
    """

    def __call__(self, request: HttpRequest) -> Any:
        if not getattr(request.user, "is_authenticated", False):
            return None
        return super().__call__(request)


# Bearer first: a client with a valid token is never asked for a CSRF token.
AUTH = [BearerTokenAuth(), SessionCookieAuth()]


# --- the docs page ----------------------------------------------------------------------


class LocalSwagger(DocsBase):
    """Swagger UI from the copy bundled in the django-ninja wheel (static ``ninja/…``).

    Ninja's own Swagger page falls back to a CDN when "ninja" is not in INSTALLED_APPS;
    this page never does. Swagger's online validator badge (validator.swagger.io) is off.
    The settings travel as JSON in a ``<script type="application/json">`` element and
    ninja's ``swagger-ui-init.js`` starts the UI, so the page has no inline script.
    """

    settings: ClassVar[dict[str, Any]] = {
        "layout": "BaseLayout",
        "deepLinking": True,
        "validatorUrl": None,
    }

    def render_page(self, request: HttpRequest, api: NinjaAPI, **kwargs: Any) -> HttpResponse:
        swagger_settings = {**self.settings, "url": self.get_openapi_url(api, kwargs)}
        html = format_html(
            _DOCS_PAGE,
            title=api.title,
            css=static("ninja/swagger-ui.css"),
            bundle=static("ninja/swagger-ui-bundle.js"),
            init=static("ninja/swagger-ui-init.js"),
            csrf_token=get_token(request),
            # json.dumps escapes nothing HTML-special that matters inside a JSON script
            # element except "</"; escape it so the element cannot be closed early.
            settings=mark_safe(json.dumps(swagger_settings).replace("</", "<\\/")),
        )
        return HttpResponse(html)


_DOCS_PAGE = """<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<title>{title}</title>
<link rel="stylesheet" href="{css}">
</head>
<body data-csrf-token="{csrf_token}" data-api-csrf="true">
<script type="application/json" id="swagger-settings">{settings}</script>
<div id="swagger-ui"></div>
<script src="{bundle}"></script>
<script src="{init}"></script>
</body>
</html>
"""


class CompactJSONRenderer(JSONRenderer):
    """Chinese text as UTF-8 rather than ``\\uXXXX`` escapes: half the bytes on a slow line."""

    json_dumps_params: ClassVar[dict[str, Any]] = {"ensure_ascii": False}


# --- the API ----------------------------------------------------------------------------


class TaocunAPI(NinjaAPI):
    """NinjaAPI whose own fallbacks (405 for a wrong method, 404 at the root) answer JSON."""

    @property
    def urls(self) -> tuple[list[URLPattern | URLResolver], str, str]:
        patterns, app_name, namespace = super().urls
        for pattern in patterns:
            if isinstance(pattern, URLPattern):
                pattern.callback = _json_fallbacks(pattern.callback)
        return patterns, app_name, namespace


def _json_fallbacks(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            response = view(request, *args, **kwargs)
        except Http404:
            return error_response(
                NotFound(_("There is nothing at %(path)s.") % {"path": request.path})
            )
        if response.status_code == 405 and "application/json" not in response.get(
            "Content-Type", ""
        ):
            allowed = response.get("Allow", "")
            json_response = error_response(
                ApplicationError(
                    _("%(method)s is not allowed here (allowed: %(allowed)s).")
                    % {"method": request.method, "allowed": allowed},
                    code="method_not_allowed",
                ),
                status=405,
            )
            json_response["Allow"] = allowed
            return json_response
        return response

    wrapped.csrf_exempt = getattr(view, "csrf_exempt", False)  # type: ignore[attr-defined]
    return wrapped


api = TaocunAPI(
    title="taocun API",
    version="1",
    description=(
        "The REST API of taocun (淘村). Authenticate with a bearer token from "
        "`POST /api/v1/auth/token` or the site's login session (with a CSRF token for "
        'unsafe methods). Errors are JSON: `{"code", "message", "field"?}`.'
    ),
    urls_namespace="api",
    auth=AUTH,
    parser=StrictJsonParser(),
    renderer=CompactJSONRenderer(),
    docs=LocalSwagger(),
    docs_url="/docs",
    openapi_url="/openapi.json",
)


# --- error translation: the one place ---------------------------------------------------


def error_response(error: ApplicationError, *, status: int | None = None) -> JsonResponse:
    return JsonResponse(
        error.as_dict(),
        status=status or error.http_status,
        json_dumps_params={"ensure_ascii": False},
    )


@api.exception_handler(ApplicationError)
def _application_error(request: HttpRequest, exc: ApplicationError) -> HttpResponse:
    return error_response(exc)


@api.exception_handler(NinjaValidationError)
def _validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    """Pydantic's errors → one ``invalid`` error naming the first field, plus all of them,
    each in the user's language (:mod:`taocun.core.pydantic_messages`).

    400 like the services' own ValidationError, so ``invalid`` always has one status.
    """
    problems = [
        {"field": _field_path(error.get("loc", ())), "message": pydantic_error_message(error)}
        for error in exc.errors
    ]
    first = problems[0] if problems else {"field": "", "message": _("Invalid input.")}
    return error_response(
        ValidationError(
            first["message"],
            field=first["field"] or None,
            extra={"errors": problems} if len(problems) > 1 else None,
        )
    )


def _field_path(loc: tuple | list) -> str:
    """``("body", "payload", "phone")`` → ``phone``; ``("path", "code")`` → ``code``.

    The first item is where the value came from; for a body it is followed by the
    endpoint's parameter name, which clients never see.
    """
    parts = [str(part) for part in loc]
    if parts and parts[0] == "body":
        parts = parts[2:] if len(parts) > 2 else ["body"]
    elif parts and parts[0] in {"path", "query", "header", "cookie", "form", "file"}:
        parts = parts[1:]
    return ".".join(parts)


@api.exception_handler(AuthenticationError)
def _not_authenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    response = error_response(
        ApplicationError(
            _("Log in, or send a valid API token (Authorization: Bearer …)."),
            code="not_authenticated",
        ),
        status=401,
    )
    response["WWW-Authenticate"] = 'Bearer realm="taocun"'
    return response


@api.exception_handler(AuthorizationError)
def _forbidden(request: HttpRequest, exc: AuthorizationError) -> HttpResponse:
    return error_response(ApplicationError(str(exc), code="forbidden"), status=403)


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    """Errors ninja raises itself: unparsable bodies (with our parser's error as the cause),
    CSRF failures, and anything else with a status."""
    cause = exc.__cause__
    if isinstance(cause, ApplicationError):
        return error_response(cause)
    if isinstance(cause, RequestDataTooBig):
        return error_response(PayloadTooLarge(_too_large_message(), field="body"))
    if exc.status_code == 403 and "CSRF" in exc.message:
        return error_response(
            ApplicationError(
                _(
                    "CSRF check failed: send the X-CSRFToken header with the csrftoken cookie's "
                    "value, or use a bearer token."
                ),
                code="csrf_failed",
            ),
            status=403,
        )
    codes = {
        400: "bad_request",
        401: "not_authenticated",
        403: "forbidden",
        404: "not_found",
        405: "method_not_allowed",
        429: "throttled",
    }
    return error_response(
        ApplicationError(exc.message, code=codes.get(exc.status_code, "error")),
        status=exc.status_code,
    )


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return error_response(NotFound(_("Not found.")))


@api.exception_handler(SuspiciousOperation)
def _suspicious(request: HttpRequest, exc: SuspiciousOperation) -> HttpResponse:
    """Django's limits on request size and shape, hit while reading the request."""
    if isinstance(exc, RequestDataTooBig):
        return error_response(PayloadTooLarge(_too_large_message(), field="body"))
    if isinstance(exc, TooManyFieldsSent):
        return error_response(ValidationError(_("Too many parameters."), code="too_many_fields"))
    return error_response(ApplicationError(_("Bad request."), code="bad_request"))


@api.exception_handler(Exception)
def _server_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    """A bug: logged with its traceback (and mailed to admins), answered in the API's shape."""
    logger.error(
        "Internal Server Error: %s",
        request.path,
        exc_info=exc,
        extra={"status_code": 500, "request": request},
    )
    return error_response(
        ApplicationError(_("Something went wrong on our side."), code="server_error"), status=500
    )


# --- routers ----------------------------------------------------------------------------


_fallback_router = Router()


@api.get("/", auth=None, include_in_schema=False)
def api_root(request: HttpRequest) -> dict:
    """Where to start: the docs and the schema."""
    return {
        "title": api.title,
        "version": api.version,
        "docs": request.path + "docs",
        "openapi": request.path + "openapi.json",
    }


@_fallback_router.api_operation(
    ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"],
    "/{path:rest}",
    auth=None,
    include_in_schema=False,
)
def unknown_route(request: HttpRequest, rest: str) -> None:
    raise NotFound(_("There is no API endpoint at %(path)s.") % {"path": request.path})


api.add_router("/", accounts_router, tags=["accounts"])
api.add_router("/regions", regions_router, tags=["regions"])
api.add_router("/market", market_router, tags=["market"])
api.add_router("/labels", labels_router, tags=["labels"])
api.add_router("/payments", payments_router, tags=["payments"])
api.add_router("/notifications", notifications_router, tags=["notifications"])
api.add_router("/reviews", reviews_router, tags=["reviews"])
api.add_router("/orders", orders_router, tags=["orders"])
# Last: anything no router matched is a JSON 404, not Django's HTML page.
api.add_router("/", _fallback_router)
