"""Domain events of the money core, for the apps that sit above it (the market).

``payments`` reads nothing from the market, so it cannot tell an order that it was paid;
it announces what happened instead, once the change is committed. Receivers get plain
values (references and ids), never rows to write to::

    payment_succeeded(intent_id, reference, order_references)   # money is in escrow
    payment_closed(intent_id, reference, status, reason)        # failed or cancelled
    refund_issued(reference, refund_id, amount_fen, currency, stage)
    escrow_released(reference, seller_id, released_fen, commission_fen)

A receiver that fails does not undo the payment (it is committed); the market can always
ask ``selectors.payment_status(reference=…)`` to catch up.
"""

from django.dispatch import Signal

payment_succeeded = Signal()
payment_closed = Signal()
refund_issued = Signal()
escrow_released = Signal()
