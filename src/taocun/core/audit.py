"""Audit entries written in bulk: one row per changed object, one INSERT for all of them.

A checkout takes the stock of every line and a payment marks every order of it paid; each
of those changes keeps its own audit entry, but they are written together. Entries are the
same as :func:`taocun.core.services.audit_record` writes one at a time.
"""

from collections.abc import Iterable
from typing import Any

from django.db import models

from taocun.core.models import AuditEntry


def audit_actor(actor: Any | None) -> tuple[Any | None, str]:
    """The user (or ``None``) and the label an audit entry records for ``actor``."""
    user = actor if getattr(actor, "is_authenticated", False) else None
    if user is not None:
        label = str(getattr(user, "phone", "") or user.pk)
    else:
        label = str(actor) if isinstance(actor, str) else "system"
    return user, label[:100]


def audit_records(
    *,
    actor: Any | None,
    action: str,
    entries: Iterable[tuple[models.Model, dict | None, dict | None]],
) -> list[AuditEntry]:
    """Append one entry per ``(obj, before, after)`` to the audit log, in one INSERT.

    Call it inside the service's transaction, like ``audit_record``.
    """
    user, label = audit_actor(actor)
    rows = [
        AuditEntry(
            actor=user,
            actor_label=label,
            action=action,
            object_type=obj._meta.label_lower,
            object_id=str(obj.pk),
            before=before,
            after=after,
        )
        for obj, before, after in entries
    ]
    return AuditEntry.objects.bulk_create(rows) if rows else []
