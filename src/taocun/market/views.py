"""Storefront, seller and review pages.

Views parse the form (prices typed in yuan become fen here, through ``Money.parse``),
check access with ``market.access``, call one service or selector and render. A service's
ValidationError is shown next to the field it names and the form keeps what was typed;
other ApplicationErrors (403, 404, 409) go to the error page through the middleware.
Seller pages are plain forms without script: they must work on a cheap phone.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from taocun.core.errors import NotFound, ValidationError
from taocun.core.money import Money
from taocun.market import selectors, services
from taocun.market.access import (
    access_product_edit,
    access_product_view,
    access_review_queue,
    access_shop_edit,
    access_shop_open,
    access_shop_verify,
    access_shop_view,
    is_shop_keeper,
)
from taocun.market.models import (
    Category,
    Certification,
    Product,
    ProductPhoto,
    ProductStatus,
    ShippingMode,
    ShopPhoto,
    ShopStatus,
    Unit,
    Variant,
)
from taocun.market.uploads import upload_guard, uploaded_photo
from taocun.regions.models import Division, Level
from taocun.regions.selectors import division_ancestors, division_get

MONTHS = range(1, 13)


# --- parsing ----------------------------------------------------------------------------


def _fen(text: str | None, field: str, *, required: bool = False) -> int | None:
    """Yuan as typed ("39.9", "1,200") to fen; empty is None unless required."""
    text = (text or "").strip()
    if not text:
        if required:
            raise ValidationError(_("This field is required."), field=field)
        return None
    return Money.parse(text, field=field).amount_fen


def _whole(text: str | None, field: str, *, required: bool = False) -> int | None:
    text = (text or "").strip()
    if not text:
        if required:
            raise ValidationError(_("This field is required."), field=field)
        return None
    try:
        return int(text)
    except ValueError:
        raise ValidationError(_("Expected a whole number."), field=field) from None


def _grams(text: str | None, field: str) -> int | None:
    """Kilograms as typed ("2.5") to grams."""
    text = (text or "").strip().replace(",", ".")
    if not text:
        raise ValidationError(_("This field is required."), field=field)
    try:
        kilograms = Decimal(text)
        # An exponent far out ("1e999999") would overflow the multiplication, or make a
        # number of millions of digits: no weight is written so.
        if not kilograms.is_finite() or not -10 <= kilograms.adjusted() <= 10:
            raise InvalidOperation
        grams = kilograms * 1000
    except ArithmeticError:  # InvalidOperation, Overflow
        raise ValidationError(_("Type the weight in kilograms, e.g. 2.5."), field=field) from None
    if grams != grams.to_integral_value():
        raise ValidationError(_("Type the weight in kilograms, e.g. 2.5."), field=field)
    return int(grams)


def _date(text: str | None, field: str) -> date | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationError(_("Type a date as YYYY-MM-DD."), field=field) from None


def _categories_from(post, field: str = "categories") -> list[Category]:
    slugs = post.getlist(field)
    found = list(Category.objects.filter(slug__in=slugs, is_active=True))
    if len(found) != len(set(slugs)):
        raise ValidationError(_("Unknown category."), field=field)
    return found


def _category_from(text: str | None, field: str = "category") -> Category:
    if not text:
        raise ValidationError(_("Choose a category."), field=field)
    category = Category.objects.filter(slug=text, is_active=True).first()
    if category is None:
        raise ValidationError(_("Unknown category."), field=field)
    return category


def _certifications_from(post) -> list[dict]:
    return [
        {"kind": kind, "number": post.get(f"cert_{kind}_number", "")}
        for kind in post.getlist("certifications")
    ]


def _months_from(post) -> list[int]:
    months = []
    for value in post.getlist("harvest_months"):
        month = _whole(value, "harvest_months")
        if month is not None:
            months.append(month)
    return months


def _village_from(text: str | None, field: str = "origin_village") -> Division | None:
    text = (text or "").strip()
    if not text:
        return None
    village = Division.objects.filter(code=text, level=Level.VILLAGE).first()
    if village is None:
        raise ValidationError(_("Unknown village."), field=field)
    return village


def _form_error(request, template: str, context: dict, error: ValidationError) -> HttpResponse:
    return render(request, template, {**context, "error": error}, status=error.http_status)


def _form_choices() -> dict:
    return {
        "category_tree": selectors.category_list(),
        "units": Unit.choices,
        "certification_choices": Certification.choices,
        "months": MONTHS,
        "shipping_modes": ShippingMode.choices,
    }


# --- storefront -------------------------------------------------------------------------


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "market/home.html", selectors.home_sections())


def _search_params(request: HttpRequest) -> dict:
    get = request.GET
    return {
        "query": get.get("q", ""),
        "province_code": get.get("province") or None,
        "price_min_fen": _fen(get.get("price_min"), "price_min"),
        "price_max_fen": _fen(get.get("price_max"), "price_max"),
        "in_stock": get.get("in_stock") == "1",
        "poverty_only": get.get("poverty") == "1",
        "certification": get.get("certification") or None,
        "sort": get.get("sort") or "relevance",
        "page": _whole(get.get("page"), "page") or 1,
    }


def _listing(request: HttpRequest, *, template: str, extra: dict, **fixed) -> HttpResponse:
    """Search and category pages: the same filters, results and pager."""
    context: dict[str, Any] = {
        **extra,
        "values": request.GET,
        "sorts": _sort_labels(),
        "provinces": Division.objects.filter(level=Level.PROVINCE).order_by("code"),
        "certification_choices": Certification.choices,
        "category_tree": selectors.category_list(),
    }
    try:
        params = _search_params(request)
        if "category" not in fixed and request.GET.get("category"):
            fixed["category"] = selectors.category_get(slug=request.GET["category"])
        result = selectors.product_search(**params, **fixed)
    except ValidationError as error:
        return _form_error(request, template, {**context, "result": None}, error)
    query = request.GET.copy()
    query.pop("page", None)
    context.update(result=result, query_string=query.urlencode())
    return render(request, template, context)


def _sort_labels() -> list[tuple[str, str]]:
    return [
        ("relevance", _("Best match")),
        ("sales", _("Best selling")),
        ("newest", _("Newest")),
        ("price_asc", _("Price: low to high")),
        ("price_desc", _("Price: high to low")),
        ("rating", _("Best rated")),
    ]


@require_GET
def search(request: HttpRequest) -> HttpResponse:
    return _listing(request, template="market/search.html", extra={})


@require_GET
def category(request: HttpRequest, slug: str) -> HttpResponse:
    current = selectors.category_get(slug=slug)
    children = list(Category.objects.filter(parent=current, is_active=True))
    return _listing(
        request,
        template="market/category.html",
        extra={"category": current, "children": children},
        category=current,
    )


@require_GET
def product(request: HttpRequest, product_id: int) -> HttpResponse:
    item = access_product_view(
        user=request.user, product=selectors.product_get(product_id=product_id)
    )
    variants = list(item.variants.all())
    return render(
        request,
        "market/product.html",
        {
            "product": item,
            "variants": [v for v in variants if v.is_active],
            "photos": list(item.photos.all()),
            "certifications": list(item.certifications.all()),
            "places": division_ancestors(division=item.origin_village),
            "shop": item.shop,
            "is_keeper": is_shop_keeper(request.user, item.shop),
        },
    )


@require_GET
def shop(request: HttpRequest, shop_id: int) -> HttpResponse:
    current = access_shop_view(user=request.user, shop=selectors.shop_get(shop_id=shop_id))
    try:
        page = _whole(request.GET.get("page"), "page") or 1
        result = selectors.product_search(shop=current, sort="newest", page=page)
    except ValidationError:
        result = selectors.product_search(shop=current, sort="newest")
    return render(
        request,
        "market/shop.html",
        {
            "shop": current,
            "result": result,
            "query_string": "",
            "photos": list(current.photos.all()),
            "is_keeper": is_shop_keeper(request.user, current),
        },
    )


@require_GET
def village(request: HttpRequest, code: str) -> HttpResponse:
    place = division_get(code=code)
    if place.level != Level.VILLAGE:
        return redirect("regions:detail", code=code)
    ancestors = division_ancestors(division=place)
    county = next((d for d in ancestors if d.level == Level.COUNTY), None)
    try:
        page = _whole(request.GET.get("page"), "page") or 1
        result = selectors.product_search(village=place, sort="sales", page=page)
    except ValidationError:
        result = selectors.product_search(village=place, sort="sales")
    return render(
        request,
        "market/village.html",
        {
            "village": place,
            "ancestors": ancestors,
            "county": county,
            "shops": selectors.village_shops(village=place),
            "result": result,
            "query_string": "",
        },
    )


# --- seller pages -----------------------------------------------------------------------


@login_required
@require_GET
def sell(request: HttpRequest) -> HttpResponse:
    """The seller's desk: their shop's state, what to do next, their products."""
    current = selectors.seller_shop(user=request.user)
    context: dict[str, Any] = {"shop": current}
    if current is not None:
        access_shop_edit(user=request.user, shop=current)
        context["products"] = selectors.seller_products(shop=current)
    return render(request, "market/sell/desk.html", context)


def _my_shop(request: HttpRequest):
    current = selectors.seller_shop(user=request.user)
    if current is None:
        raise ValidationError(_("Open your shop first."), field="shop")
    return access_shop_edit(user=request.user, shop=current)


@login_required
@require_http_methods(["GET", "POST"])
def shop_open(request: HttpRequest) -> HttpResponse:
    household = access_shop_open(user=request.user)
    if selectors.seller_shop(user=request.user) is not None:
        return redirect("market:sell")
    context = {**_form_choices(), "household": household, "values": request.POST, "chosen": []}
    if request.method == "POST":
        context["chosen"] = request.POST.getlist("categories")
        try:
            services.shop_open(
                actor=request.user,
                household=household,
                name=request.POST.get("name", ""),
                story=request.POST.get("story", ""),
                categories=_categories_from(request.POST),
            )
        except ValidationError as error:
            return _form_error(request, "market/sell/shop_open.html", context, error)
        return redirect("market:sell")
    return render(request, "market/sell/shop_open.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def shop_edit(request: HttpRequest) -> HttpResponse:
    current = _my_shop(request)
    values = (
        request.POST
        if request.method == "POST"
        else {
            "name": current.name,
            "story": current.story,
        }
    )
    chosen = (
        request.POST.getlist("categories")
        if request.method == "POST"
        else [c.slug for c in current.categories.all()]
    )
    context = {**_form_choices(), "shop": current, "values": values, "chosen": chosen}
    if request.method == "POST":
        try:
            services.shop_update(
                actor=request.user,
                shop=current,
                name=request.POST.get("name", ""),
                story=request.POST.get("story", ""),
                categories=_categories_from(request.POST),
            )
        except ValidationError as error:
            return _form_error(request, "market/sell/shop_edit.html", context, error)
        return redirect("market:sell")
    return render(request, "market/sell/shop_edit.html", context)


def _yuan(fen: int | None) -> str:
    return "" if fen is None else Money(fen).yuan_text()


@login_required
@require_http_methods(["GET", "POST"])
def shop_shipping(request: HttpRequest) -> HttpResponse:
    current = _my_shop(request)
    values = (
        request.POST
        if request.method == "POST"
        else {
            "mode": current.shipping_mode,
            "flat": _yuan(current.shipping_flat_fen),
            "base": _yuan(current.shipping_base_fen),
            "per_kg": _yuan(current.shipping_per_kg_fen),
            "free_from": _yuan(current.free_shipping_threshold_fen),
            "handling_days": current.handling_days,
        }
    )
    context = {**_form_choices(), "shop": current, "values": values}
    if request.method == "POST":
        post = request.POST
        try:
            services.shop_shipping_set(
                actor=request.user,
                shop=current,
                mode=post.get("mode", ""),
                flat_fen=_fen(post.get("flat"), "flat_fen") or 0,
                base_fen=_fen(post.get("base"), "base_fen") or 0,
                per_kg_fen=_fen(post.get("per_kg"), "per_kg_fen") or 0,
                free_shipping_threshold_fen=_fen(
                    post.get("free_from"), "free_shipping_threshold_fen"
                ),
                handling_days=_whole(post.get("handling_days"), "handling_days", required=True),
            )
        except ValidationError as error:
            return _form_error(request, "market/sell/shop_shipping.html", context, error)
        return redirect("market:sell")
    return render(request, "market/sell/shop_shipping.html", context)


@login_required
@require_POST
def shop_submit(request: HttpRequest) -> HttpResponse:
    services.shop_submit(actor=request.user, shop=_my_shop(request))
    return redirect("market:sell")


@csrf_exempt
def shop_photos(request: HttpRequest) -> HttpResponse:
    """csrf_exempt so that the upload limit applies before the body is read; the CSRF check
    runs right after, in ``_shop_photos`` (Django's documented pattern for upload handlers).
    """
    if request.method == "POST":
        upload_guard(request)
    return _shop_photos(request)


@login_required
@csrf_protect
@require_http_methods(["GET", "POST"])
def _shop_photos(request: HttpRequest) -> HttpResponse:
    current = _my_shop(request)
    context = {"shop": current, "photos": list(current.photos.all()), "kind": "shop"}
    if request.method == "POST":
        try:
            services.shop_photo_add(actor=request.user, shop=current, data=uploaded_photo(request))
        except ValidationError as error:
            return _form_error(request, "market/sell/shop_photos.html", context, error)
        return redirect("market:sell_photos")
    return render(request, "market/sell/shop_photos.html", context)


@login_required
@require_POST
def photo_delete(request: HttpRequest, kind: str, photo_id: int) -> HttpResponse:
    photo: ShopPhoto | ProductPhoto | None = None
    if kind == "shop":
        photo = ShopPhoto.objects.select_related("shop").filter(pk=photo_id).first()
        if photo is not None:
            access_shop_edit(user=request.user, shop=photo.shop)
            target = reverse("market:sell_photos")
    elif kind == "product":
        photo = ProductPhoto.objects.select_related("product__shop").filter(pk=photo_id).first()
        if photo is not None:
            access_product_edit(user=request.user, product=photo.product)
            target = reverse("market:sell_product", args=[photo.product_id])
    if photo is None:
        raise NotFound(_("There is no photo %(id)s.") % {"id": photo_id})
    services.photo_remove(actor=request.user, photo=photo)
    return redirect(target)


def _product_values(post) -> dict:
    return {
        "name": post.get("name", ""),
        "description": post.get("description", ""),
        "category": _category_from(post.get("category")),
        "origin_village": _village_from(post.get("origin_village")),
        "harvest_months": _months_from(post),
        "presale_ship_date": _date(post.get("presale_ship_date"), "presale_ship_date"),
        "shelf_life_days": _whole(post.get("shelf_life_days"), "shelf_life_days"),
        "certifications": _certifications_from(post),
    }


def _variant_values(post, prefix: str = "") -> dict:
    return {
        "label": post.get(f"{prefix}label", ""),
        "unit": post.get(f"{prefix}unit", Unit.BOX),
        "sku": post.get(f"{prefix}sku", ""),
        "weight_g": _grams(post.get(f"{prefix}weight_kg"), f"{prefix}weight_g"),
        "price_fen": _fen(post.get(f"{prefix}price"), f"{prefix}price_fen", required=True),
        "stock": _whole(post.get(f"{prefix}stock"), f"{prefix}stock", required=True),
    }


def _origin_villages(shop_) -> list[Division]:
    """Villages a product of this shop may come from: those of its county."""
    return list(
        Division.objects.filter(level=Level.VILLAGE, code__startswith=shop_.village.code[:6])
        .order_by("code")
        .only("code", "name")[:1000]
    )


@login_required
@require_http_methods(["GET", "POST"])
def product_new(request: HttpRequest) -> HttpResponse:
    current = _my_shop(request)
    context = {
        **_form_choices(),
        "shop": current,
        "values": request.POST or {"origin_village": current.village_id, "unit": Unit.BOX},
        "villages": _origin_villages(current),
        "chosen_months": request.POST.getlist("harvest_months"),
        "chosen_certifications": request.POST.getlist("certifications"),
    }
    if request.method == "POST":
        try:
            created = services.product_create(
                actor=request.user,
                shop=current,
                variants=[_variant_values(request.POST, "variant_")],
                **_product_values(request.POST),
            )
        except ValidationError as error:
            if error.field and error.field.startswith("variants.0."):
                error.field = "variant_" + error.field.removeprefix("variants.0.")
            return _form_error(request, "market/sell/product_new.html", context, error)
        return redirect("market:sell_product", product_id=created.pk)
    return render(request, "market/sell/product_new.html", context)


def _editable_product(request: HttpRequest, product_id: int) -> Product:
    return access_product_edit(
        user=request.user, product=selectors.product_get(product_id=product_id)
    )


def _product_edit_context(request: HttpRequest, item: Product, values=None) -> dict:
    certifications = {c.kind: c.number for c in item.certifications.all()}
    return {
        **_form_choices(),
        "product": item,
        "shop": item.shop,
        "villages": _origin_villages(item.shop),
        "variants": list(item.variants.all()),
        "photos": list(item.photos.all()),
        "values": values
        or {
            "name": item.name,
            "description": item.description,
            "category": item.category.slug,
            "origin_village": item.origin_village_id,
            "presale_ship_date": item.presale_ship_date.isoformat()
            if item.presale_ship_date
            else "",
            "shelf_life_days": item.shelf_life_days or "",
            **{f"cert_{kind}_number": number for kind, number in certifications.items()},
        },
        "chosen_months": [str(m) for m in item.months]
        if values is None
        else values.getlist("harvest_months"),
        "chosen_certifications": list(certifications)
        if values is None
        else values.getlist("certifications"),
        "statuses": ProductStatus.choices,
    }


@login_required
@require_http_methods(["GET", "POST"])
def product_edit(request: HttpRequest, product_id: int) -> HttpResponse:
    item = _editable_product(request, product_id)
    if request.method == "POST":
        try:
            services.product_update(
                actor=request.user,
                product=item,
                status=request.POST.get("status", item.status),
                **_product_values(request.POST),
            )
        except ValidationError as error:
            return _form_error(
                request,
                "market/sell/product_edit.html",
                _product_edit_context(request, item, request.POST),
                error,
            )
        return redirect("market:sell_product", product_id=item.pk)
    return render(request, "market/sell/product_edit.html", _product_edit_context(request, item))


@login_required
@require_POST
def variant_add(request: HttpRequest, product_id: int) -> HttpResponse:
    item = _editable_product(request, product_id)
    try:
        services.variant_add(
            actor=request.user, product=item, **_variant_values(request.POST, "variant_")
        )
    except ValidationError as error:
        if error.field and not error.field.startswith("variant_"):
            error.field = "variant_" + error.field
        context = _product_edit_context(request, item)
        context["new_variant"] = request.POST
        return _form_error(request, "market/sell/product_edit.html", context, error)
    return redirect("market:sell_product", product_id=item.pk)


@login_required
@require_POST
def variant_edit(request: HttpRequest, variant_id: int) -> HttpResponse:
    variant = Variant.objects.select_related("product__shop").filter(pk=variant_id).first()
    if variant is None:
        raise NotFound(_("There is no variant %(id)s.") % {"id": variant_id})
    item = access_product_edit(user=request.user, product=variant.product)
    post = request.POST
    try:
        services.variant_update(
            actor=request.user,
            variant=variant,
            label=post.get("label", ""),
            price_fen=_fen(post.get("price"), "price_fen", required=True),
            weight_g=_grams(post.get("weight_kg"), "weight_g"),
            unit=post.get("unit", variant.unit),
            is_active=post.get("is_active") == "1",
            **_stock_if_changed(post),
        )
    except ValidationError as error:
        error.field = f"variant_{variant.pk}_{error.field}" if error.field else None
        context = _product_edit_context(request, selectors.product_get(product_id=item.pk))
        context["edited_variant"] = {"id": variant.pk, "values": post}
        return _form_error(request, "market/sell/product_edit.html", context, error)
    return redirect(reverse("market:sell_product", args=[item.pk]) + f"#variant-{variant.pk}")


def _stock_if_changed(post) -> dict:
    """The stock typed, only when it differs from the stock the form showed: saving a new
    price must not overwrite units that checkout reserved while the form was open."""
    stock = _whole(post.get("stock"), "stock", required=True)
    shown = _whole(post.get("stock_shown"), "stock")
    return {} if stock == shown else {"stock": stock}


@csrf_exempt
def product_photos(request: HttpRequest, product_id: int) -> HttpResponse:
    """See ``shop_photos`` for why CSRF is checked one step later."""
    if request.method == "POST":
        upload_guard(request)
    return _product_photos(request, product_id)


@login_required
@csrf_protect
@require_POST
def _product_photos(request: HttpRequest, product_id: int) -> HttpResponse:
    item = _editable_product(request, product_id)
    try:
        services.product_photo_add(actor=request.user, product=item, data=uploaded_photo(request))
    except ValidationError as error:
        return _form_error(
            request, "market/sell/product_edit.html", _product_edit_context(request, item), error
        )
    return redirect(reverse("market:sell_product", args=[item.pk]) + "#photos")


# --- review pages (station agents, county officers) -------------------------------------


@login_required
@require_GET
def review(request: HttpRequest) -> HttpResponse:
    access_review_queue(user=request.user)
    status = request.GET.get("status") or ShopStatus.PENDING
    shops = selectors.shops_for_review(user=request.user, status=status)
    return render(
        request,
        "market/review.html",
        {"shops": shops[:200], "status": status, "statuses": ShopStatus.choices},
    )


@login_required
@require_POST
def review_action(request: HttpRequest, shop_id: int, action: str) -> HttpResponse:
    current = access_shop_verify(user=request.user, shop=selectors.shop_get(shop_id=shop_id))
    reason = request.POST.get("reason", "")
    actions = {
        "verify": lambda: services.shop_verify(actor=request.user, shop=current),
        "reject": lambda: services.shop_reject(actor=request.user, shop=current, reason=reason),
        "suspend": lambda: services.shop_suspend(actor=request.user, shop=current, reason=reason),
        "reopen": lambda: services.shop_reopen(actor=request.user, shop=current),
    }
    if action not in actions:
        raise NotFound(_("Unknown action."))
    actions[action]()
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = reverse("market:review")
    return redirect(target)
