"""The market API: categories, products and search, shops; the seller's shop and catalog;
shop review for station agents and county officers.

Reading the storefront needs no login. Writes need a token or a session, and each one goes
through the same ``market.access`` check as the pages (a refusal is a 403 and an audit
entry). Money is integer fen; photos are uploaded as ``multipart/form-data`` with one file
field ``photo`` (JPEG, PNG or WebP, 8 MB at most).
"""

from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Status
from ninja.pagination import LimitOffsetPagination, paginate

from taocun.accounts.services import api_token_user
from taocun.core.errors import NotFound, ValidationError
from taocun.market import selectors, services
from taocun.market.access import (
    access_product_edit,
    access_product_view,
    access_review_queue,
    access_shop_edit,
    access_shop_open,
    access_shop_verify,
    access_shop_view,
)
from taocun.market.models import Category, Product, ProductPhoto, Shop, ShopPhoto, Variant
from taocun.market.schemas import (
    CategoryOut,
    CategoryTreeOut,
    PhotoOut,
    ProductCardOut,
    ProductCreateIn,
    ProductOut,
    ProductSearchIn,
    ProductSearchOut,
    ProductUpdateIn,
    ReasonIn,
    ShippingIn,
    ShopListOut,
    ShopOpenIn,
    ShopOut,
    ShopStatusName,
    ShopUpdateIn,
    StockAdjustIn,
    VariantIn,
    VariantOut,
    VariantUpdateIn,
)
from taocun.market.uploads import upload_guard, uploaded_photo
from taocun.regions.models import Division, Level

router = Router()

PHOTO_UPLOAD = {
    "requestBody": {
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"photo": {"type": "string", "format": "binary"}},
                    "required": ["photo"],
                }
            }
        },
        "required": True,
    }
}


def viewer(request: HttpRequest) -> Any:
    """Optional authentication for public reads: a valid bearer token's user, else the
    session's user, else the anonymous user. Keepers and reviewers then see what only
    they may see (a shop awaiting verification, a product off sale)."""
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        user = api_token_user(header[7:].strip())
        if user is not None:
            request.user = user
            return user
    return request.user


# --- lookups ----------------------------------------------------------------------------


def _category(slug: str, field: str = "category") -> Category:
    category = Category.objects.filter(slug=slug, is_active=True).first()
    if category is None:
        raise ValidationError(_("Unknown category %(slug)s.") % {"slug": slug}, field=field)
    return category


def _categories(slugs: list[str]) -> list[Category]:
    return [_category(slug, field=f"categories.{i}") for i, slug in enumerate(slugs)]


def _village(code: str | None, field: str = "origin_village") -> Division | None:
    if code is None:
        return None
    village = Division.objects.filter(code=code, level=Level.VILLAGE).first()
    if village is None:
        raise ValidationError(_("No village with code %(code)s.") % {"code": code}, field=field)
    return village


def _variant(variant_id: int) -> Variant:
    variant = Variant.objects.select_related("product__shop").filter(pk=variant_id).first()
    if variant is None:
        raise NotFound(_("There is no variant %(id)s.") % {"id": variant_id}, field="variant")
    return variant


def _shop_out(shop: Shop) -> Shop:
    return selectors.shop_get(shop_id=shop.pk)


def _product_out(product: Product) -> Product:
    return selectors.product_get(product_id=product.pk)


# --- storefront (no login) --------------------------------------------------------------


@router.get("/categories", response=list[CategoryTreeOut], auth=None, summary="Categories")
def category_list(request: HttpRequest) -> list[Category]:
    """Top-level categories with their children, names in the three site languages."""
    return selectors.category_list()


@router.get("/categories/{slug}", response=CategoryOut, auth=None, summary="One category")
def category_detail(request: HttpRequest, slug: str) -> Category:
    return selectors.category_get(slug=slug)


