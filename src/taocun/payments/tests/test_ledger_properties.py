"""Property-based: no sequence of money operations creates or loses a fen.

A Hypothesis state machine pays checkouts, releases, refunds (before and after release,
partial and full, sometimes too much), requests payouts (sometimes too much), completes or
fails them, runs the automatic release and repeats earlier calls with the same key. A plain
Python model predicts every balance; after every step the database must agree with it, every
balance that holds money must be non-negative, every transaction must sum to zero and
``ledger_check`` must find nothing. Each example runs in a savepoint that is rolled back.
"""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)

from taocun.core.money import Money
from taocun.payments import selectors, services
from taocun.payments.errors import InsufficientFunds, RefundTooLarge
from taocun.payments.models import AccountKind, Escrow, EscrowStatus
from taocun.payments.providers.sandbox import SandboxProvider
from taocun.payments.tests.factories import person

RATES_BP = [0, 1, 250, 333, 5000, 10_000]


class Order:
    def __init__(self, reference: str, seller: int, amount: int, rate_bp: int) -> None:
        self.reference = reference
        self.seller = seller
        self.amount = amount
        self.rate_bp = rate_bp
        self.refunded = 0
        self.released = False
        self.commission = 0


class MoneyMachine(RuleBasedStateMachine):
    sellers: list = []
    buyer = None

    orders = Bundle("orders")
    payouts = Bundle("payouts")

    def __init__(self) -> None:
        super().__init__()
        self._savepoint = transaction.atomic()
        self._savepoint.__enter__()
        self.number = 0
        self.now = timezone.now()
        self.model_orders: dict[str, Order] = {}
        self.available = [0] * len(self.sellers)
        self.in_transit = [0] * len(self.sellers)
        self.platform = 0
        self.money_in = 0
        self.money_out = 0
        self.payout_amounts: dict[int, tuple[int, int]] = {}
        self.done: list[tuple] = []  # (callable, kwargs) to repeat with the same key

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self._savepoint.__exit__(None, None, None)

    def _key(self, what: str) -> str:
        self.number += 1
        return f"prop.{what}:{self.number}"

    # --- rules ---------------------------------------------------------------------------

    @rule(
        target=orders,
        lines=st.lists(
            st.tuples(st.integers(0, 1), st.integers(1, 50_000), st.sampled_from(RATES_BP)),
            min_size=1,
            max_size=3,
        ),
    )
    def pay(self, lines):
        checkout = self._key("checkout")
        splits = [
            services.Split(f"{checkout}-{i}", self.sellers[s], Money(fen), rate)
            for i, (s, fen, rate) in enumerate(lines)
        ]
        total = sum(fen for _s, fen, _r in lines)
        intent = services.payment_intent_create(
            reference=checkout,
            buyer=self.buyer,
            amount=Money(total),
            splits=splits,
            idempotency_key=self._key("intent"),
        )
        services.payment_capture(
            intent=intent,
            amount=Money(total),
            provider_payment_id=SandboxProvider().payment_id_for(intent.public_id),
            idempotency_key=self._key("capture"),
        )
        self.money_in += total
        for split, (s, fen, rate) in zip(splits, lines, strict=True):
            self.model_orders[split.reference] = Order(split.reference, s, fen, rate)
        return multiple(*(split.reference for split in splits))

    @rule(reference=orders)
    def release(self, reference):
        order = self.model_orders[reference]
        kwargs = {"reference": reference, "idempotency_key": self._key("release")}
        remaining = order.amount - order.refunded
        if remaining == 0:
            return  # fully refunded: nothing to release (tested elsewhere)
        services.escrow_release(**kwargs)
        self.done.append((services.escrow_release, kwargs))
        if not order.released:
            order.released = True
            order.commission = services.commission_for(amount_fen=remaining, rate_bp=order.rate_bp)
            self.available[order.seller] += remaining - order.commission
            self.platform += order.commission

    # Small amounts often (they usually succeed), large ones sometimes (they are refused).
    @rule(reference=orders, fen=st.one_of(st.integers(1, 3_000), st.integers(1, 60_000)))
    def refund(self, reference, fen):
        order = self.model_orders[reference]
        refundable = order.amount - order.refunded
        kwargs = {
            "reference": reference,
            "amount": Money(fen),
            "idempotency_key": self._key("refund"),
        }
        if fen > refundable:
            with pytest.raises(RefundTooLarge):
                services.refund_issue(**kwargs)
            return
        if order.released:
            commission_after = services.commission_for(
                amount_fen=refundable - fen, rate_bp=order.rate_bp
            )
            returned = order.commission - commission_after
            if fen - returned > self.available[order.seller]:
                with pytest.raises(InsufficientFunds):
                    services.refund_issue(**kwargs)
                return
            self.available[order.seller] -= fen - returned
            self.platform -= returned
            order.commission = commission_after
        services.refund_issue(**kwargs)
        self.done.append((services.refund_issue, kwargs))
        order.refunded += fen
        self.money_out += fen

    @rule(
        target=payouts,
        seller=st.integers(0, 1),
        fen=st.one_of(st.integers(1, 3_000), st.integers(1, 60_000)),
    )
    def payout(self, seller, fen):
        kwargs = {
            "seller": self.sellers[seller],
            "amount": Money(fen),
            "idempotency_key": self._key("payout"),
        }
        if fen > self.available[seller]:
            with pytest.raises(InsufficientFunds):
                services.payout_request(**kwargs)
            return multiple()
        payout = services.payout_request(**kwargs)
        self.done.append((services.payout_request, kwargs))
        self.available[seller] -= fen
        self.in_transit[seller] += fen
        self.payout_amounts[payout.pk] = (seller, fen)
        return payout.pk

    @rule(payout=consumes(payouts), succeeds=st.booleans())
    def payout_outcome(self, payout, succeeds):
        seller, fen = self.payout_amounts[payout]
        self.in_transit[seller] -= fen
        if succeeds:
            services.payout_complete(payout=payout, idempotency_key=self._key("complete"))
            self.money_out += fen
        else:
            services.payout_fail(payout=payout, reason="bank", idempotency_key=self._key("fail"))
            self.available[seller] += fen

    @rule(reference=orders, days=st.integers(0, 20))
    def schedule_and_sweep(self, reference, days):
        order = self.model_orders[reference]
        if order.released or order.refunded == order.amount:
            return
        services.escrow_schedule_release(
            reference=reference,
            release_after=self.now + timedelta(days=days),
            idempotency_key=self._key("schedule"),
        )
        self.now += timedelta(days=10)
        for released in services.escrow_release_due(now=self.now):
            due = self.model_orders[released]
            due.released = True
            remaining = due.amount - due.refunded
            due.commission = services.commission_for(amount_fen=remaining, rate_bp=due.rate_bp)
            self.available[due.seller] += remaining - due.commission
            self.platform += due.commission

    @rule(data=st.data())
    def repeat_a_call(self, data):
        if not self.done:
            return
        call, kwargs = data.draw(st.sampled_from(self.done))
        call(**kwargs)  # the same key and parameters: nothing may change

    # --- invariants ----------------------------------------------------------------------

    @invariant()
    def balances_match_the_model(self):
        for index, seller in enumerate(self.sellers):
            balance = selectors.seller_balance(seller=seller)
            pending = sum(
                o.amount - o.refunded
                for o in self.model_orders.values()
                if o.seller == index and not o.released
            )
            assert balance.available.amount_fen == self.available[index]
            assert balance.in_transit.amount_fen == self.in_transit[index]
            assert balance.pending.amount_fen == pending
        platform = selectors.owner_balances(owner=services.PLATFORM_OWNER)
        assert platform.get(AccountKind.PLATFORM_COMMISSION, Money(0)).amount_fen == self.platform

    @invariant()
    def no_money_is_created_or_lost(self):
        held = self.money_in - self.money_out
        provider = selectors.owner_balances(owner=SandboxProvider.name)
        assert provider.get(AccountKind.PROVIDER, Money(0)).amount_fen == -held
        inside = sum(
            line.total.amount_fen
            for line in selectors.trial_balance()
            if line.kind != AccountKind.PROVIDER
        )
        assert inside == held
        assert sum(line.total.amount_fen for line in selectors.trial_balance()) == 0

    @invariant()
    def the_books_check(self):
        assert selectors.ledger_check() == []

    @invariant()
    def escrow_states_follow(self):
        statuses = dict(
            Escrow.objects.filter(reference__in=self.model_orders).values_list(
                "reference", "status"
            )
        )
        for order in self.model_orders.values():
            if order.refunded == order.amount:
                expected = EscrowStatus.REFUNDED
            elif order.released:
                expected = EscrowStatus.RELEASED
            else:
                expected = EscrowStatus.HELD
            assert statuses[order.reference] == expected, order.reference


@pytest.mark.django_db
def test_no_sequence_of_operations_creates_or_loses_money():
    MoneyMachine.sellers = [person(), person()]
    MoneyMachine.buyer = person()
    run_state_machine_as_test(
        MoneyMachine,
        settings=settings(
            max_examples=25,
            stateful_step_count=20,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
