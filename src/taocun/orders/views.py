"""The buyer's cart, checkout, orders and address book, the seller's order desk and the
station agent's parcels.

Views parse forms (yuan typed by people become fen through ``Money.parse``), check access
with ``orders.access``, call one service or selector and render. A checkout that cannot be
placed (a price or stock changed) shows the cart again with the message naming the line;
other ApplicationErrors go to the error page through the middleware. Plain forms, no script
needed.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from taocun.core.errors import Conflict, NotFound, ValidationError
from taocun.core.forms import form_key_check, form_key_new, yuan_to_fen
from taocun.core.money import Money
from taocun.market.models import Variant
from taocun.orders import selectors, services
from taocun.orders.access import (
    access_order,
    access_seller_desk,
    access_station_parcels,
    order_roles,
)
from taocun.orders.models import QUANTITY_MAX, Address, OrderStatus
from taocun.orders.receivers import SESSION_CART
from taocun.orders.services import InvalidTransition
from taocun.orders.states import actions_for


def _next(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return default


def _int(text: Any, field: str) -> int:
    try:
        return int(str(text).strip())
    except (TypeError, ValueError):
        raise ValidationError(
            _("%(value)s is not a whole number.") % {"value": text}, field=field
        ) from None


def _session_cart(request: HttpRequest) -> dict[int, int]:
    return selectors.session_items(request.session.get(SESSION_CART))


def _session_cart_save(request: HttpRequest, items: dict[int, int]) -> None:
    request.session[SESSION_CART] = {str(k): v for k, v in items.items()}


# --- cart -------------------------------------------------------------------------------


@require_GET
def cart(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        view = selectors.cart_view(buyer=request.user)
    else:
        view = selectors.cart_view_of(items=_session_cart(request))
    return render(request, "orders/cart.html", {"cart": view, "quantity_max": QUANTITY_MAX})


@require_POST
def cart_add(request: HttpRequest) -> HttpResponse:
    variant_id = request.POST.get("variant")
    quantity = _int(request.POST.get("quantity") or 1, "quantity")
    if request.user.is_authenticated:
        services.cart_add(buyer=request.user, variant_id=variant_id, quantity=quantity)
    else:
        variant = services._variant_for_sale(variant_id)
        items = _session_cart(request)
        items[variant.pk] = services.cart_quantity_check(
            variant=variant, quantity=items.get(variant.pk, 0) + quantity
        )
        _session_cart_save(request, items)
    return redirect(_next(request, reverse("orders:cart")))


@require_POST
def cart_update(request: HttpRequest) -> HttpResponse:
    variant_id = _int(request.POST.get("variant"), "variant")
    quantity = _int(request.POST.get("quantity"), "quantity")
    remove = request.POST.get("action") == "remove" or quantity == 0
    if request.user.is_authenticated:
        if remove:
            services.cart_line_remove(buyer=request.user, variant_id=variant_id)
        else:
            services.cart_line_update(buyer=request.user, variant_id=variant_id, quantity=quantity)
    else:
        items = _session_cart(request)
        if remove:
            items.pop(variant_id, None)
        elif variant_id in items:
            variant = Variant.objects.select_related("product").get(pk=variant_id)
            items[variant_id] = services.cart_quantity_check(variant=variant, quantity=quantity)
        _session_cart_save(request, items)
    return redirect("orders:cart")


# --- checkout ------------------------------------------------------------------------------


ADDRESS_FIELDS = ("recipient", "phone", "province", "city", "district", "division_code", "detail")


def _address_fields(post) -> dict:
    """The address form's fields as the services take them. NUL characters are refused
    here, as the API's schema does (PostgreSQL would refuse them later, as a 500)."""
    fields = {name: post.get(name, "") for name in ADDRESS_FIELDS}
    for name, value in fields.items():
        if "\x00" in value:
            raise ValidationError(_("Must not contain NUL characters."), field=name)
    return fields


@login_required
@require_http_methods(["GET", "POST"])
def checkout(request: HttpRequest) -> HttpResponse:
    view = selectors.cart_view(buyer=request.user)
    addresses = list(selectors.addresses(buyer=request.user))
    context: dict[str, Any] = {"cart": view, "addresses": addresses, "values": {}, "error": None}
    if request.method == "POST":
        try:
            if request.POST.get("action") == "address":
                context["values"] = request.POST
                services.address_create(
                    buyer=request.user,
                    is_default=bool(request.POST.get("is_default")),
                    **_address_fields(request.POST),
                )
                return redirect("orders:checkout")
            address = selectors.address_get(
                buyer=request.user, address_id=request.POST.get("address")
            )
            lines = [
                {
                    "variant_id": _int(variant, "lines"),
                    "quantity": _int(quantity, "lines"),
                    "price_fen": _int(price, "lines"),
                }
                for variant, quantity, price in zip(
                    request.POST.getlist("variant"),
                    request.POST.getlist("quantity"),
                    request.POST.getlist("price_fen"),
                    strict=False,
                )
            ]
            placed = services.checkout_place(
                buyer=request.user,
                address=address,
                lines=lines,
                idempotency_key=request.POST.get("key", ""),
            )
            if placed.status == "pending" and placed.pay_url:
                return redirect(placed.pay_url)
            return redirect("orders:checkout_result", placed.pk)
        except (ValidationError, Conflict) as error:
            context["error"] = error
            context["cart"] = selectors.cart_view(buyer=request.user)
    context["key"] = form_key_new()
    status = 409 if isinstance(context["error"], Conflict) else 200
    if isinstance(context["error"], ValidationError):
        status = 400
    return render(request, "orders/checkout.html", context, status=status)


