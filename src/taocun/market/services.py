"""Every write of the marketplace catalog: shops, their verification, products, variants,
stock and photos.

Services are keyword-only, own their transaction, validate (raising the ApplicationError
family with the field at fault), keep the derived columns of products in step (listing
flag, price range, stock flag, search text and its index) and write an audit entry. They do
not check who is asking: pages, the API and the CLI call the ``market.access`` check first
and pass the actor along for the audit trail.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from taocun.core.audit import audit_records
from taocun.core.chinatime import china_date
from taocun.core.errors import ApplicationError, Conflict, ValidationError
from taocun.core.services import audit_record
from taocun.market import search
from taocun.market.images import photo_process
from taocun.market.models import (
    ALL_MONTHS_MASK,
    COMMISSION_MAX_BP,
    FREE_SHIPPING_THRESHOLD_MAX_FEN,
    PRICE_MAX_FEN,
    SHIPPING_FEE_MAX_FEN,
    STOCK_MAX,
    WEIGHT_MAX_G,
    Category,
    Certification,
    Product,
    ProductCertification,
    ProductPhoto,
    ProductStatus,
    ShippingMode,
    Shop,
    ShopPhoto,
    ShopStatus,
    Unit,
    Variant,
)
from taocun.regions.models import Division, Household, Level

SHOP_NAME_MIN, SHOP_NAME_MAX = 2, 30
SHOP_STORY_MAX = 2000
SHOP_CATEGORIES_MAX = 5
SHOP_PHOTOS_MAX = 6
PRODUCT_NAME_MIN, PRODUCT_NAME_MAX = 2, 60
PRODUCT_DESCRIPTION_MAX = 5000
PRODUCT_PHOTOS_MAX = 9
VARIANTS_MAX = 20
VARIANT_LABEL_MAX = 30
SKU_MAX = 40
SHELF_LIFE_MAX_DAYS = 3650
PRESALE_MAX_DAYS = 365
HANDLING_DAYS_MAX = 30
REASON_MAX = 300

# Words a buyer may type for a certification, indexed with the products that carry it.
CERTIFICATION_SEARCH_WORDS = {
    Certification.ORGANIC: "有机 有机产品 organic bio",
    Certification.GREEN_FOOD: "绿色食品 green food",
    Certification.GEOGRAPHICAL_INDICATION: "地理标志 地标 geographical indication igp",
    Certification.POLLUTION_FREE: "无公害 pollution-free",
}


class _Unset:
    """Marks an argument the caller did not pass (None is a value: "clear it")."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()


# --- validation helpers -----------------------------------------------------------------


def _text(value: Any, *, field: str, max_length: int, min_length: int = 0) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValidationError(_("Expected text."), field=field)
    if "\x00" in value:
        raise ValidationError(_("The text contains a NUL character."), field=field)
    value = value.strip()
    if len(value) < min_length:
        if min_length <= 1:
            raise ValidationError(_("This field is required."), field=field)
        raise ValidationError(_("At least %(min)d characters.") % {"min": min_length}, field=field)
    if len(value) > max_length:
        raise ValidationError(
            _("At most %(max)d characters (got %(length)d).")
            % {"max": max_length, "length": len(value)},
            field=field,
        )
    return value


def _integer(value: Any, *, field: str, minimum: int, maximum: int, message: str = "") -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(_("Expected a whole number."), field=field)
    if not minimum <= value <= maximum:
        raise ValidationError(
            message or _("Must be between %(min)s and %(max)s.") % {"min": minimum, "max": maximum},
            field=field,
        )
    return value


def _price_fen(value: Any, *, field: str = "price_fen") -> int:
    return _integer(
        value,
        field=field,
        minimum=1,
        maximum=PRICE_MAX_FEN,
        message=_("The price must be more than ¥0 and at most ¥1,000,000 per unit."),
    )


def _stock(value: Any, *, field: str = "stock") -> int:
    return _integer(
        value,
        field=field,
        minimum=0,
        maximum=STOCK_MAX,
        message=_("The stock must be between 0 and 1,000,000."),
    )


def _weight_g(value: Any, *, field: str = "weight_g") -> int:
    return _integer(
        value,
        field=field,
        minimum=1,
        maximum=WEIGHT_MAX_G,
        message=_("The weight must be more than 0 g and at most 1,000 kg."),
    )


def _months_mask(months: Iterable[int] | None, *, field: str = "harvest_months") -> int:
    mask = 0
    for month in months or []:
        if isinstance(month, bool) or not isinstance(month, int) or not 1 <= month <= 12:
            raise ValidationError(
                _("Months are numbers from 1 to 12 (got %(value)s).") % {"value": month},
                field=field,
            )
        mask |= 1 << (month - 1)
    return mask & ALL_MONTHS_MASK


def _presale_date(value: date | None, *, field: str = "presale_ship_date") -> date | None:
    if value is None:
        return None
    if not isinstance(value, date):
        raise ValidationError(_("Expected a date."), field=field)
    today = china_date(timezone.now())
    if value < today:
        raise ValidationError(_("The pre-sale ship date is in the past."), field=field)
    if value > today + timedelta(days=PRESALE_MAX_DAYS):
        raise ValidationError(_("The pre-sale ship date is more than a year away."), field=field)
    return value


def _shelf_life(value: int | None, *, field: str = "shelf_life_days") -> int | None:
    if value is None:
        return None
    return _integer(value, field=field, minimum=1, maximum=SHELF_LIFE_MAX_DAYS)


