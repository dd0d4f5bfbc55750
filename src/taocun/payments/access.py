"""Who may see which money. A refusal raises PermissionDenied and is audited, the same for
the API, pages and the CLI."""

from typing import Any

from django.utils.translation import gettext as _

from taocun.core.access import denied, require_login
from taocun.payments import selectors


def _is_staff(user: Any) -> bool:
    return bool(getattr(user, "is_superuser", False) or getattr(user, "is_staff", False))


def access_payment_status(*, user: Any, reference: str) -> selectors.PaymentStatus:
    """A payment's status: its buyer, the sellers paid by it, and staff. Unknown references
    are 404 for everyone (raised by the selector, before any access decision)."""
    require_login(user, _("Log in to see payments."))
    status = selectors.payment_status(reference=reference)
    if _is_staff(user) or user.pk in selectors.payment_parties(reference=reference):
        return status
    raise denied(
        user=user,
        object_type="payments.payment",
        object_id=reference[:64],
        what="payment status",
        message=_("You may not see the payment of %(reference)s.") % {"reference": reference},
    )
