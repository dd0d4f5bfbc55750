"""The pieces every app's ``access_*`` checks share: who is logged in, the refusal for
visitors, and the refusal for everyone else — a PermissionDenied that is also written to
the audit log as ``access.denied`` (who, what, on which object)."""

from taocun.core.errors import NotAuthenticated, PermissionDenied
from taocun.core.services import audit_record


def is_authenticated(user) -> bool:
    return bool(getattr(user, "is_authenticated", False))


def require_login(user, message: str) -> None:
    if not is_authenticated(user):
        raise NotAuthenticated(message)


def denied(*, user, obj, what: str, message: str) -> PermissionDenied:
    """Audit the refusal and return the error for the caller to raise."""
    audit_record(
        actor=user if is_authenticated(user) else None,
        action="access.denied",
        obj=obj,
        after={"what": what},
    )
    return PermissionDenied(message)