def _categories(categories: Sequence[Category], *, field: str = "categories") -> list[Category]:
    unique = list({category.pk: category for category in categories}.values())
    if len(unique) > SHOP_CATEGORIES_MAX:
        raise ValidationError(
            _("Choose at most %(max)d categories.") % {"max": SHOP_CATEGORIES_MAX}, field=field
        )
    for category in unique:
        if not category.is_active:
            raise ValidationError(
                _("The category %(name)s is closed.") % {"name": category.name}, field=field
            )
    return unique


def _certifications(items: Sequence[dict] | None) -> list[tuple[str, str]]:
    result: dict[str, str] = {}
    for index, item in enumerate(items or []):
        kind = item.get("kind")
        if kind not in Certification.values:
            raise ValidationError(
                _("Unknown certification %(kind)s.") % {"kind": kind},
                field=f"certifications.{index}.kind",
            )
        number = _text(
            item.get("number", ""), field=f"certifications.{index}.number", max_length=50
        )
        result[kind] = number
    return list(result.items())


def _places(village: Division) -> tuple[Division | None, str]:
    """The county above a village and the village's province code."""
    county_code = village.code[:6] + "000000"
    county = Division.objects.filter(code=county_code, level=Level.COUNTY).first()
    return county, village.code[:2]


def _audit_fields(obj: Any, fields: Iterable[str]) -> dict:
    values = {}
    for name in fields:
        value = getattr(obj, name)
        values[name] = value.isoformat() if isinstance(value, date) else value
    return values


# --- derived columns --------------------------------------------------------------------


def _place_names(village: Division, cache: dict[str, list[str]]) -> list[str]:
    if village.code not in cache:
        prefixes = {village.code[:n].ljust(12, "0") for n in (2, 4, 6, 9)}
        names = dict(Division.objects.filter(code__in=prefixes).values_list("code", "name"))
        cache[village.code] = [names[c] for c in sorted(names)] + [village.name]
    return cache[village.code]


def _search_text(product: Product, place_cache: dict[str, list[str]]) -> str:
    category = product.category
    parts = [product.name, category.name_zh_hans, category.name_en, category.name_fr]
    if category.parent_id:
        parent = category.parent
        parts += [parent.name_zh_hans, parent.name_en, parent.name_fr]
    parts += [CERTIFICATION_SEARCH_WORDS[c.kind] for c in product.certifications.all()]
    parts += _place_names(product.origin_village, place_cache)
    parts.append(product.shop.name)
    return search.normalize_text(" ".join(parts))


def _products_refresh(product_ids: Iterable[int]) -> None:
    """Recompute the derived columns of these products from their sources, and reindex."""
    ids = sorted(set(product_ids))
    if not ids:
        return
    place_cache: dict[str, list[str]] = {}
    products = list(
        Product.objects.filter(pk__in=ids)
        .select_related("shop", "category__parent", "origin_village")
        .prefetch_related("variants", "certifications")
    )
    for product in products:
        active = [v for v in product.variants.all() if v.is_active]
        prices = [v.price_fen for v in active]
        product.price_min_fen = min(prices, default=0)
        product.price_max_fen = max(prices, default=0)
        product.in_stock = any(v.stock > 0 for v in active)
        product.is_listed = (
            product.status == ProductStatus.ACTIVE
            and product.shop.status == ShopStatus.VERIFIED
            and bool(active)
        )
        product.search_text = _search_text(product, place_cache)
    Product.objects.bulk_update(
        products,
        ["price_min_fen", "price_max_fen", "in_stock", "is_listed", "search_text"],
        batch_size=500,
    )
    search.search_index_update(product_ids=ids)


def _shop_products_relist(shop: Shop) -> None:
    """Listing flags of all of a shop's products after its status changed: one UPDATE."""
    products = Product.objects.filter(shop=shop)
    if shop.status != ShopStatus.VERIFIED:
        products.filter(is_listed=True).update(is_listed=False, updated_at=timezone.now())
        return
    has_active_variant = Exists(Variant.objects.filter(product=OuterRef("pk"), is_active=True))
    products.filter(has_active_variant, status=ProductStatus.ACTIVE, is_listed=False).update(
        is_listed=True, updated_at=timezone.now()
    )


# --- shops ------------------------------------------------------------------------------


def _shop_name(name: Any, *, exclude: Shop | None = None) -> str:
    name = _text(name, field="name", min_length=SHOP_NAME_MIN, max_length=SHOP_NAME_MAX)
    taken = Shop.objects.filter(name=name)
    if exclude is not None:
        taken = taken.exclude(pk=exclude.pk)
    if taken.exists():
        raise ValidationError(
            _("A shop called %(name)s already exists; choose another name.") % {"name": name},
            field="name",
        )
    return name


@transaction.atomic
def shop_open(
    *,
    actor,
    household: Household,
    name: str,
    story: str = "",
    categories: Sequence[Category] = (),
) -> Shop:
    """Open the shop of ``household`` (one per household). It awaits verification by the
    station agent or county officer covering its village before it can sell."""
    if Shop.objects.filter(household=household).exists():
        raise Conflict(_("Your household already has a shop."), field="household")
    village = household.village
    if village.level != Level.VILLAGE:
        raise ValidationError(_("A shop belongs to a village."), field="household")
    name = _shop_name(name)
    story = _text(story, field="story", max_length=SHOP_STORY_MAX)
    chosen = _categories(categories)
    county, province_code = _places(village)
    try:
        with transaction.atomic():
            shop = Shop.objects.create(
                household=household,
                opened_by=actor,
                name=name,
                story=story,
                village=village,
                county=county,
                province_code=province_code,
                status=ShopStatus.PENDING,
            )
    except IntegrityError:
        # Another request opened a shop with this name or for this household meanwhile.
        raise Conflict(
            _("The shop could not be opened: the name or the household is already taken."),
            field="name",
        ) from None
    shop.categories.set(chosen)
    audit_record(
        actor=actor,
        action="shop.open",
        obj=shop,
        after={
            "name": name,
            "household": household.pk,
            "village": village.code,
            "categories": [c.slug for c in chosen],
        },
    )
    return shop