@router.get("/products", response=ProductSearchOut, auth=None, summary="Search products")
def product_search(request: HttpRequest, filters: Query[ProductSearchIn]) -> dict:
    """Listed products. `q` matches substrings of names, categories, certifications,
    places and shops ("苹果" finds "烟台红富士苹果"); every word must match. Prices in fen;
    `total` stops counting at 2,000 (100 pages of 20); so do pages. `relevance` (best
    match) with more than 2,000 matches ranks the 2,000 best-ranked and says so in
    `ranked_top`."""
    result = selectors.product_search(
        query=filters.q,
        category=selectors.category_get(slug=filters.category) if filters.category else None,
        province_code=filters.province,
        price_min_fen=filters.price_min,
        price_max_fen=filters.price_max,
        in_stock=filters.in_stock,
        poverty_only=filters.poverty,
        certification=filters.certification,
        village=_village(filters.village, "village") if filters.village else None,
        shop=selectors.shop_get(shop_id=filters.shop) if filters.shop else None,
        sort=filters.sort,
        page=filters.page,
        page_size=filters.page_size,
    )
    return {
        "items": result.items,
        "page": result.page,
        "page_size": result.page_size,
        "has_next": result.has_next,
        "total": result.total,
        "total_is_capped": result.total_is_capped,
        "ranked_top": result.ranked_top,
        "sort": result.sort,
    }


@router.get("/products/{product_id}", response=ProductOut, auth=viewer, summary="One product")
def product_detail(request: HttpRequest, product_id: int) -> Product:
    return access_product_view(
        user=request.user, product=selectors.product_get(product_id=product_id)
    )


@router.get("/shops", response=list[ShopListOut], auth=None, summary="Verified shops")
@paginate(LimitOffsetPagination)
def shop_list(request: HttpRequest, village: str | None = None) -> QuerySet[Shop]:
    shops = Shop.objects.filter(status="verified").select_related("village").order_by("-id")
    if village:
        shops = shops.filter(village=_village(village, "village"))
    return shops


@router.get("/shops/{shop_id}", response=ShopOut, auth=viewer, summary="One shop")
def shop_detail(request: HttpRequest, shop_id: int) -> Shop:
    return access_shop_view(user=request.user, shop=selectors.shop_get(shop_id=shop_id))


# --- the seller's shop ------------------------------------------------------------------


@router.get("/my/shop", response=ShopOut, summary="My household's shop")
def my_shop(request: HttpRequest) -> Shop:
    shop = selectors.seller_shop(user=request.auth)
    if shop is None:
        raise NotFound(_("Your household has no shop yet."), field="shop")
    return access_shop_edit(user=request.auth, shop=shop)


@router.post("/shops", response={201: ShopOut}, summary="Open my household's shop")
def shop_open(request: HttpRequest, payload: ShopOpenIn) -> Status:
    household = access_shop_open(user=request.auth)
    shop = services.shop_open(
        actor=request.auth,
        household=household,
        name=payload.name,
        story=payload.story,
        categories=_categories(payload.categories),
    )
    return Status(201, _shop_out(shop))


@router.patch("/shops/{shop_id}", response=ShopOut, summary="Change my shop")
def shop_update(request: HttpRequest, shop_id: int, payload: ShopUpdateIn) -> Shop:
    shop = access_shop_edit(user=request.auth, shop=selectors.shop_get(shop_id=shop_id))
    changes = payload.model_dump(exclude_unset=True)
    if "categories" in changes:
        changes["categories"] = _categories(changes["categories"] or [])
    for key in ("name", "story"):
        if key in changes and changes[key] is None:
            raise ValidationError(_("This field is required."), field=key)
    services.shop_update(actor=request.auth, shop=shop, **changes)
    return _shop_out(shop)


@router.put("/shops/{shop_id}/shipping", response=ShopOut, summary="My shop's shipping fees")
def shop_shipping(request: HttpRequest, shop_id: int, payload: ShippingIn) -> Shop:
    shop = access_shop_edit(user=request.auth, shop=selectors.shop_get(shop_id=shop_id))
    services.shop_shipping_set(actor=request.auth, shop=shop, **payload.model_dump())
    return _shop_out(shop)


