"""Pages and endpoints of the money core.

* The sandbox's hosted pay page: what a buyer sees at a provider. It shows the amount and
  two buttons; the choice is turned into a signed notification and delivered through the
  same entry point as a provider's HTTP callback (``services.payment_callback_receive``),
  then the buyer goes back to the shop's return URL.
* The callback endpoint providers post to. Its caller is a machine, so it answers JSON —
  ``{"code", "message", "field"?}`` on refusal, like the API — instead of the HTML error
  page, and it needs no CSRF token: the signature is its authentication.
"""

import json

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from taocun.core.errors import ApplicationError, Conflict, ValidationError
from taocun.core.money import Money
from taocun.payments import selectors, services
from taocun.payments.errors import CallbackRejected
from taocun.payments.models import IntentStatus
from taocun.payments.providers.sandbox import SandboxProvider

MAX_CALLBACK_FIELDS = 30


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