@transaction.atomic
def shop_update(
    *,
    actor,
    shop: Shop,
    name: str = UNSET,
    story: str = UNSET,
    categories: Sequence[Category] = UNSET,
) -> Shop:
    """Change a shop's name, story or categories (only what is passed)."""
    before = {"name": shop.name, "story": shop.story}
    changed: list[str] = []
    if name is not UNSET:
        new_name = _shop_name(name, exclude=shop)
        if new_name != shop.name:
            shop.name = new_name
            changed.append("name")
    if story is not UNSET:
        shop.story = _text(story, field="story", max_length=SHOP_STORY_MAX)
        changed.append("story")
    if changed:
        try:
            with transaction.atomic():
                shop.save(update_fields=[*changed, "updated_at"])
        except IntegrityError:
            raise Conflict(_("A shop with this name already exists."), field="name") from None
    after = {"name": shop.name, "story": shop.story}
    if categories is not UNSET:
        chosen = _categories(categories)
        before["categories"] = sorted(shop.categories.values_list("slug", flat=True))
        shop.categories.set(chosen)
        after["categories"] = sorted(c.slug for c in chosen)
    if "name" in changed:
        _products_refresh(shop.products.values_list("pk", flat=True))
    audit_record(actor=actor, action="shop.update", obj=shop, before=before, after=after)
    return shop


@transaction.atomic
def shop_shipping_set(
    *,
    actor,
    shop: Shop,
    mode: str,
    flat_fen: int = 0,
    base_fen: int = 0,
    per_kg_fen: int = 0,
    free_shipping_threshold_fen: int | None = None,
    handling_days: int = 2,
) -> Shop:
    """The shop's shipping fee rule: a flat fee per order, or a base fee plus a fee per
    started kilogram; optionally free from an order amount; and the days it takes to ship."""
    if mode not in ShippingMode.values:
        raise ValidationError(_("Unknown shipping mode %(mode)s.") % {"mode": mode}, field="mode")
    fee_message = _("A shipping fee is between ¥0 and ¥10,000.")
    flat_fen = _integer(
        flat_fen, field="flat_fen", minimum=0, maximum=SHIPPING_FEE_MAX_FEN, message=fee_message
    )
    base_fen = _integer(
        base_fen, field="base_fen", minimum=0, maximum=SHIPPING_FEE_MAX_FEN, message=fee_message
    )
    per_kg_fen = _integer(
        per_kg_fen,
        field="per_kg_fen",
        minimum=0,
        maximum=SHIPPING_FEE_MAX_FEN,
        message=fee_message,
    )
    if free_shipping_threshold_fen is not None:
        free_shipping_threshold_fen = _integer(
            free_shipping_threshold_fen,
            field="free_shipping_threshold_fen",
            minimum=1,
            maximum=FREE_SHIPPING_THRESHOLD_MAX_FEN,
            message=_("The free-shipping amount is more than ¥0 and at most ¥1,000,000."),
        )
    handling_days = _integer(
        handling_days, field="handling_days", minimum=0, maximum=HANDLING_DAYS_MAX
    )
    fields = [
        "shipping_mode",
        "shipping_flat_fen",
        "shipping_base_fen",
        "shipping_per_kg_fen",
        "free_shipping_threshold_fen",
        "handling_days",
    ]
    before = _audit_fields(shop, fields)
    shop.shipping_mode = mode
    shop.shipping_flat_fen = flat_fen if mode == ShippingMode.FLAT else 0
    shop.shipping_base_fen = base_fen if mode == ShippingMode.WEIGHT else 0
    shop.shipping_per_kg_fen = per_kg_fen if mode == ShippingMode.WEIGHT else 0
    shop.free_shipping_threshold_fen = free_shipping_threshold_fen
    shop.handling_days = handling_days
    shop.save(update_fields=[*fields, "updated_at"])
    audit_record(
        actor=actor,
        action="shop.shipping_set",
        obj=shop,
        before=before,
        after=_audit_fields(shop, fields),
    )
    return shop


