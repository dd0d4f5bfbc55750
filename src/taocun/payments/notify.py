"""Tell a seller what happened to their payout: requested, paid out, or failed (and the
money back in their balance). The kinds are ``payout.requested``, ``payout.paid`` and
``payout.failed``, one for each status a payout passes through.

The services call :func:`payout_notify` after commit (a rolled-back payout tells nobody
anything), with plain values. The notifications app is optional to payments: when the
module does not exist nothing is sent; any other error is a real one. Titles and bodies
are written in the recipient's language, and each event of a payout is told once
(``dedupe_key``), however often the service that made it is replayed.

The "requested" message matters even though the seller asked for it: it reaches their
phone by SMS, so a payout requested by someone else in their name does not go unseen.
"""

from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils.translation import gettext as _

from taocun.core.money import Money

PAYOUT_REQUESTED = "payout.requested"
PAYOUT_PAID = "payout.paid"
PAYOUT_FAILED = "payout.failed"


def _message(*, kind: str, payout_id: int, amount: Money, reason: str) -> tuple[str, str]:
    if kind == PAYOUT_REQUESTED:
        return (
            _("Payout of %(amount)s requested") % {"amount": amount},
            _("Payout %(id)d is on its way to you; you will be told when it arrives.")
            % {"id": payout_id},
        )
    if kind == PAYOUT_PAID:
        return (
            _("Payout of %(amount)s paid out") % {"amount": amount},
            _("Payout %(id)d has been sent to you.") % {"id": payout_id},
        )
    return (
        _("Payout of %(amount)s failed") % {"amount": amount},
        _("Payout %(id)d failed (%(reason)s); the money is back in your available balance.")
        % {"id": payout_id, "reason": reason},
    )


def payout_notify(
    *,
    seller_id: int,
    payout_id: int,
    kind: str,
    amount_fen: int,
    currency: str,
    reason: str = "",
) -> None:
    """One message to the seller of a payout (``kind`` is one of the three above)."""
    try:
        from taocun.notifications.recipients import in_recipient_language
        from taocun.notifications.services import notify
    except ImportError:
        return
    seller = get_user_model()._default_manager.get(pk=seller_id)
    with in_recipient_language(seller):
        title, body = _message(
            kind=kind, payout_id=payout_id, amount=Money(amount_fen, currency), reason=reason
        )
    notify(
        user=seller,
        kind=kind,
        title=str(title),
        body=str(body),
        url=reverse("payments:money"),
        context={"payout": payout_id},
        dedupe_key=f"{kind}:{payout_id}",
    )