@router.post("/shops/{shop_id}/submit", response=ShopOut, summary="Ask for review again")
def shop_submit(request: HttpRequest, shop_id: int) -> Shop:
    shop = access_shop_edit(user=request.auth, shop=selectors.shop_get(shop_id=shop_id))
    services.shop_submit(actor=request.auth, shop=shop)
    return _shop_out(shop)


@router.post(
    "/shops/{shop_id}/photos",
    response={201: PhotoOut},
    summary="Add a photo to my shop",
    openapi_extra=PHOTO_UPLOAD,
)
def shop_photo_add(request: HttpRequest, shop_id: int) -> Status:
    upload_guard(request)
    shop = access_shop_edit(user=request.auth, shop=selectors.shop_get(shop_id=shop_id))
    photo = services.shop_photo_add(actor=request.auth, shop=shop, data=uploaded_photo(request))
    return Status(201, photo)


@router.delete(
    "/shops/{shop_id}/photos/{photo_id}", response={204: None}, summary="Remove a shop photo"
)
def shop_photo_remove(request: HttpRequest, shop_id: int, photo_id: int) -> Status:
    shop = access_shop_edit(user=request.auth, shop=selectors.shop_get(shop_id=shop_id))
    photo = ShopPhoto.objects.filter(pk=photo_id, shop=shop).first()
    if photo is None:
        raise NotFound(_("There is no photo %(id)s.") % {"id": photo_id}, field="photo")
    services.photo_remove(actor=request.auth, photo=photo)
    return Status(204, None)


@router.get(
    "/shops/{shop_id}/products", response=list[ProductCardOut], summary="All my shop's products"
)
@paginate(LimitOffsetPagination)
def shop_products(request: HttpRequest, shop_id: int) -> QuerySet[Product]:
    """Listed or not: for the shop's keepers."""
    shop = access_shop_edit(user=request.auth, shop=selectors.shop_get(shop_id=shop_id))
    return selectors.seller_products(shop=shop).select_related("shop", "origin_village")


@router.post("/shops/{shop_id}/products", response={201: ProductOut}, summary="Add a product")
def product_create(request: HttpRequest, shop_id: int, payload: ProductCreateIn) -> Status:
    shop = access_shop_edit(user=request.auth, shop=selectors.shop_get(shop_id=shop_id))
    data = payload.model_dump()
    product = services.product_create(
        actor=request.auth,
        shop=shop,
        category=_category(data.pop("category")),
        origin_village=_village(data.pop("origin_village")),
        **data,
    )
    return Status(201, _product_out(product))


@router.patch("/products/{product_id}", response=ProductOut, summary="Change my product")
def product_update(request: HttpRequest, product_id: int, payload: ProductUpdateIn) -> Product:
    product = access_product_edit(
        user=request.auth, product=selectors.product_get(product_id=product_id)
    )
    changes = payload.model_dump(exclude_unset=True)
    if "category" in changes:
        changes["category"] = _category(changes["category"] or "")
    if "origin_village" in changes:
        changes["origin_village"] = _village(changes["origin_village"])
    for key in ("name", "description", "status", "harvest_months", "certifications"):
        if key in changes and changes[key] is None:
            raise ValidationError(_("This field is required."), field=key)
    services.product_update(actor=request.auth, product=product, **changes)
    return _product_out(product)


@router.post(
    "/products/{product_id}/variants", response={201: VariantOut}, summary="Add a pack size"
)
def variant_add(request: HttpRequest, product_id: int, payload: VariantIn) -> Status:
    product = access_product_edit(
        user=request.auth, product=selectors.product_get(product_id=product_id)
    )
    variant = services.variant_add(actor=request.auth, product=product, **payload.model_dump())
    return Status(201, variant)


