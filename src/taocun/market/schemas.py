"""Shapes of the market API. Money is integer fen everywhere (``price_fen: 3990`` is
¥39.90); weights are grams; dates are ISO 8601 (China dates)."""

from datetime import date, datetime
from typing import Literal

from ninja import Field, Schema

from taocun.market.models import Product, Shop
from taocun.regions.schemas import Text

Sort = Literal["relevance", "newest", "price_asc", "price_desc", "sales", "rating"]
UnitName = Literal["jin", "kg", "piece", "box", "bag", "bottle", "jar", "case"]
CertificationKind = Literal["organic", "green_food", "geo_indication", "pollution_free"]
ShopStatusName = Literal["pending", "verified", "rejected", "suspended"]


# --- categories -------------------------------------------------------------------------


class CategoryOut(Schema):
    slug: str
    name: str = Field(description="In the request's language")
    name_zh_hans: str
    name_en: str
    name_fr: str
    parent: str | None = Field(None, description="Slug of the parent category")
    commission_rate_bp: int = Field(description="Platform commission in basis points")

    @staticmethod
    def resolve_parent(obj) -> str | None:
        return obj.parent.slug if obj.parent_id else None


class CategoryTreeOut(CategoryOut):
    children: list[CategoryOut]

    @staticmethod
    def resolve_children(obj) -> list:
        return getattr(obj, "children_list", [])


# --- shared pieces ----------------------------------------------------------------------


class PlaceOut(Schema):
    code: str
    name: str


class PhotoOut(Schema):
    id: int
    url: str
    thumbnail_url: str
    width: int
    height: int
    position: int

    @staticmethod
    def resolve_url(obj) -> str:
        return obj.image.url

    @staticmethod
    def resolve_thumbnail_url(obj) -> str:
        return obj.thumbnail.url


# --- shops ------------------------------------------------------------------------------


class ShippingIn(Schema):
    mode: Literal["flat", "weight"]
    flat_fen: int = Field(0, description="Flat mode: fee per order")
    base_fen: int = Field(0, description="Weight mode: fee per order")
    per_kg_fen: int = Field(0, description="Weight mode: fee per started kilogram")
    free_shipping_threshold_fen: int | None = Field(
        None, description="Orders of at least this amount ship free; null: never"
    )
    handling_days: int = Field(2, description="Days the shop needs to ship")


class ShippingOut(ShippingIn):
    pass


class ShopOpenIn(Schema):
    name: Text = Field(max_length=100)
    story: Text = Field("", max_length=4000)
    categories: list[str] = Field(default_factory=list, description="Category slugs")


class ShopUpdateIn(Schema):
    name: Text | None = Field(None, max_length=100)
    story: Text | None = Field(None, max_length=4000)
    categories: list[str] | None = None


class ReasonIn(Schema):
    reason: Text = Field("", max_length=600)


class ShopOut(Schema):
    id: int
    name: str
    story: str
    status: ShopStatusName
    status_reason: str
    can_sell: bool
    village: PlaceOut
    county: PlaceOut | None = None
    province_code: str
    categories: list[str]
    photos: list[PhotoOut]
    shipping: ShippingOut
    rating_average: float | None = None
    rating_count: int
    created_at: datetime
    verified_at: datetime | None = None

    @staticmethod
    def resolve_categories(obj: Shop) -> list[str]:
        return [c.slug for c in obj.categories.all()]

    @staticmethod
    def resolve_photos(obj: Shop) -> list:
        return list(obj.photos.all())

    @staticmethod
    def resolve_shipping(obj: Shop) -> dict:
        return {
            "mode": obj.shipping_mode,
            "flat_fen": obj.shipping_flat_fen,
            "base_fen": obj.shipping_base_fen,
            "per_kg_fen": obj.shipping_per_kg_fen,
            "free_shipping_threshold_fen": obj.free_shipping_threshold_fen,
            "handling_days": obj.handling_days,
        }


class ShopListOut(Schema):
    id: int
    name: str
    status: ShopStatusName
    village: PlaceOut
    rating_average: float | None = None
    created_at: datetime


# --- products ---------------------------------------------------------------------------


class VariantIn(Schema):
    label: Text = Field(max_length=60)
    sku: Text = Field("", max_length=80)
    unit: UnitName = "box"
    weight_g: int
    price_fen: int
    stock: int = 0


