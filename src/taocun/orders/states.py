"""The order state machine, in one place.

Every status change of an order is one of the actions below: it is allowed only from the
listed statuses and only for the listed kinds of actor, and it leads to the listed status.
``order_transition`` in :mod:`taocun.orders.services` is the only code that applies them.

========================  ===================================================  ==================
action                    from                                                 to
========================  ===================================================  ==================
pay                       placed                                               paid
cancel                    placed, paid (paid: full refund first)               cancelled
accept                    paid (once)                                          paid
ship                      paid                                                 shipped
deliver                   shipped                                              delivered
complete                  shipped, delivered                                   completed
request_refund            paid, shipped, delivered, completed                  refund_requested
refund                    paid … completed, refund_requested (full refund)     refunded
refund_partial            paid … completed, refund_requested                   previous status
decline_refund            refund_requested                                     previous status
========================  ===================================================  ==================

"Previous status" is the status the order had before the refund was requested (or the
status it is in, for a partial refund the seller gives unasked): a partial refund does not
end the order, it goes on to be shipped and completed for what remains.
"""

from dataclasses import dataclass

from taocun.orders.models import OrderStatus as S

BUYER = "buyer"
SELLER = "seller"
STAFF = "staff"
AGENT = "agent"
SYSTEM = "system"

PREVIOUS = "previous"  # the target is the status before the refund request


@dataclass(frozen=True)
class Transition:
    sources: frozenset[str]
    target: str
    actors: frozenset[str]


def _t(sources, target: str, actors) -> Transition:
    return Transition(frozenset(sources), target, frozenset(actors))


AFTER_PAYMENT = (S.PAID, S.SHIPPED, S.DELIVERED, S.COMPLETED)

TRANSITIONS: dict[str, Transition] = {
    "pay": _t([S.PLACED], S.PAID, [SYSTEM]),
    "cancel": _t([S.PLACED, S.PAID], S.CANCELLED, [BUYER, SELLER, STAFF, SYSTEM]),
    "accept": _t([S.PAID], S.PAID, [SELLER, STAFF]),
    "ship": _t([S.PAID], S.SHIPPED, [SELLER, STAFF]),
    "deliver": _t([S.SHIPPED], S.DELIVERED, [SELLER, AGENT, STAFF, SYSTEM]),
    "complete": _t([S.SHIPPED, S.DELIVERED], S.COMPLETED, [BUYER, STAFF, SYSTEM]),
    "request_refund": _t(AFTER_PAYMENT, S.REFUND_REQUESTED, [BUYER]),
    "refund": _t([*AFTER_PAYMENT, S.REFUND_REQUESTED], S.REFUNDED, [SELLER, STAFF, SYSTEM]),
    "refund_partial": _t([*AFTER_PAYMENT, S.REFUND_REQUESTED], PREVIOUS, [SELLER, STAFF, SYSTEM]),
    "decline_refund": _t([S.REFUND_REQUESTED], PREVIOUS, [SELLER, STAFF]),
}

# Statuses in which the goods have not left the shop: cancelling or refunding in full puts
# the reserved stock back.
NOT_SHIPPED = frozenset({S.PLACED, S.PAID})
FINAL = frozenset({S.CANCELLED, S.REFUNDED})


def target_status(action: str, *, status: str, refund_from_status: str) -> str:
    """Where ``action`` takes an order that is in ``status`` now."""
    target = TRANSITIONS[action].target
    if target != PREVIOUS:
        return target
    if status == S.REFUND_REQUESTED:
        return refund_from_status
    return status


def allowed(action: str, *, status: str) -> bool:
    return status in TRANSITIONS[action].sources


def actions_for(*, status: str, roles: set[str]) -> list[str]:
    """The actions someone with ``roles`` may take on an order in ``status`` (for pages)."""
    return [
        action
        for action, rule in TRANSITIONS.items()
        if status in rule.sources and rule.actors & roles
    ]
