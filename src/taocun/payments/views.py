"""Pages and endpoints of the money core.

* The seller's money page: the shop's available balance, what is held in escrow, payouts
  on their way, the statement and the payouts, and a payout form. The form carries a
  one-time key (``form_key``), so a payout posted twice — a double tap, a retry after a
  lost answer — pays out once; it calls the same service as the API.
* The sandbox's hosted pay page: what a buyer sees at a provider. It shows the amount and
  two buttons; the choice is turned into a signed notification and delivered through the
  same entry point as a provider's HTTP callback (``services.payment_callback_receive``),
  then the buyer goes back to the shop's return URL.
* The callback endpoint providers post to. Its caller is a machine, so it answers JSON —
  ``{"code", "message", "field"?}`` on refusal, like the API — instead of the HTML error
  page, and it needs no CSRF token: the signature is its authentication.
"""

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from taocun.core.errors import ApplicationError, Conflict, ValidationError
from taocun.core.forms import form_key_check, form_key_new, yuan_to_fen
from taocun.core.money import Money
from taocun.payments import selectors, services
from taocun.payments.access import ShopMoney, access_payout_request, access_shop_money
from taocun.payments.errors import CallbackRejected, IdempotencyConflict, InsufficientFunds
from taocun.payments.models import IntentStatus
from taocun.payments.providers.sandbox import SandboxProvider

MAX_CALLBACK_FIELDS = 30
STATEMENT_PAGE_SIZE = 50
PAYOUTS_PAGE_SIZE = 20


@never_cache
@require_http_methods(["GET", "POST"])
def sandbox_pay(request: HttpRequest, public_id: str) -> HttpResponse:
    intent = selectors.intent_get(public_id=public_id, provider=SandboxProvider.name)
    now = timezone.now()
    is_open = intent.status == IntentStatus.PENDING and intent.expires_at > now
    if request.method == "POST":
        action = request.POST.get("action")
        if action not in ("pay", "fail"):
            raise ValidationError(_("Choose Pay or Fail."), field="action")
        if not is_open:
            raise Conflict(
                _("This payment is no longer open (%(status)s).")
                % {"status": _status_label(intent, now)},
                code="intent_closed",
            )
        payload = SandboxProvider().callback_build(
            intent_id=intent.public_id,
            reference=intent.reference,
            status="paid" if action == "pay" else "failed",
            amount=Money(intent.amount_fen, intent.currency),
            now=now,
        )
        services.payment_callback_receive(provider=SandboxProvider.name, payload=payload)
        return redirect(intent.return_url or request.path)
    response = render(
        request,
        "payments/sandbox_pay.html",
        {
            "intent": intent,
            "amount": Money(intent.amount_fen, intent.currency),
            "orders": intent.escrows.count(),
            "is_open": is_open,
            "status_label": _status_label(intent, now),
        },
    )
    # The URL is the only key to this page: keep it out of Referer headers sent to other
    # sites. Not "no-referrer": browsers then send "Origin: null" with the page's own form,
    # and the CSRF check refuses the payment (403).
    response["Referrer-Policy"] = "same-origin"
    return response


def _status_label(intent, now) -> str:
    if intent.status == IntentStatus.PENDING and intent.expires_at <= now:
        return _("expired")
    return intent.get_status_display()


@csrf_exempt
@require_POST
def callback(request: HttpRequest, provider: str) -> HttpResponse:
    try:
        payload = _callback_fields(request)
        outcome = services.payment_callback_receive(provider=provider, payload=payload)
    except ApplicationError as error:
        return JsonResponse(
            error.as_dict(), status=error.http_status, json_dumps_params={"ensure_ascii": False}
        )
    return JsonResponse(
        {"status": "ok", "intent": outcome.intent.public_id, "intent_status": outcome.status}
    )


def _callback_fields(request: HttpRequest) -> dict[str, str]:
    """Form fields or a JSON object of strings; a field sent twice is refused (which one
    would the signature cover?)."""
    if request.content_type == "application/json":
        try:
            data = json.loads(request.body)
        except ValueError:
            raise CallbackRejected(
                _("The body is not valid JSON."), code="malformed_callback"
            ) from None
        if not isinstance(data, dict):
            raise CallbackRejected(_("The body must be a JSON object."), code="malformed_callback")
        fields = data
    else:
        fields = {}
        for key in request.POST:
            values = request.POST.getlist(key)
            if len(values) != 1:
                raise CallbackRejected(
                    _("The field %(field)s was sent more than once.") % {"field": key[:40]},
                    code="malformed_callback",
                    field=key[:40],
                )
            fields[key] = values[0]
    if len(fields) > MAX_CALLBACK_FIELDS:
        raise CallbackRejected(_("Too many fields."), code="malformed_callback")
    return fields


