"""``notifications_unread`` for the bell in the page header (one indexed COUNT, and none
for visitors who are not logged in)."""

from django.http import HttpRequest

from taocun.notifications import selectors


def unread_count(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"notifications_unread": selectors.notifications_unread_count(user=user)}
