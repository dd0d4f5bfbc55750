"""Who may see which money. A refusal raises PermissionDenied and is audited, the same for
the API, pages and the CLI.

The money pages are the one place payments looks at the market: a shop's money is the
account of the user its orders pay (the keeper who opened it), and who keeps a shop is the
market's rule (``market.access``). The ledger, services and selectors still know only users.
"""

from dataclasses import dataclass
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


@dataclass(frozen=True)
class ShopMoney:
    """What a money page may show and do."""

    shop: Any
    payee: Any  # the user the shop's orders pay (its opener): whose balance it is
    is_keeper: bool  # a seller of the shop's household (not only staff looking)
    may_pay_out: bool  # only the payee moves their money out


def access_shop_money(*, user: Any, shop_id: int | None = None) -> ShopMoney:
    """A shop's money page: the keepers of the shop (the sellers of its household) and
    staff; ``shop_id`` None is the user's own shop. Anyone else, or a user without a shop,
    gets 403 (audited), as on the order desk. An unknown shop is 404 for everyone."""
    from taocun.market.access import is_program_staff, is_shop_keeper
    from taocun.market.selectors import seller_shop, shop_get

    require_login(user, _("Log in to see your shop's money."))
    shop = seller_shop(user=user) if shop_id is None else shop_get(shop_id=shop_id)
    keeper = shop is not None and is_shop_keeper(user, shop)
    if not keeper and not (shop is not None and (_is_staff(user) or is_program_staff(user))):
        raise denied(
            user=user,
            obj=shop if shop is not None else user,
            what="shop money",
            message=_("Only the sellers of a shop see its money."),
        )
    return ShopMoney(
        shop=shop,
        payee=shop.opened_by,
        is_keeper=keeper,
        may_pay_out=keeper and shop.opened_by_id == user.pk,
    )


def access_payout_request(*, user: Any, money: ShopMoney) -> None:
    """A payout from a money page: only the payee, who is paid for the shop's orders
    (another keeper of the household, or staff, may look but not move the money)."""
    if not money.may_pay_out:
        raise denied(
            user=user,
            obj=money.shop,
            what="payout request",
            message=_("Only the seller who opened the shop can request its payouts."),
        )
