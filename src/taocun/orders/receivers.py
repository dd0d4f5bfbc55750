"""Receivers of the domain events of ``payments`` and of logins. Each only calls one
service, which is idempotent: an event delivered twice, or late, changes nothing more.
A payment that pays or closes a whole checkout notifies its buyer and sellers as one batch
(``order_notify_batch``)."""

import logging

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from taocun.orders import services
from taocun.orders.notify import order_notify_batch
from taocun.payments import signals

logger = logging.getLogger(__name__)

SESSION_CART = "orders_cart"


@receiver(signals.payment_succeeded, dispatch_uid="orders.payment_succeeded")
def on_payment_succeeded(sender, *, reference: str, **kwargs) -> None:
    with order_notify_batch():
        services.checkout_mark_paid(reference=reference)


@receiver(signals.payment_closed, dispatch_uid="orders.payment_closed")
def on_payment_closed(sender, *, reference: str, status: str, **kwargs) -> None:
    with order_notify_batch():
        services.checkout_payment_closed(reference=reference, status=status)


@receiver(signals.escrow_released, dispatch_uid="orders.escrow_released")
def on_escrow_released(sender, *, reference: str, **kwargs) -> None:
    services.order_escrow_released(reference=reference)


@receiver(user_logged_in, dispatch_uid="orders.cart_merge")
def on_login(sender, *, request, user, **kwargs) -> None:
    session = getattr(request, "session", None)
    if session is None:
        return
    items = session.pop(SESSION_CART, None)
    if items:
        services.cart_merge_session(buyer=user, items=items)
