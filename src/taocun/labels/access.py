"""Who may do what with label evaluations.

Reading results is public: the Taobao-Village label is published information, and stored
results hold village-level figures only (never households). Requesting an evaluation reads
the whole sales ledger and keeps a worker busy, so it needs a role whose work calls for it.
A refusal raises PermissionDenied and writes an ``access.denied`` audit entry, the same for
pages, the API and the CLI.
"""

from django.utils.translation import gettext as _

from taocun.accounts.models import Role
from taocun.core.access import denied, is_authenticated, require_login

# Roles that may ask for a new evaluation: the programme runs the yearly rounds; a county
# officer re-runs one to see where the county's villages stand.
EVALUATION_REQUEST_ROLES = frozenset({Role.PROGRAM_ADMIN, Role.OFFICER})


def may_request_evaluation(user) -> bool:
    """Whether to offer the request form at all (the check itself is the access_* below)."""
    if not is_authenticated(user):
        return False
    return user.is_superuser or bool(user.roles & EVALUATION_REQUEST_ROLES)


def access_evaluation_request(*, user, ip_address: str | None = None):
    """Allow program admins, county officers and superusers to request an evaluation."""
    require_login(user, _("Log in to request an evaluation."))
    if not may_request_evaluation(user):
        raise denied(
            user=user,
            object_type="labels.evaluation",
            what="evaluation request",
            ip_address=ip_address,
            message=_("Only program admins and county officers may request an evaluation."),
        )
    return user
