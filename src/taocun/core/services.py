"""Core services: the audit log."""

from typing import Any

from django.db import models

from taocun.core.audit import audit_actor
from taocun.core.models import AuditEntry


def audit_record(
    *,
    actor: Any | None,
    action: str,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str | int = "",
    before: dict | None = None,
    after: dict | None = None,
    ip_address: str | None = None,
) -> AuditEntry:
    """Append one entry to the audit log.

    Call it inside the service's transaction so the entry and the change commit together.
    ``actor`` is a user, or ``None`` for the system (CLI imports, background tasks).
    """
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or obj.pk
    user, label = audit_actor(actor)
    return AuditEntry.objects.create(
        actor=user,
        actor_label=label,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        before=before,
        after=after,
        ip_address=ip_address,
    )
