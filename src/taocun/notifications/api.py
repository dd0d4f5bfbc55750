"""The notifications API (mounted at /api/v1/notifications): the caller's own
notifications, read marks and channel preferences. Nobody sees anyone else's."""

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Query, Router
from ninja.pagination import paginate

from taocun.core.pagination import BoundedLimitOffsetPagination
from taocun.notifications import selectors, services
from taocun.notifications.access import access_notification
from taocun.notifications.models import Notification
from taocun.notifications.schemas import (
    MarkedOut,
    NotificationOut,
    PreferencesIn,
    PreferencesOut,
    UnreadCountOut,
    UnreadFilterIn,
)

router = Router()


@router.get("/", response=list[NotificationOut], summary="My notifications")
@paginate(BoundedLimitOffsetPagination)
def notification_list(request: HttpRequest, query: Query[UnreadFilterIn]) -> QuerySet:
    """Unread first, then newest first; ``?unread=true`` for unread only."""
    return selectors.notifications_list(user=request.auth, unread_only=query.unread)


@router.get("/unread-count", response=UnreadCountOut, summary="How many are unread")
def unread_count(request: HttpRequest) -> UnreadCountOut:
    return UnreadCountOut(unread=selectors.notifications_unread_count(user=request.auth))


@router.post("/read-all", response=MarkedOut, summary="Mark all read")
def mark_all_read(request: HttpRequest) -> MarkedOut:
    return MarkedOut(marked=services.notifications_mark_all_read(user=request.auth))


@router.get("/preferences", response=PreferencesOut, summary="My notification settings")
def preferences(request: HttpRequest) -> PreferencesOut:
    return _preferences_out(selectors.preferences_get(user=request.auth))


@router.put("/preferences", response=PreferencesOut, summary="Change my notification settings")
def preferences_put(request: HttpRequest, payload: PreferencesIn) -> PreferencesOut:
    """Fields left out (or null) keep their value."""
    changes: dict = {}
    if payload.language is not None:
        changes["language"] = payload.language
    if payload.email is not None:
        changes["email"] = payload.email
    if payload.channels is not None:
        changes["channels"] = {
            group: {k: v for k, v in wanted.dict().items() if v is not None}
            for group, wanted in payload.channels.items()
        }
    found = services.preferences_update(user=request.auth, actor=request.auth, **changes)
    return _preferences_out(found)


@router.get("/{int:notification_id}", response=NotificationOut, summary="One notification")
def notification_get(request: HttpRequest, notification_id: int) -> Notification:
    return access_notification(user=request.auth, notification_id=notification_id)


@router.post("/{int:notification_id}/read", response=NotificationOut, summary="Mark read")
def mark_read(request: HttpRequest, notification_id: int) -> Notification:
    notification = access_notification(user=request.auth, notification_id=notification_id)
    return services.notification_mark_read(notification=notification)


def _preferences_out(found: selectors.Preferences) -> PreferencesOut:
    return PreferencesOut(
        language=found.language,
        language_chosen=found.language_chosen,
        email=found.email,
        channels={g.group: {"sms": g.sms, "email": g.email} for g in found.groups},
    )