@login_required
@require_GET
def checkout_result(request: HttpRequest, checkout_id: int) -> HttpResponse:
    placed = selectors.checkout_get(buyer=request.user, checkout_id=checkout_id)
    return render(request, "orders/checkout_result.html", {"checkout": placed})


# --- buyer's orders -----------------------------------------------------------------------


def _status_filter(request: HttpRequest) -> str | None:
    status = request.GET.get("status") or None
    return status if status in OrderStatus.values else None


def _tabs(counts: dict[str, int] | None) -> list[tuple[str, str, int | None]]:
    return [
        (value, label, counts.get(value, 0) if counts is not None else None)
        for value, label in OrderStatus.choices
    ]


@login_required
@require_GET
def order_list(request: HttpRequest) -> HttpResponse:
    status = _status_filter(request)
    orders = selectors.buyer_orders(buyer=request.user, status=status)[:100]
    return render(
        request,
        "orders/order_list.html",
        {"orders": orders, "status": status, "tabs": _tabs(None)},
    )


def _detail(request: HttpRequest, order_id: int, *, seller: bool) -> HttpResponse:
    order = selectors.order_get(order_id=order_id)
    roles = access_order(user=request.user, order=order)
    return render(
        request,
        "orders/order_detail.html",
        {
            "order": order,
            "actions": actions_for(status=order.status, roles=roles),
            "desk": seller,
            "refundable": Money(order.refundable_fen),
            # One key per page shown: a refund posted twice (a double tap, a retry after a
            # lost answer) pays once.
            "form_key": form_key_new(),
        },
    )


@login_required
@require_GET
def order_detail(request: HttpRequest, order_id: int) -> HttpResponse:
    return _detail(request, order_id, seller=False)


@login_required
@require_GET
def desk_detail(request: HttpRequest, order_id: int) -> HttpResponse:
    return _detail(request, order_id, seller=True)


def _form_key(text: str | None) -> str:
    return form_key_check(
        text, expired=_("This form has expired: open the order again and repeat the refund.")
    )


ACTIONS = {
    "accept": "accept",
    "ship": "ship",
    "deliver": "deliver",
    "cancel": "cancel",
    "confirm": "complete",
    "refund-request": "request_refund",
    "refund": "refund",
    "refund-decline": "decline_refund",
}


@login_required
@require_POST
def order_action(request: HttpRequest, order_id: int, action: str) -> HttpResponse:
    """One form per action on the order page; each goes through the same access check and
    service as the API."""
    if action not in ACTIONS:
        raise ValidationError(_("Unknown action."), field="action")
    order = selectors.order_get(order_id=order_id)
    access_order(user=request.user, order=order, action=ACTIONS[action])
    post, user = request.POST, request.user
    if action == "accept":
        services.order_accept(order=order, actor=user)
    elif action == "ship":
        services.order_ship(
            order=order,
            actor=user,
            carrier=post.get("carrier", ""),
            tracking_number=post.get("tracking_number", ""),
        )
    elif action == "deliver":
        services.order_deliver(order=order, actor=user)
    elif action == "cancel":
        services.order_cancel(order=order, actor=user, reason=post.get("reason", ""))
    elif action == "confirm":
        services.order_confirm(order=order, actor=user)
    elif action == "refund-request":
        services.order_refund_request(
            order=order,
            actor=user,
            amount_fen=yuan_to_fen(post.get("amount"), "amount"),
            reason=post.get("reason", ""),
        )
    elif action == "refund":
        services.order_refund(
            order=order,
            actor=user,
            amount_fen=yuan_to_fen(post.get("amount"), "amount"),
            reason=post.get("reason", ""),
            idempotency_key=f"orders.page-refund:{user.pk}:{_form_key(post.get('key'))}",
        )
    else:
        services.order_refund_decline(order=order, actor=user, note=post.get("note", ""))
    seller = "seller" in order_roles(user, order) and order.buyer_id != user.pk
    return redirect("orders:desk_detail" if seller else "orders:detail", order.pk)


# --- seller's desk ------------------------------------------------------------------------


