"""The pieces every app's ``access_*`` checks share: who is logged in, the refusal for
visitors, and the refusal for everyone else — a PermissionDenied that is also written to
the audit log as ``access.denied`` (who, what, on which object)."""

from typing import Any

from taocun.core.errors import NotAuthenticated, PermissionDenied
from taocun.core.services import audit_record


def is_authenticated(user) -> bool:
    return bool(getattr(user, "is_authenticated", False))


def require_login(user, message: str) -> None:
    if not is_authenticated(user):
        raise NotAuthenticated(message)


def audit_denied(
    *,
    user,
    what: str | None,
    obj: Any = None,
    object_type: str = "",
    object_id: str | int = "",
    ip_address: str | None = None,
    **details: Any,
) -> None:
    """Write the ``access.denied`` entry of a refusal: ``what`` was refused (and any other
    ``details``) on ``obj``, or on ``object_type``/``object_id`` when there is no row."""
    after = {"what": what, **details} if what is not None else (details or None)
    audit_record(
        actor=user if is_authenticated(user) else None,
        action="access.denied",
        obj=obj,
        object_type=object_type,
        object_id=object_id,
        after=after,
        ip_address=ip_address,
    )


def denied(*, user, message: str, **where: Any) -> PermissionDenied:
    """Audit the refusal (``where`` as for :func:`audit_denied`) and return the error for
    the caller to raise."""
    audit_denied(user=user, **where)
    return PermissionDenied(message)
