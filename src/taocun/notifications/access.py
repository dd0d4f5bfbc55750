"""Who may see which notification: only the user it was written for. Anyone else gets the
same 404 as for a notification that does not exist (ids cannot be probed), and the attempt
is written to the audit log as ``access.denied``."""

from typing import Any

from django.utils.translation import gettext as _

from taocun.core.access import audit_denied, require_login
from taocun.core.errors import NotFound
from taocun.notifications.models import Notification


def access_notification(*, user: Any, notification_id: int) -> Notification:
    require_login(user, _("Log in to see your notifications."))
    notification = Notification.objects.filter(pk=notification_id).first()
    if notification is not None and notification.user_id == user.pk:
        return notification
    if notification is not None:
        audit_denied(user=user, obj=notification, what="notification", owner=notification.user_id)
    raise NotFound(_("There is no notification %(id)s.") % {"id": notification_id})