class VariantUpdateIn(Schema):
    label: Text | None = Field(None, max_length=60)
    sku: Text | None = Field(None, max_length=80)
    unit: UnitName | None = None
    weight_g: int | None = None
    price_fen: int | None = None
    stock: int | None = Field(None, description="An absolute count (see also /stock)")
    is_active: bool | None = None


class StockAdjustIn(Schema):
    delta: int = Field(description="Units to add (negative to take)")
    reason: Text = Field("", max_length=600)


class VariantOut(Schema):
    id: int
    label: str
    sku: str
    unit: UnitName
    weight_g: int
    price_fen: int
    stock: int
    is_active: bool


class CertificationIn(Schema):
    kind: CertificationKind
    number: Text = Field("", max_length=100)


class CertificationOut(CertificationIn):
    pass


class ProductCreateIn(Schema):
    category: str = Field(description="Category slug")
    name: Text = Field(max_length=120)
    description: Text = Field("", max_length=10000)
    origin_village: str | None = Field(
        None, description="12-digit village code; default: the shop's village"
    )
    harvest_months: list[int] = Field(default_factory=list, description="1–12")
    presale_ship_date: date | None = None
    shelf_life_days: int | None = None
    certifications: list[CertificationIn] = Field(default_factory=list)
    variants: list[VariantIn] = Field(min_length=1)


class ProductUpdateIn(Schema):
    category: str | None = None
    name: Text | None = Field(None, max_length=120)
    description: Text | None = Field(None, max_length=10000)
    origin_village: str | None = None
    harvest_months: list[int] | None = None
    presale_ship_date: date | None = None
    shelf_life_days: int | None = None
    certifications: list[CertificationIn] | None = None
    status: Literal["active", "inactive"] | None = None


class ProductCardOut(Schema):
    id: int
    name: str
    price_min_fen: int
    price_max_fen: int
    in_stock: bool
    thumbnail_url: str | None = None
    shop_id: int
    shop_name: str
    village: PlaceOut
    sold_count: int
    rating_average: float | None = None

    @staticmethod
    def resolve_thumbnail_url(obj: Product) -> str | None:
        photos = list(obj.photos.all())
        return photos[0].thumbnail.url if photos else None

    @staticmethod
    def resolve_shop_name(obj: Product) -> str:
        return obj.shop.name

    @staticmethod
    def resolve_village(obj: Product):
        return obj.origin_village


class ProductOut(Schema):
    id: int
    name: str
    description: str
    status: Literal["active", "inactive"]
    is_listed: bool
    category: str
    shop: ShopListOut
    origin_village: PlaceOut
    origin_county: PlaceOut | None = None
    province_code: str
    harvest_months: list[int]
    presale_ship_date: date | None = None
    shelf_life_days: int | None = None
    certifications: list[CertificationOut]
    price_min_fen: int
    price_max_fen: int
    in_stock: bool
    variants: list[VariantOut]
    photos: list[PhotoOut]
    sold_count: int
    rating_average: float | None = None
    rating_count: int
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_category(obj: Product) -> str:
        return obj.category.slug

    @staticmethod
    def resolve_harvest_months(obj: Product) -> list[int]:
        return obj.months

    @staticmethod
    def resolve_certifications(obj: Product) -> list:
        return list(obj.certifications.all())

    @staticmethod
    def resolve_variants(obj: Product) -> list:
        return list(obj.variants.all())

    @staticmethod
    def resolve_photos(obj: Product) -> list:
        return list(obj.photos.all())


class ProductSearchIn(Schema):
    q: Text = Field("", max_length=120, description="Words to find; Chinese substrings work")
    category: str | None = Field(None, description="Category slug (includes its children)")
    province: str | None = Field(None, description="First 2 digits of a province code")
    price_min: int | None = Field(None, ge=0, description="Lowest price in fen")
    price_max: int | None = Field(None, ge=0, description="Highest price in fen")
    in_stock: bool = False
    poverty: bool = Field(False, description="Only products from poverty counties")
    certification: CertificationKind | None = None
    village: str | None = Field(None, description="12-digit village code of origin")
    shop: int | None = None
    sort: Sort = "relevance"
    page: int = Field(1, ge=1)
    page_size: int = Field(20, ge=1, le=50)


class ProductSearchOut(Schema):
    items: list[ProductCardOut]
    page: int
    page_size: int
    has_next: bool
    total: int
    total_is_capped: bool = Field(description="True when there are more than `total` matches")
    ranked_top: int | None = Field(
        None,
        description="Set when `relevance` ranked only this many of more matches: the "
        "best-ranked ones (units sold, ratings, a concise name, then newest)",
    )
    sort: Sort