def shipping_fee_fen(*, shop: Shop, weight_g: int, amount_fen: int) -> int:
    """The shipping fee of one order of ``shop`` (goods worth ``amount_fen``, weighing
    ``weight_g``) under its current settings; checkout calls this.

    >>> shop = Shop(shipping_mode="weight", shipping_base_fen=800, shipping_per_kg_fen=200)
    >>> shipping_fee_fen(shop=shop, weight_g=2500, amount_fen=5000)  # 3 started kg
    1400
    """
    threshold = shop.free_shipping_threshold_fen
    if threshold is not None and amount_fen >= threshold:
        return 0
    if shop.shipping_mode == ShippingMode.WEIGHT:
        started_kg = -(-max(weight_g, 0) // 1000)
        return shop.shipping_base_fen + started_kg * shop.shipping_per_kg_fen
    return shop.shipping_flat_fen


# Which statuses each review action moves a shop from, and to.
_TRANSITIONS = {
    "verify": ({ShopStatus.PENDING, ShopStatus.REJECTED}, ShopStatus.VERIFIED),
    "reject": ({ShopStatus.PENDING}, ShopStatus.REJECTED),
    "suspend": ({ShopStatus.VERIFIED}, ShopStatus.SUSPENDED),
    "reopen": ({ShopStatus.SUSPENDED}, ShopStatus.VERIFIED),
    "submit": ({ShopStatus.REJECTED}, ShopStatus.PENDING),
}
_NEEDS_REASON = {"reject", "suspend"}


def _shop_transition(*, actor, shop: Shop, action: str, reason: str = "") -> Shop:
    allowed_from, target = _TRANSITIONS[action]
    locked = Shop.objects.select_for_update().get(pk=shop.pk)
    if locked.status not in allowed_from:
        raise Conflict(
            _("The shop is %(status)s: this cannot be done now.")
            % {"status": locked.get_status_display()},
            field="status",
        )
    reason = _text(
        reason,
        field="reason",
        max_length=REASON_MAX,
        min_length=1 if action in _NEEDS_REASON else 0,
    )
    before = {"status": locked.status}
    now = timezone.now()
    locked.status = target
    locked.status_reason = reason
    locked.status_changed_at = now
    locked.status_changed_by = actor if getattr(actor, "is_authenticated", False) else None
    fields = ["status", "status_reason", "status_changed_at", "status_changed_by", "updated_at"]
    if action == "verify":
        locked.verified_at = now
        fields.append("verified_at")
    locked.save(update_fields=fields)
    _shop_products_relist(locked)
    audit_record(
        actor=actor,
        action=f"shop.{action}",
        obj=locked,
        before=before,
        after={"status": target, "reason": reason},
    )
    for name in ("status", "status_reason", "status_changed_at", "status_changed_by_id"):
        setattr(shop, name, getattr(locked, name))
    shop.verified_at = locked.verified_at
    return shop


@transaction.atomic
def shop_verify(*, actor, shop: Shop) -> Shop:
    """The agent or officer has checked the household and its products: the shop sells."""
    return _shop_transition(actor=actor, shop=shop, action="verify")


@transaction.atomic
def shop_reject(*, actor, shop: Shop, reason: str) -> Shop:
    return _shop_transition(actor=actor, shop=shop, action="reject", reason=reason)


@transaction.atomic
def shop_submit(*, actor, shop: Shop) -> Shop:
    """The seller fixed what the reviewer asked for and sends the shop back for review."""
    return _shop_transition(actor=actor, shop=shop, action="submit")


@transaction.atomic
def shop_suspend(*, actor, shop: Shop, reason: str) -> Shop:
    """Stop a shop selling (its products leave the storefront) until it is reopened."""
    return _shop_transition(actor=actor, shop=shop, action="suspend", reason=reason)


@transaction.atomic
def shop_reopen(*, actor, shop: Shop) -> Shop:
    return _shop_transition(actor=actor, shop=shop, action="reopen")


# --- products ---------------------------------------------------------------------------


def _origin_village(shop: Shop, village: Division | None) -> Division:
    if village is None:
        return shop.village
    if village.level != Level.VILLAGE:
        raise ValidationError(_("The origin must be a village."), field="origin_village")
    if village.code[:6] != shop.village.code[:6]:
        raise ValidationError(
            _("The origin village must be in your shop's county."), field="origin_village"
        )
    return village


def _product_category(category: Category) -> Category:
    if not category.is_active:
        raise ValidationError(
            _("The category %(name)s is closed.") % {"name": category.name}, field="category"
        )
    return category


def _variant_values(values: dict, *, prefix: str = "") -> dict:
    unit = values.get("unit", Unit.BOX)
    if unit not in Unit.values:
        raise ValidationError(_("Unknown unit %(unit)s.") % {"unit": unit}, field=f"{prefix}unit")
    sku = _text(values.get("sku", ""), field=f"{prefix}sku", max_length=SKU_MAX)
    if sku and not all(ch.isalnum() or ch in "-_." for ch in sku):
        raise ValidationError(
            _("An SKU has letters, digits, '-', '_' and '.' only."), field=f"{prefix}sku"
        )
    return {
        "label": _text(
            values.get("label"), field=f"{prefix}label", min_length=1, max_length=VARIANT_LABEL_MAX
        ),
        "sku": sku,
        "unit": unit,
        "weight_g": _weight_g(values.get("weight_g"), field=f"{prefix}weight_g"),
        "price_fen": _price_fen(values.get("price_fen"), field=f"{prefix}price_fen"),
        "stock": _stock(values.get("stock", 0), field=f"{prefix}stock"),
    }


def _check_sku_free(product: Product, sku: str, *, field: str, exclude: Variant | None = None):
    taken = Variant.objects.filter(product=product, sku=sku)
    if exclude is not None:
        taken = taken.exclude(pk=exclude.pk)
    if taken.exists():
        raise ValidationError(
            _("This product already has a variant with SKU %(sku)s.") % {"sku": sku}, field=field
        )


def _variant_create(product: Product, values: dict, position: int) -> Variant:
    variant = Variant.objects.create(product=product, position=position, **values)
    if not variant.sku:
        variant.sku = f"P{product.pk}-V{variant.pk}"
        variant.save(update_fields=["sku"])
    return variant


@transaction.atomic
def product_create(
    *,
    actor,
    shop: Shop,
    category: Category,
    name: str,
    variants: Sequence[dict],
    description: str = "",
    origin_village: Division | None = None,
    harvest_months: Iterable[int] = (),
    presale_ship_date: date | None = None,
    shelf_life_days: int | None = None,
    certifications: Sequence[dict] = (),
) -> Product:
    """Add a product with at least one variant. It is listed once the shop is verified."""
    name = _text(name, field="name", min_length=PRODUCT_NAME_MIN, max_length=PRODUCT_NAME_MAX)
    description = _text(description, field="description", max_length=PRODUCT_DESCRIPTION_MAX)
    category = _product_category(category)
    village = _origin_village(shop, origin_village)
    if not variants:
        raise ValidationError(_("Add at least one variant (a pack size)."), field="variants")
    if len(variants) > VARIANTS_MAX:
        raise ValidationError(
            _("At most %(max)d variants.") % {"max": VARIANTS_MAX}, field="variants"
        )
    cleaned = [_variant_values(v, prefix=f"variants.{i}.") for i, v in enumerate(variants)]
    skus = [v["sku"] for v in cleaned if v["sku"]]
    if len(skus) != len(set(skus)):
        raise ValidationError(_("Two variants have the same SKU."), field="variants")
    county, province_code = _places(village)
    product = Product.objects.create(
        shop=shop,
        category=category,
        category_root_id=category.parent_id or category.pk,
        name=name,
        description=description,
        origin_village=village,
        origin_county=county,
        province_code=province_code,
        harvest_months=_months_mask(harvest_months),
        presale_ship_date=_presale_date(presale_ship_date),
        shelf_life_days=_shelf_life(shelf_life_days),
    )
    for position, values in enumerate(cleaned):
        _variant_create(product, values, position)
    ProductCertification.objects.bulk_create(
        ProductCertification(product=product, kind=kind, number=number)
        for kind, number in _certifications(certifications)
    )
    _products_refresh([product.pk])
    product.refresh_from_db()
    audit_record(
        actor=actor,
        action="product.create",
        obj=product,
        after={
            "shop": shop.pk,
            "name": name,
            "category": category.slug,
            "variants": [
                {k: v[k] for k in ("label", "sku", "price_fen", "stock")} for v in cleaned
            ],
        },
    )
    return product


_PRODUCT_AUDITED = [
    "name",
    "category_id",
    "origin_village_id",
    "harvest_months",
    "presale_ship_date",
    "shelf_life_days",
    "status",
]


@transaction.atomic
def product_update(
    *,
    actor,
    product: Product,
    name: str = UNSET,
    description: str = UNSET,
    category: Category = UNSET,
    origin_village: Division | None = UNSET,
    harvest_months: Iterable[int] = UNSET,
    presale_ship_date: date | None = UNSET,
    shelf_life_days: int | None = UNSET,
    certifications: Sequence[dict] = UNSET,
    status: str = UNSET,
) -> Product:
    """Change what is passed; ``status`` puts the product on sale or takes it off."""
    before = _audit_fields(product, _PRODUCT_AUDITED)
    if name is not UNSET:
        product.name = _text(
            name, field="name", min_length=PRODUCT_NAME_MIN, max_length=PRODUCT_NAME_MAX
        )
    if description is not UNSET:
        product.description = _text(
            description, field="description", max_length=PRODUCT_DESCRIPTION_MAX
        )
    if category is not UNSET:
        product.category = _product_category(category)
        product.category_root_id = product.category.parent_id or product.category.pk
    if origin_village is not UNSET:
        village = _origin_village(product.shop, origin_village)
        product.origin_village = village
        product.origin_county, product.province_code = _places(village)
    if harvest_months is not UNSET:
        product.harvest_months = _months_mask(harvest_months)
    if presale_ship_date is not UNSET:
        product.presale_ship_date = _presale_date(presale_ship_date)
    if shelf_life_days is not UNSET:
        product.shelf_life_days = _shelf_life(shelf_life_days)
    if status is not UNSET:
        if status not in ProductStatus.values:
            raise ValidationError(
                _("Unknown status %(status)s.") % {"status": status}, field="status"
            )
        product.status = status
    product.save()
    if certifications is not UNSET:
        wanted = _certifications(certifications)
        product.certifications.exclude(kind__in=[kind for kind, _n in wanted]).delete()
        for kind, number in wanted:
            ProductCertification.objects.update_or_create(
                product=product, kind=kind, defaults={"number": number}
            )
    _products_refresh([product.pk])
    product.refresh_from_db()
    after = _audit_fields(product, _PRODUCT_AUDITED)
    audit_record(
        actor=actor,
        action="product.update",
        obj=product,
        before={k: v for k, v in before.items() if after[k] != v},
        after={k: v for k, v in after.items() if before[k] != v},
    )
    return product


# --- variants and stock -----------------------------------------------------------------


@transaction.atomic
def variant_add(
    *,
    actor,
    product: Product,
    label: str,
    weight_g: int,
    price_fen: int,
    stock: int = 0,
    unit: str = Unit.BOX,
    sku: str = "",
) -> Variant:
    if product.variants.count() >= VARIANTS_MAX:
        raise ValidationError(
            _("At most %(max)d variants.") % {"max": VARIANTS_MAX}, field="variants"
        )
    values = _variant_values(
        {
            "label": label,
            "weight_g": weight_g,
            "price_fen": price_fen,
            "stock": stock,
            "unit": unit,
            "sku": sku,
        }
    )
    if values["sku"]:
        _check_sku_free(product, values["sku"], field="sku")
    position = (
        product.variants.order_by("-position").values_list("position", flat=True).first() or 0
    ) + 1
    variant = _variant_create(product, values, position)
    _products_refresh([product.pk])
    audit_record(
        actor=actor,
        action="variant.add",
        obj=variant,
        after={"product": product.pk, **{k: values[k] for k in ("label", "price_fen", "stock")}},
    )
    return variant


_VARIANT_AUDITED = ["label", "sku", "unit", "weight_g", "price_fen", "stock", "is_active"]


@transaction.atomic
def variant_update(
    *,
    actor,
    variant: Variant,
    label: str = UNSET,
    sku: str = UNSET,
    unit: str = UNSET,
    weight_g: int = UNSET,
    price_fen: int = UNSET,
    stock: int = UNSET,
    is_active: bool = UNSET,
) -> Variant:
    """Change a variant's description, price or counted stock, or take it off sale
    (``is_active``). Variants are never deleted: orders will point at them."""
    before = _audit_fields(variant, _VARIANT_AUDITED)
    changed: list[str] = []
    if label is not UNSET:
        variant.label = _text(label, field="label", min_length=1, max_length=VARIANT_LABEL_MAX)
        changed.append("label")
    if sku is not UNSET:
        sku = _text(sku, field="sku", min_length=1, max_length=SKU_MAX)
        if not all(ch.isalnum() or ch in "-_." for ch in sku):
            raise ValidationError(
                _("An SKU has letters, digits, '-', '_' and '.' only."), field="sku"
            )
        _check_sku_free(variant.product, sku, field="sku", exclude=variant)
        variant.sku = sku
        changed.append("sku")
    if unit is not UNSET:
        if unit not in Unit.values:
            raise ValidationError(_("Unknown unit %(unit)s.") % {"unit": unit}, field="unit")
        variant.unit = unit
        changed.append("unit")
    if weight_g is not UNSET:
        variant.weight_g = _weight_g(weight_g)
        changed.append("weight_g")
    if price_fen is not UNSET:
        variant.price_fen = _price_fen(price_fen)
        changed.append("price_fen")
    if stock is not UNSET:
        # An absolute count from the seller; only written when passed, so that an edit of
        # the price never overwrites stock that checkout moved meanwhile.
        variant.stock = _stock(stock)
        changed.append("stock")
    if is_active is not UNSET:
        variant.is_active = bool(is_active)
        changed.append("is_active")
    if not changed:
        return variant
    variant.save(update_fields=[*changed, "updated_at"])
    _products_refresh([variant.product_id])
    after = _audit_fields(variant, _VARIANT_AUDITED)
    audit_record(
        actor=actor,
        action="variant.update",
        obj=variant,
        before={k: v for k, v in before.items() if after[k] != v},
        after={k: v for k, v in after.items() if before[k] != v},
    )
    return variant


def _stock_flag_refresh(product_id: int) -> None:
    """Flip the product's in-stock flag only when it changes (stock moves are frequent and
    should not rewrite the product row each time)."""
    in_stock = Variant.objects.filter(product_id=product_id, is_active=True, stock__gt=0).exists()
    Product.objects.filter(pk=product_id).exclude(in_stock=in_stock).update(in_stock=in_stock)


@transaction.atomic
def variant_stock_set(*, actor, variant: Variant, stock: int) -> Variant:
    """Set the stock after a count (the seller's "I have 120 boxes")."""
    stock = _stock(stock)
    before = Variant.objects.filter(pk=variant.pk).values_list("stock", flat=True).first()
    Variant.objects.filter(pk=variant.pk).update(stock=stock, updated_at=timezone.now())
    variant.stock = stock
    _stock_flag_refresh(variant.product_id)
    audit_record(
        actor=actor,
        action="variant.stock_set",
        obj=variant,
        before={"stock": before},
        after={"stock": stock},
    )
    return variant


def variant_stock_adjust(*, actor, variant: Variant, delta: int, reason: str = "") -> int:
    """Add ``delta`` (negative to take) to the stock in one conditional UPDATE and return
    the new stock. Taking more than there is fails and changes nothing, however many
    requests race: this is the primitive checkout reserves and releases stock with."""
    return variants_stock_adjust(actor=actor, changes=[(variant, delta)], reason=reason)[variant.pk]


def _stock_changes(changes: Sequence[tuple[Variant, int]]) -> dict[int, int]:
    """``{variant id: delta}`` of valid changes; a bad one names its place."""
    deltas: dict[int, int] = {}
    for index, (variant, delta) in enumerate(changes):
        field = "delta" if len(changes) == 1 else f"changes.{index}.delta"
        delta = _integer(delta, field=field, minimum=-STOCK_MAX, maximum=STOCK_MAX)
        if delta == 0:
            raise ValidationError(_("The change in stock cannot be 0."), field=field)
        if variant.pk in deltas:
            raise ValidationError(
                _("The stock of pack %(id)d is changed twice.") % {"id": variant.pk},
                field=f"changes.{index}.variant",
            )
        deltas[variant.pk] = delta
    return deltas


def _stock_update(deltas: dict[int, int], now) -> list[tuple[int, int, int, bool]]:
    """Apply every change whose result stays within 0 … STOCK_MAX, in one statement:
    ``UPDATE … SET stock = stock + d WHERE stock + d BETWEEN 0 AND max RETURNING …``.
    Returns ``(id, product id, new stock, is_active)`` of the rows changed; a row missing
    from the answer was not changed (not enough stock, too much, or no such pack).

    Without ``RETURNING`` (SQLite before 3.35) each row is one conditional UPDATE and the
    new stocks are read back once."""
    quote = connection.ops.quote_name
    meta = Variant._meta
    column = {name: quote(meta.get_field(name).column) for name in ("id", "stock", "updated_at")}
    returned = ", ".join(
        quote(meta.get_field(name).column) for name in ("id", "product", "stock", "is_active")
    )
    table, pk, stock = quote(meta.db_table), column["id"], column["stock"]
    stamp = connection.ops.adapt_datetimefield_value(now)
    changes = sorted(deltas.items())  # by id: rows are visited and locked in one order
    if connection.features.can_return_columns_from_insert:
        case = f"CASE {pk} " + " ".join(["WHEN %s THEN %s"] * len(changes)) + " END"
        case_params = [value for change in changes for value in change]
        ids = [pk_value for pk_value, _delta in changes]
        sql = (
            f"UPDATE {table} SET {stock} = {stock} + {case}, {column['updated_at']} = %s "
            f"WHERE {pk} IN ({', '.join(['%s'] * len(ids))}) "
            f"AND {stock} + {case} BETWEEN 0 AND %s RETURNING {returned}"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [*case_params, stamp, *ids, *case_params, STOCK_MAX])
            rows = cursor.fetchall()
    else:
        changed = []
        sql = (
            f"UPDATE {table} SET {stock} = {stock} + %s, {column['updated_at']} = %s "
            f"WHERE {pk} = %s AND {stock} + %s BETWEEN 0 AND %s"
        )
        with connection.cursor() as cursor:
            for pk_value, delta in changes:
                cursor.execute(sql, [delta, stamp, pk_value, delta, STOCK_MAX])
                if cursor.rowcount:
                    changed.append(pk_value)
        rows = list(
            Variant.objects.filter(pk__in=changed).values_list(
                "pk", "product_id", "stock", "is_active"
            )
        )
    return [(pk_value, product, new, bool(active)) for pk_value, product, new, active in rows]


def _stock_refused(variants: dict[int, Variant], deltas: dict[int, int], failed: int):
    """The error for the first change that could not be applied."""
    variant, delta = variants[failed], deltas[failed]
    if delta > 0:
        return ValidationError(_("The stock would exceed 1,000,000."), field="delta")
    current = Variant.objects.filter(pk=failed).values_list("stock", flat=True).first()
    return Conflict(
        _("Only %(stock)d left of %(label)s; cannot take %(wanted)d.")
        % {"stock": current or 0, "label": variant.label, "wanted": -delta},
        code="out_of_stock",
        field="stock",
        extra={"variant_id": failed},
    )


def _stock_flags_cross(rows: list[tuple[int, int, int, bool]], deltas: dict[int, int]) -> None:
    """Products' in-stock flags, written only when an active pack crossed 0."""
    emptied = {product for _pk, product, stock, active in rows if active and stock == 0}
    refilled = {
        product
        for pk, product, stock, active in rows
        if active and deltas[pk] > 0 and stock == deltas[pk]
    }
    if emptied:
        stocked = Variant.objects.filter(product=OuterRef("pk"), is_active=True, stock__gt=0)
        Product.objects.filter(pk__in=emptied, in_stock=True).exclude(Exists(stocked)).update(
            in_stock=False
        )
    if refilled:
        Product.objects.filter(pk__in=refilled, in_stock=False).update(in_stock=True)


def variants_stock_adjust(
    *, actor, changes: Sequence[tuple[Variant, int]], reason: str = ""
) -> dict[int, int]:
    """Add each ``delta`` to its pack's stock, all or nothing, and return the new stocks
    by pack id (also set on the ``Variant`` objects given).

    One conditional UPDATE for all the packs: a change that would take the stock below 0
    (or above 1,000,000) is not applied, however many requests race, and then none is —
    the rows already changed by the statement are put back before the error is raised,
    so the caller's transaction stays usable and nothing changed. A product's in-stock
    flag is written only when one of its packs crosses 0; one audit entry per pack, in
    one INSERT.
    """
    reason = _text(reason, field="reason", max_length=REASON_MAX)
    deltas = _stock_changes(changes)
    if not deltas:
        return {}
    variants = {variant.pk: variant for variant, _delta in changes}
    now = timezone.now()
    refused: ApplicationError | None = None
    # No savepoint: a refusal undoes its own partial change and is raised outside the
    # block, so a caller that catches it can go on in its transaction.
    with transaction.atomic(savepoint=False):
        rows = _stock_update(deltas, now)
        stocks = {pk: stock for pk, _product, stock, _active in rows}
        if len(stocks) != len(deltas):
            failed = next(pk for pk in deltas if pk not in stocks)
            if stocks:
                # Put back what the statement did apply: those rows are locked by this
                # transaction, so adding the opposite restores their stock exactly (their
                # updated_at moves; a refusal of several packs at once is rare: checkout
                # locks and checks its packs first).
                _stock_update({pk: -deltas[pk] for pk in stocks}, now)
            refused = _stock_refused(variants, deltas, failed)
        else:
            _stock_flags_cross(rows, deltas)
            audit_records(
                actor=actor,
                action="variant.stock_adjust",
                entries=[
                    (variants[pk], None, {"delta": delta, "stock": stocks[pk], "reason": reason})
                    for pk, delta in deltas.items()
                ],
            )
    if refused is not None:
        raise refused
    for pk, stock in stocks.items():
        variants[pk].stock = stock
    return stocks


# --- photos -----------------------------------------------------------------------------


def _photo_store(
    *, actor, data: bytes, folder: str, photo_model, limit: int, limit_message: str, owner: dict
) -> Any:
    """Check and resize the upload, write both files, then create the row and its audit
    entry in one transaction. The image work happens before the transaction (it can take a
    second, and on SQLite a transaction holds the database's write lock); if the
    transaction fails, the files are removed again, so nothing half-made is left."""
    if photo_model.objects.filter(**owner).count() >= limit:
        raise ValidationError(limit_message, field="photo")
    processed = photo_process(data=data)
    stem = f"market/{folder}/{uuid.uuid4().hex}"
    saved: list[str] = []
    try:
        saved.append(default_storage.save(f"{stem}.jpg", ContentFile(processed.display)))
        saved.append(default_storage.save(f"{stem}_t.jpg", ContentFile(processed.thumbnail)))
        with transaction.atomic():
            existing = photo_model.objects.filter(**owner)
            if existing.count() >= limit:
                raise ValidationError(limit_message, field="photo")
            last = existing.order_by("-position").values_list("position", flat=True).first()
            photo = photo_model.objects.create(
                image=saved[0],
                thumbnail=saved[1],
                width=processed.width,
                height=processed.height,
                position=0 if last is None else last + 1,
                **owner,
            )
            audit_record(
                actor=actor,
                action=f"{photo_model._meta.model_name}.add",
                obj=photo,
                after={key: value.pk for key, value in owner.items()},
            )
    except BaseException:
        for name in saved:
            default_storage.delete(name)
        raise
    return photo


def shop_photo_add(*, actor, shop: Shop, data: bytes) -> ShopPhoto:
    return _photo_store(
        actor=actor,
        data=data,
        folder=f"shops/{shop.pk}",
        photo_model=ShopPhoto,
        limit=SHOP_PHOTOS_MAX,
        limit_message=_("A shop has at most %(max)d photos.") % {"max": SHOP_PHOTOS_MAX},
        owner={"shop": shop},
    )


def product_photo_add(*, actor, product: Product, data: bytes) -> ProductPhoto:
    return _photo_store(
        actor=actor,
        data=data,
        folder=f"products/{product.pk}",
        photo_model=ProductPhoto,
        limit=PRODUCT_PHOTOS_MAX,
        limit_message=_("A product has at most %(max)d photos.") % {"max": PRODUCT_PHOTOS_MAX},
        owner={"product": product},
    )


@transaction.atomic
def photo_remove(*, actor, photo: ShopPhoto | ProductPhoto) -> None:
    """Delete a photo; its files are removed once the deletion has committed."""
    names = [photo.image.name, photo.thumbnail.name]
    owner = (
        {"shop": photo.shop_id} if isinstance(photo, ShopPhoto) else {"product": photo.product_id}
    )
    audit_record(actor=actor, action="photo.remove", obj=photo, before={"image": names[0], **owner})
    photo.delete()

    def delete_files() -> None:
        for name in names:
            default_storage.delete(name)

    transaction.on_commit(delete_files)


# --- categories and ratings -------------------------------------------------------------


@transaction.atomic
def category_commission_set(*, actor, category: Category, rate_bp: int) -> Category:
    """The platform's commission on a category, 0–10,000 basis points (0 % to 100 %)."""
    rate_bp = _integer(
        rate_bp,
        field="commission_rate_bp",
        minimum=0,
        maximum=COMMISSION_MAX_BP,
        message=_("The commission is between 0 and 10,000 basis points."),
    )
    before = {"commission_rate_bp": category.commission_rate_bp}
    category.commission_rate_bp = rate_bp
    category.save(update_fields=["commission_rate_bp", "updated_at"])
    audit_record(
        actor=actor,
        action="category.commission_set",
        obj=category,
        before=before,
        after={"commission_rate_bp": rate_bp},
    )
    return category


@transaction.atomic
def product_sold_add(*, quantities: list[tuple[int, int]]) -> None:
    """Count units sold ((product id, quantity) pairs, from a completed order) in the
    products' aggregates, and refresh their search ranks. For the order service."""
    for product_id, quantity in quantities:
        Product.objects.filter(pk=product_id).update(sold_count=F("sold_count") + quantity)
    # Units sold are part of the search rank (and of the SQLite index's key).
    search.search_rank_refresh(product_ids=[product_id for product_id, _quantity in quantities])


@transaction.atomic
def product_rating_apply(*, product: Product, stars_delta: int, count_delta: int) -> None:
    """Add ratings to (or, with negative deltas, remove hidden ones from) a product's and
    its shop's aggregates, atomically. For the review service."""
    if count_delta == 0 and stars_delta == 0:
        return
    Product.objects.filter(pk=product.pk).update(
        rating_sum=F("rating_sum") + stars_delta, rating_count=F("rating_count") + count_delta
    )
    Shop.objects.filter(pk=product.shop_id).update(
        rating_sum=F("rating_sum") + stars_delta, rating_count=F("rating_count") + count_delta
    )
    row = Product.objects.filter(pk=product.pk).values("rating_sum", "rating_count").get()
    average = row["rating_sum"] * 100 // row["rating_count"] if row["rating_count"] else 0
    Product.objects.filter(pk=product.pk).update(rating_avg_centi=average)
    # Ratings are part of the search rank (and of the SQLite index's key).
    search.search_rank_refresh(product_ids=[product.pk])
