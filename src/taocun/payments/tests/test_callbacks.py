"""Provider callbacks and the sandbox's hosted pay page, through HTTP.

A callback is applied only when its signature covers exactly what was sent, its
timestamp is within the window and its nonce is new; anything else is refused with a
clear code, audited, and changes nothing.
"""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from taocun.core.models import AuditEntry
from taocun.core.money import Money
from taocun.payments import selectors
from taocun.payments.models import (
    CallbackNonce,
    EscrowStatus,
    IntentStatus,
    LedgerEntry,
    LedgerTransaction,
    PaymentIntent,
    TransactionKind,
)
from taocun.payments.providers.sandbox import SandboxProvider, sign
from taocun.payments.tests.factories import checkout_open, person

pytestmark = pytest.mark.django_db

CALLBACK_URL = "/payments/callback/sandbox/"


@pytest.fixture
def intent():
    return checkout_open(orders=[(person(), 1200, 300), (person(), 800, 0)])


def signed(intent: PaymentIntent, *, status: str = "paid", now=None, **fields) -> dict:
    return SandboxProvider().callback_build(
        intent_id=intent.public_id,
        reference=intent.reference,
        status=status,
        amount=Money(intent.amount_fen, intent.currency),
        now=now or timezone.now(),
        **fields,
    )


def post(payload: dict, client: Client | None = None):
    return (client or Client()).post(CALLBACK_URL, payload)


def nothing_moved(intent: PaymentIntent) -> bool:
    intent.refresh_from_db()
    return (
        intent.status == IntentStatus.PENDING
        and not LedgerEntry.objects.exists()
        and not intent.escrows.exclude(status=EscrowStatus.AWAITING_PAYMENT).exists()
    )


def test_a_valid_paid_callback_captures_the_payment(intent):
    response = post(signed(intent))

    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "intent": intent.public_id,
        "intent_status": IntentStatus.SUCCEEDED,
    }
    intent.refresh_from_db()
    assert intent.status == IntentStatus.SUCCEEDED
    assert intent.provider_payment_id == SandboxProvider().payment_id_for(intent.public_id)
    assert set(intent.escrows.values_list("status", flat=True)) == {EscrowStatus.HELD}
    assert selectors.ledger_check() == []


def test_the_callback_needs_no_csrf_token(intent):
    response = post(signed(intent), Client(enforce_csrf_checks=True))

    assert response.status_code == 200


def test_a_json_callback_is_accepted_too(intent):
    response = Client().post(CALLBACK_URL, signed(intent), content_type="application/json")

    assert response.status_code == 200


def test_a_new_delivery_of_the_same_payment_answers_200_and_changes_nothing(intent):
    assert post(signed(intent)).status_code == 200
    before = (LedgerTransaction.objects.count(), LedgerEntry.objects.count())

    again = post(signed(intent))  # a retry: same payment, new nonce and timestamp

    assert again.status_code == 200
    assert again.json()["intent_status"] == IntentStatus.SUCCEEDED
    assert (LedgerTransaction.objects.count(), LedgerEntry.objects.count()) == before


def test_a_failed_callback_closes_the_intent(intent):
    response = post(signed(intent, status="failed"))

    assert response.status_code == 200
    intent.refresh_from_db()
    assert intent.status == IntentStatus.FAILED
    assert set(intent.escrows.values_list("status", flat=True)) == {EscrowStatus.VOID}
    assert not LedgerEntry.objects.exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [("amount_fen", "1"), ("amount_fen", "2001"), ("currency", "USD"), ("status", "failed")],
)
def test_a_tampered_field_breaks_the_signature(intent, field, value):
    payload = {**signed(intent), field: value}

    response = post(payload)

    assert response.status_code == 400
    assert response.json()["code"] == "bad_signature"
    assert response.json()["field"] == "signature"
    assert nothing_moved(intent)
    rejected = AuditEntry.objects.get(action="payment.callback_rejected")
    assert rejected.object_id == intent.public_id
    assert rejected.after["code"] == "bad_signature"


def test_an_added_field_breaks_the_signature(intent):
    response = post({**signed(intent), "extra": "1"})

    assert response.json()["code"] == "bad_signature"
    assert nothing_moved(intent)


@pytest.mark.parametrize("signature", ["", "0" * 64, "not-hex", "é" * 64])
def test_a_missing_or_forged_signature_is_refused(intent, signature):
    response = post({**signed(intent), "signature": signature})

    assert response.status_code == 400
    assert response.json()["code"] == "bad_signature"
    assert nothing_moved(intent)


def test_a_validly_signed_callback_for_another_amount_is_refused(intent):
    """Only the provider can sign; if it ever reports a different amount, nothing moves."""
    payload = signed(intent)
    payload["amount_fen"] = "1999"
    payload["signature"] = sign(payload)

    response = post(payload)

    assert response.status_code == 400
    assert response.json()["code"] == "callback_mismatch"
    assert "¥19.99" in response.json()["message"] and "¥20.00" in response.json()["message"]
    assert nothing_moved(intent)