@router.patch("/variants/{variant_id}", response=VariantOut, summary="Change a pack size")
def variant_update(request: HttpRequest, variant_id: int, payload: VariantUpdateIn) -> Variant:
    variant = _variant(variant_id)
    access_product_edit(user=request.auth, product=variant.product)
    changes = payload.model_dump(exclude_unset=True)
    for key, value in changes.items():
        if value is None:
            raise ValidationError(_("This field is required."), field=key)
    return services.variant_update(actor=request.auth, variant=variant, **changes)


@router.post("/variants/{variant_id}/stock", response=VariantOut, summary="Add or take stock")
def variant_stock_adjust(request: HttpRequest, variant_id: int, payload: StockAdjustIn) -> Variant:
    """Relative change in one atomic step: taking more than there is fails with 409
    `out_of_stock` and changes nothing."""
    variant = _variant(variant_id)
    access_product_edit(user=request.auth, product=variant.product)
    services.variant_stock_adjust(
        actor=request.auth, variant=variant, delta=payload.delta, reason=payload.reason
    )
    return variant


@router.post(
    "/products/{product_id}/photos",
    response={201: PhotoOut},
    summary="Add a photo to my product",
    openapi_extra=PHOTO_UPLOAD,
)
def product_photo_add(request: HttpRequest, product_id: int) -> Status:
    upload_guard(request)
    product = access_product_edit(
        user=request.auth, product=selectors.product_get(product_id=product_id)
    )
    photo = services.product_photo_add(
        actor=request.auth, product=product, data=uploaded_photo(request)
    )
    return Status(201, photo)


@router.delete(
    "/products/{product_id}/photos/{photo_id}",
    response={204: None},
    summary="Remove a product photo",
)
def product_photo_remove(request: HttpRequest, product_id: int, photo_id: int) -> Status:
    product = access_product_edit(
        user=request.auth, product=selectors.product_get(product_id=product_id)
    )
    photo = ProductPhoto.objects.filter(pk=photo_id, product=product).first()
    if photo is None:
        raise NotFound(_("There is no photo %(id)s.") % {"id": photo_id}, field="photo")
    services.photo_remove(actor=request.auth, photo=photo)
    return Status(204, None)


# --- review (station agents, county officers) -------------------------------------------


@router.get("/review/shops", response=list[ShopListOut], summary="Shops to review in my area")
@paginate(LimitOffsetPagination)
def review_queue(request: HttpRequest, status: ShopStatusName = "pending") -> QuerySet[Shop]:
    access_review_queue(user=request.auth)
    return selectors.shops_for_review(user=request.auth, status=status)


def _review(request: HttpRequest, shop_id: int, action: str, reason: str = "") -> Shop:
    shop = access_shop_verify(user=request.auth, shop=selectors.shop_get(shop_id=shop_id))
    if action in {"reject", "suspend"}:
        getattr(services, f"shop_{action}")(actor=request.auth, shop=shop, reason=reason)
    else:
        getattr(services, f"shop_{action}")(actor=request.auth, shop=shop)
    return _shop_out(shop)


@router.post("/shops/{shop_id}/verify", response=ShopOut, summary="Verify a shop")
def shop_verify(request: HttpRequest, shop_id: int) -> Shop:
    return _review(request, shop_id, "verify")


@router.post("/shops/{shop_id}/reject", response=ShopOut, summary="Reject a shop (reason)")
def shop_reject(request: HttpRequest, shop_id: int, payload: ReasonIn) -> Shop:
    return _review(request, shop_id, "reject", payload.reason)


@router.post("/shops/{shop_id}/suspend", response=ShopOut, summary="Suspend a shop (reason)")
def shop_suspend(request: HttpRequest, shop_id: int, payload: ReasonIn) -> Shop:
    return _review(request, shop_id, "suspend", payload.reason)


@router.post("/shops/{shop_id}/reopen", response=ShopOut, summary="Reopen a suspended shop")
def shop_reopen(request: HttpRequest, shop_id: int) -> Shop:
    return _review(request, shop_id, "reopen")