# --- the seller's money page ---------------------------------------------------------------


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def money(request: HttpRequest) -> HttpResponse:
    """The money of the user's own shop; a POST is the payout form."""
    found = access_shop_money(user=request.user)
    if request.method == "POST":
        return _payout_post(request, found)
    return _money_page(request, found)


@never_cache
@login_required
@require_GET
def shop_money(request: HttpRequest, shop_id: int) -> HttpResponse:
    """One shop's money, for its keepers and staff (staff have no shop of their own)."""
    return _money_page(request, access_shop_money(user=request.user, shop_id=shop_id))


def _form_key(text: str | None) -> str:
    return form_key_check(
        text, expired=_("This form has expired: open the money page again and repeat the payout.")
    )


def _payout_post(request: HttpRequest, found: ShopMoney) -> HttpResponse:
    """Request a payout of the payee's available balance; an error shows the form again
    with the amount typed, under the field it names, and changes nothing."""
    access_payout_request(user=request.user, money=found)
    user, post = request.user, request.POST
    try:
        key = _form_key(post.get("key"))
        amount = Money(yuan_to_fen(post.get("amount"), "amount"))
        payout = services.payout_request(
            seller=found.payee,
            amount=amount,
            idempotency_key=f"payments.page-payout:{user.pk}:{key}",
            actor=user,
        )
    except InsufficientFunds as caught:
        balance = Money(caught.extra.get("balance_fen", 0))
        error: ApplicationError = InsufficientFunds(
            _("That is more than your available balance (%(available)s).") % {"available": balance},
            field="amount",
            extra=caught.extra,
        )
    except IdempotencyConflict:
        # The same form sent again with another amount (after going back): not a repeat.
        error = IdempotencyConflict(
            _("This form was already used for another payout; enter the amount again."),
            field="key",
        )
    except ValidationError as caught:
        if caught.field not in ("amount", "key"):
            raise
        error = caught
    else:
        messages.success(
            request,
            _("Payout %(id)d of %(amount)s requested: it is on its way to you.")
            % {"id": payout.pk, "amount": Money(payout.amount_fen, payout.currency)},
        )
        return redirect("payments:money")
    return _money_page(
        request, found, error=error, amount=post.get("amount", "")[:20], status=error.http_status
    )


def _reference_label(reference: str) -> tuple[str, str]:
    """(label, url) of a statement line's reference: an order of the market links to its
    page on the order desk, a payout names its number; anything else shows as it is."""
    kind, _sep, number = reference.partition(":")
    if not number.isdigit():
        return reference, ""
    if kind == "orders.order":
        try:
            url = reverse("orders:desk_detail", args=[int(number)])
        except NoReverseMatch:
            url = ""
        return _("Order %(id)s") % {"id": number}, url
    if kind == "payments.payout":
        return _("Payout %(id)s") % {"id": number}, ""
    return reference, ""


def _money_page(
    request: HttpRequest,
    found: ShopMoney,
    *,
    error: ApplicationError | None = None,
    amount: str | None = None,
    status: int = 200,
) -> HttpResponse:
    balance = selectors.seller_balance(seller=found.payee)
    statement = Paginator(
        selectors.seller_statement(seller=found.payee), STATEMENT_PAGE_SIZE
    ).get_page(request.GET.get("page"))
    for entry in statement:
        entry.reference_label, entry.reference_url = _reference_label(entry.transaction.reference)
    payouts = Paginator(selectors.seller_payouts(seller=found.payee), PAYOUTS_PAGE_SIZE).get_page(
        request.GET.get("payouts")
    )
    if amount is None:
        amount = balance.available.yuan_text() if balance.available.amount_fen > 0 else ""
    return render(
        request,
        "payments/money.html",
        {
            "shop": found.shop,
            "is_keeper": found.is_keeper,
            "may_pay_out": found.may_pay_out,
            "balance": balance,
            "statement": statement,
            "payouts": payouts,
            "error": error,
            "amount": amount,
            # One key per form shown: a payout posted twice pays out once.
            "form_key": form_key_new(),
        },
        status=status,
    )
