"""Log in, log out and sign up pages. The work is done by accounts.services; a service
error (an ApplicationError) is shown next to the field it names."""

from django.conf import settings
from django.contrib.auth import login, logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from taocun.accounts import services
from taocun.core.errors import ApplicationError


def _safe_next(request: HttpRequest) -> str:
    """The ``next`` the user asked for, only when it is a local URL; else the home page."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return ""


def _render_form(request, template: str, error: ApplicationError | None, values: dict):
    return render(
        request,
        template,
        {"error": error, "values": values, "next": _safe_next(request)},
        status=error.http_status if error else 200,
    )


@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    error = None
    if request.method == "POST":
        try:
            user = services.user_login(
                request=request,
                phone=request.POST.get("phone", ""),
                password=request.POST.get("password", ""),
            )
        except ApplicationError as exc:
            error = exc
        else:
            login(request, user)
            return redirect(_safe_next(request) or resolve_url(settings.LOGIN_REDIRECT_URL))
    return _render_form(
        request, "accounts/login.html", error, {"phone": request.POST.get("phone", "")}
    )


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect(settings.LOGOUT_REDIRECT_URL)


@require_http_methods(["GET", "POST"])
def signup_view(request: HttpRequest) -> HttpResponse:
    error = None
    if request.method == "POST":
        try:
            user = services.user_sign_up(
                phone=request.POST.get("phone", ""),
                password=request.POST.get("password", ""),
                display_name=request.POST.get("display_name", ""),
                ip_address=request.META.get("REMOTE_ADDR"),
            )
        except ApplicationError as exc:
            error = exc
        else:
            login(request, user, backend=settings.AUTHENTICATION_BACKENDS[0])
            return redirect(_safe_next(request) or resolve_url(settings.LOGIN_REDIRECT_URL))
    values = {key: request.POST.get(key, "") for key in ("phone", "display_name")}
    return _render_form(request, "accounts/signup.html", error, values)