def test_a_replayed_callback_is_refused_and_changes_nothing(intent):
    payload = signed(intent, status="failed")
    assert post(payload).status_code == 200
    paid = signed(intent, nonce=payload["nonce"])

    replay = post(payload)
    same_nonce = post(paid)

    assert replay.status_code == 400
    assert replay.json()["code"] == "replayed_callback"
    assert same_nonce.json()["code"] == "replayed_callback"
    intent.refresh_from_db()
    assert intent.status == IntentStatus.FAILED
    assert not LedgerEntry.objects.exists()
    assert CallbackNonce.objects.count() == 1


@pytest.mark.parametrize("offset", [timedelta(minutes=-6), timedelta(minutes=6)])
def test_a_stale_or_future_timestamp_is_refused(intent, offset):
    response = post(signed(intent, now=timezone.now() + offset))

    assert response.status_code == 400
    assert response.json()["code"] == "stale_callback"
    assert response.json()["field"] == "timestamp"
    assert nothing_moved(intent)
    assert not CallbackNonce.objects.exists()


def test_a_callback_for_an_unknown_intent_is_refused(intent):
    payload = signed(intent)
    payload["intent"] = "pi_nobody"
    payload["signature"] = sign(payload)

    response = post(payload)

    assert response.json()["code"] == "unknown_intent"
    assert nothing_moved(intent)


def test_a_field_sent_twice_is_refused(intent):
    payload = signed(intent)
    body = "&".join(f"{k}={v}" for k, v in payload.items()) + "&amount_fen=1"

    response = Client().post(CALLBACK_URL, body, content_type="application/x-www-form-urlencoded")

    assert response.status_code == 400
    assert response.json()["code"] == "malformed_callback"
    assert nothing_moved(intent)


def test_get_and_bad_json_are_refused(intent):
    assert Client().get(CALLBACK_URL).status_code == 405
    bad = Client().post(CALLBACK_URL, "{", content_type="application/json")
    assert bad.json()["code"] == "malformed_callback"
    unknown = Client().post("/payments/callback/nowhere/", signed(intent))
    assert unknown.status_code == 404


def test_a_second_payment_of_a_paid_intent_is_sent_back(intent):
    assert post(signed(intent)).status_code == 200

    response = post(signed(intent, payment_id="sbx_second_payment"))

    assert response.status_code == 200
    kinds = list(LedgerTransaction.objects.values_list("kind", flat=True))
    assert kinds == [
        TransactionKind.CAPTURE,
        TransactionKind.UNAPPLIED_CAPTURE,
        TransactionKind.UNAPPLIED_RETURN,
    ]
    assert selectors.ledger_check() == []


# --- the hosted pay page ----------------------------------------------------------------------


def test_the_pay_page_shows_the_amount_and_two_buttons(intent):
    response = Client().get(intent.redirect_url)

    assert response.status_code == 200
    html = response.content.decode()
    assert "¥20.00" in html and intent.reference in html
    assert 'value="pay"' in html and 'value="fail"' in html
    assert response["Referrer-Policy"] == "same-origin"
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]


def test_paying_on_the_page_captures_and_returns_to_the_shop(intent):
    client = Client()

    response = client.post(intent.redirect_url, {"action": "pay"})

    assert response.status_code == 302
    assert response["Location"] == "/orders/"
    intent.refresh_from_db()
    assert intent.status == IntentStatus.SUCCEEDED
    again = client.post(intent.redirect_url, {"action": "pay"})
    assert again.status_code == 409  # closed: no second payment from the page
    assert LedgerTransaction.objects.count() == 1
    closed = client.get(intent.redirect_url).content.decode()
    assert 'value="pay"' not in closed and 'href="/orders/"' in closed  # no buttons, a way back


def test_the_pay_form_passes_the_csrf_check_with_the_origin_a_browser_sends(intent):
    """A browser posts a page's form with ``Origin: null`` when the page was served with
    ``Referrer-Policy: no-referrer``, and Django's CSRF check refuses that (403): the page
    keeps its URL from other sites with ``same-origin``, under which its own form carries
    the site's origin."""
    client = Client(enforce_csrf_checks=True)
    page = client.get(intent.redirect_url)
    assert page["Referrer-Policy"] == "same-origin"
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())[1]
    form = {"action": "pay", "csrfmiddlewaretoken": token}

    refused = client.post(intent.redirect_url, form, HTTP_ORIGIN="null")
    assert refused.status_code == 403 and nothing_moved(intent)

    paid = client.post(intent.redirect_url, form, HTTP_ORIGIN="http://testserver")
    assert paid.status_code == 302 and paid["Location"] == "/orders/"
    intent.refresh_from_db()
    assert intent.status == IntentStatus.SUCCEEDED


def test_failing_on_the_page_fails_the_intent(intent):
    Client().post(intent.redirect_url, {"action": "fail"})

    intent.refresh_from_db()
    assert intent.status == IntentStatus.FAILED


def test_an_expired_intent_cannot_be_paid_on_the_page(intent):
    PaymentIntent.objects.filter(pk=intent.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )

    response = Client().post(intent.redirect_url, {"action": "pay"})

    assert response.status_code == 409
    assert nothing_moved(intent)


def test_the_pay_page_of_an_unknown_intent_is_404():
    assert Client().get("/payments/sandbox/pay/pi_nobody/").status_code == 404


def test_an_unknown_action_is_refused(intent):
    assert Client().post(intent.redirect_url, {"action": "steal"}).status_code == 400
    assert nothing_moved(intent)