@login_required
@require_GET
def desk(request: HttpRequest) -> HttpResponse:
    shop = access_seller_desk(user=request.user)
    status = _status_filter(request)
    return render(
        request,
        "orders/desk.html",
        {
            "shop": shop,
            "orders": selectors.shop_orders(shop=shop, status=status)[:100],
            "status": status,
            "tabs": _tabs(selectors.shop_order_counts(shop=shop)),
        },
    )


# --- the buyer's address book --------------------------------------------------------------


def _address_initial(address: Address) -> dict:
    """An address as its form shows it (the phone as people type it)."""
    return {
        "recipient": address.recipient,
        "phone": address.phone.removeprefix("+86"),
        "province": address.province,
        "city": address.city,
        "district": address.district,
        "division_code": address.division_id or "",
        "detail": address.detail,
    }


@login_required
@require_GET
def address_book(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "orders/address_book.html",
        {"addresses": selectors.addresses(buyer=request.user)},
    )


def _address_form(request: HttpRequest, *, address: Address | None) -> HttpResponse:
    """The new-address and edit-address page: the same services (so the same validation)
    as checkout and the API; an error is shown under the field it names."""
    values: Any = _address_initial(address) if address is not None else {}
    error = None
    if request.method == "POST":
        values = request.POST
        try:
            fields = _address_fields(request.POST)
            is_default = bool(request.POST.get("is_default"))
            if address is None:
                services.address_create(buyer=request.user, is_default=is_default, **fields)
            else:
                services.address_update(
                    buyer=request.user, address=address, is_default=is_default, **fields
                )
        except (ValidationError, NotFound) as caught:
            if caught.field not in (*ADDRESS_FIELDS, "address"):
                raise
            error = caught
        else:
            messages.success(request, _("The address is saved."))
            return redirect("orders:addresses")
    return render(
        request,
        "orders/address_form.html",
        {"address": address, "values": values, "error": error},
        status=400 if error else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def address_new(request: HttpRequest) -> HttpResponse:
    return _address_form(request, address=None)


@login_required
@require_http_methods(["GET", "POST"])
def address_edit(request: HttpRequest, address_id: int) -> HttpResponse:
    address = selectors.address_get(buyer=request.user, address_id=address_id)
    return _address_form(request, address=address)


@login_required
@require_http_methods(["GET", "POST"])
def address_delete(request: HttpRequest, address_id: int) -> HttpResponse:
    """GET asks for confirmation; POST deletes (placed orders keep their own copy)."""
    address = selectors.address_get(buyer=request.user, address_id=address_id)
    if request.method == "POST":
        services.address_delete(buyer=request.user, address=address)
        messages.success(request, _("The address is deleted."))
        return redirect("orders:addresses")
    return render(request, "orders/address_delete.html", {"address": address})


@login_required
@require_POST
def address_default(request: HttpRequest, address_id: int) -> HttpResponse:
    """Make an address the default."""
    address = selectors.address_get(buyer=request.user, address_id=address_id)
    services.address_set_default(buyer=request.user, address=address)
    messages.success(request, _("This is now your default address."))
    return redirect("orders:addresses")


# --- the station agent's parcels ----------------------------------------------------------

PARCELS_PAGE_SIZE = 50
PARCEL_TABS = {
    OrderStatus.SHIPPED: gettext_lazy("To hand over"),
    OrderStatus.DELIVERED: gettext_lazy("Delivered lately"),
    OrderStatus.COMPLETED: gettext_lazy("Completed lately"),
}


@login_required
@require_GET
def parcels(request: HttpRequest) -> HttpResponse:
    """The orders of the shops in the agent's villages: shipped parcels to hand over
    (oldest first), and what was delivered or completed lately; search by order number,
    phone tail or tracking number."""
    prefixes = access_station_parcels(user=request.user)
    status = selectors.parcel_status_check(request.GET.get("status"))
    query = " ".join(request.GET.get("q", "").split())
    orders = selectors.station_parcels(prefixes=prefixes, status=status, query=query)
    page = Paginator(orders, PARCELS_PAGE_SIZE).get_page(request.GET.get("page"))
    counts = selectors.station_parcel_counts(prefixes=prefixes)
    return render(
        request,
        "orders/parcels.html",
        {
            "page": page,
            "status": status,
            "query": query,
            "tabs": [(value, label, counts[value]) for value, label in PARCEL_TABS.items()],
            "extra_query": "&" + urlencode({"status": status, "q": query}),
            "recent_days": selectors.PARCEL_RECENT_DAYS,
        },
    )


@login_required
@require_POST
def parcel_deliver(request: HttpRequest, order_id: int) -> HttpResponse:
    """The "mark delivered" button of the parcels page: the same access check and service as the
    order page and the API. A parcel someone marked meanwhile is a message, not an error
    page: the agent goes back to the list either way."""
    order = selectors.order_get(order_id=order_id)
    access_order(user=request.user, order=order, action="deliver")
    try:
        services.order_deliver(order=order, actor=request.user)
    except InvalidTransition as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Order %(id)d is marked delivered.") % {"id": order.pk})
    return redirect(_next(request, reverse("orders:parcels")))
