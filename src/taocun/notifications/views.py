"""The inbox and the notification settings page. Plain forms without script (they must
work on a cheap phone); every notification is checked with ``access_notification``."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from taocun.core.errors import ValidationError
from taocun.notifications import selectors, services
from taocun.notifications.access import access_notification
from taocun.notifications.models import Channel

PAGE_SIZE = 20


def _back(request: HttpRequest) -> HttpResponse:
    """To ``next`` when it is a page of this site, else the inbox."""
    target = request.POST.get("next") or ""
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = reverse("notifications:inbox")
    return redirect(target)


@login_required
@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    unread_only = request.GET.get("unread") == "1"
    paginator = Paginator(
        selectors.notifications_list(user=request.user, unread_only=unread_only), PAGE_SIZE
    )
    page = paginator.get_page(request.GET.get("page"))
    return render(
        request,
        "notifications/inbox.html",
        {
            "page": page,
            "unread_only": unread_only,
            "query_string": "unread=1" if unread_only else "",
        },
    )


@login_required
@require_GET
def open_notification(request: HttpRequest, notification_id: int) -> HttpResponse:
    """Follow a notification's link, marking it read on the way."""
    notification = access_notification(user=request.user, notification_id=notification_id)
    services.notification_mark_read(notification=notification)
    return redirect(notification.url or reverse("notifications:inbox"))


@login_required
@require_POST
def mark_read(request: HttpRequest, notification_id: int) -> HttpResponse:
    notification = access_notification(user=request.user, notification_id=notification_id)
    services.notification_mark_read(notification=notification)
    return _back(request)


@login_required
@require_POST
def mark_all_read(request: HttpRequest) -> HttpResponse:
    services.notifications_mark_all_read(user=request.user)
    return _back(request)


@login_required
@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest) -> HttpResponse:
    found = selectors.preferences_get(user=request.user)
    error: ValidationError | None = None
    if request.method == "POST":
        channels = {
            group.group: {
                channel: request.POST.get(f"{group.group}-{channel}") == "on"
                for channel in Channel.values
            }
            for group in found.groups
        }
        try:
            services.preferences_update(
                user=request.user,
                actor=request.user,
                language=request.POST.get("language", ""),
                email=request.POST.get("email", ""),
                channels=channels,
            )
        except ValidationError as caught:
            error = caught
        else:
            messages.success(request, _("Your notification settings are saved."))
            return redirect("notifications:preferences")
    context = {
        "preferences": found,
        "language_choices": settings.LANGUAGES,
        "error": error,
        "typed": request.POST if error else None,
    }
    return render(request, "notifications/preferences.html", context, status=400 if error else 200)
