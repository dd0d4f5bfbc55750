"""Reads of the marketplace catalog, shared by pages, the API and the CLI.

Listing and search read one table (``market_product``) with its derived columns and
indexes; cards need their shop, village and first photo, fetched in two more queries
whatever the page size. Counts stop at ``TOTAL_CAP`` ("more than 2,000": 100 pages of 20,
as on Taobao): nobody pages further, and counting every match of a broad query over a
million products would cost more than the page itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import F, Prefetch, Q, QuerySet
from django.db.models.expressions import OrderBy
from django.utils import timezone
from django.utils.translation import gettext as _

from taocun.core.chinatime import china_datetime
from taocun.core.errors import NotFound, ValidationError
from taocun.market import search
from taocun.market.access import review_prefixes
from taocun.market.models import (
    PRICE_MAX_FEN,
    Category,
    Certification,
    Product,
    ProductPhoto,
    Shop,
    ShopStatus,
    Variant,
)
from taocun.regions.models import Division, Level, Poverty

PAGE_SIZE = 20
PAGE_SIZE_MAX = 50
TOTAL_CAP = 2_000
# A sorted search with words sorts its matches itself when there are at most this many
# (and at least TOTAL_CAP): below it, fetching every match costs less than walking a
# sorted index past the products that do not match (docs/market.md).
SORT_AS_FOUND_MAX = 5_000
SORTS = ("relevance", "newest", "price_asc", "price_desc", "sales", "rating")
_PROVINCE = re.compile(r"^\d{2}$")


# --- categories -------------------------------------------------------------------------


def category_list() -> list[Category]:
    """Active top-level categories, each with its active children (``children_list``)."""
    categories = list(Category.objects.filter(is_active=True).order_by("position", "slug"))
    children: dict[int, list[Category]] = {}
    for category in categories:
        if category.parent_id:
            children.setdefault(category.parent_id, []).append(category)
    tops = [c for c in categories if c.parent_id is None]
    for top in tops:
        top.children_list = children.get(top.pk, [])
    return tops


def category_get(*, slug: str) -> Category:
    category = Category.objects.select_related("parent").filter(slug=slug, is_active=True).first()
    if category is None:
        raise NotFound(_("There is no category %(slug)s.") % {"slug": slug}, field="category")
    return category


def commission_rate_bp_for(*, product: Product) -> int:
    """The platform's commission on a sale of ``product``: its category's rate, waived
    (0) for a shop of a registered-poor household. Checkout passes it to payments."""
    if product.shop.household.registered_poor:
        return 0
    return product.category.commission_rate_bp


# --- shops ------------------------------------------------------------------------------


def shop_get(*, shop_id: int) -> Shop:
    shop = (
        Shop.objects.select_related("village__parent", "county", "household")
        .prefetch_related("categories", "photos")
        .filter(pk=shop_id)
        .first()
    )
    if shop is None:
        raise NotFound(_("There is no shop %(id)s.") % {"id": shop_id}, field="shop")
    return shop


def seller_shop(*, user) -> Shop | None:
    """The shop of the user's household, if it has one."""
    if not getattr(user, "is_authenticated", False) or user.household_id is None:
        return None
    return (
        Shop.objects.select_related("village", "county")
        .prefetch_related("categories", "photos")
        .filter(household_id=user.household_id)
        .first()
    )


def seller_products(*, shop: Shop) -> QuerySet[Product]:
    """All of a shop's products, listed or not, for its keepers."""
    return (
        Product.objects.filter(shop=shop)
        .select_related("category")
        .prefetch_related(_first_photos(), "variants")
        .order_by("-id")
    )


def shops_for_review(*, user, status: str = ShopStatus.PENDING) -> QuerySet[Shop]:
    """Shops in ``status`` whose villages the user reviews (oldest first: a queue)."""
    if status not in ShopStatus.values:
        raise ValidationError(_("Unknown status %(status)s.") % {"status": status}, field="status")
    shops = Shop.objects.filter(status=status).select_related("village", "county", "household")
    prefixes = review_prefixes(user)
    if prefixes is not None:
        if not prefixes:
            return shops.none()
        scope = Q()
        for prefix in prefixes:
            scope |= Q(village__code__startswith=prefix)
        shops = shops.filter(scope)
    return shops.order_by("created_at", "id")


def village_shops(*, village: Division) -> QuerySet[Shop]:
    return Shop.objects.filter(village=village, status=ShopStatus.VERIFIED).order_by("name")


# --- products ---------------------------------------------------------------------------


def _first_photos() -> Prefetch:
    return Prefetch("photos", queryset=ProductPhoto.objects.order_by("position", "id"))


def product_get(*, product_id: int) -> Product:
    """One product with its shop (and household), category (and parent), packs, photos,
    certifications, origin village and county, and its shop's village and county.

    The places come in a query of their own: joined into the product's, they made
    PostgreSQL plan a nine-table join for every product page (4–5 ms of planning for 0.3 ms
    of work at a million products); apart, the product query plans in under 1 ms and the
    places are one primary-key lookup."""
    product = (
        Product.objects.select_related("shop__household", "category__parent")
        .prefetch_related(
            Prefetch("variants", queryset=Variant.objects.order_by("position", "id")),
            _first_photos(),
            "certifications",
        )
        .filter(pk=product_id)
        .first()
    )
    if product is None:
        raise NotFound(_("There is no product %(id)s.") % {"id": product_id}, field="product")
    shop = product.shop
    places = Division.objects.in_bulk(
        {product.origin_village_id, product.origin_county_id, shop.village_id, shop.county_id}
        - {None}
    )
    product.origin_village = places[product.origin_village_id]
    product.origin_county = places.get(product.origin_county_id)
    shop.village = places[shop.village_id]
    shop.county = places.get(shop.county_id)
    return product


def poverty_county_codes() -> list[str]:
    """Counties with a poverty designation (national or provincial): a few hundred codes."""
    return list(
        Division.objects.filter(level=Level.COUNTY)
        .exclude(poverty=Poverty.NONE)
        .values_list("code", flat=True)
    )


@dataclass
class SearchResult:
    items: list[Product]
    page: int
    page_size: int
    has_next: bool
    total: int
    total_is_capped: bool
    sort: str
    terms: list[str] = field(default_factory=list)
    # Set when "best match" ranked only this many of more matches: the first ones in
    # search-rank order (see market.search).
    ranked_top: int | None = None
    # How "best match" found its candidates (market.search.BestMatches.path), for benchmarks.
    search_path: str = ""

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def last_page(self) -> int:
        return max(1, -(-self.total // self.page_size))


def _bounded_fen(value: int | None, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= PRICE_MAX_FEN:
        raise ValidationError(_("A price filter is between ¥0 and ¥1,000,000."), field=name)
    return value


def product_search(
    *,
    query: str = "",
    category: Category | None = None,
    province_code: str | None = None,
    price_min_fen: int | None = None,
    price_max_fen: int | None = None,
    in_stock: bool = False,
    poverty_only: bool = False,
    certification: str | None = None,
    village: Division | None = None,
    shop: Shop | None = None,
    sort: str = "relevance",
    page: int = 1,
    page_size: int = PAGE_SIZE,
) -> SearchResult:
    """Listed products matching the query and filters, one page of them, sorted.

    A product's price for filters and sorting is its lowest variant price.
    """
    terms = search.search_terms(query)
    if sort not in SORTS:
        raise ValidationError(_("Unknown sort order %(sort)s.") % {"sort": sort}, field="sort")
    if isinstance(page_size, bool) or not isinstance(page_size, int):
        raise ValidationError(_("Expected a whole number."), field="page_size")
    page_size = max(1, min(page_size, PAGE_SIZE_MAX))
    last_page = TOTAL_CAP // page_size
    if isinstance(page, bool) or not isinstance(page, int) or not 1 <= page <= last_page:
        raise ValidationError(
            _("The page is a number from 1 to %(last)d.") % {"last": last_page}, field="page"
        )
    price_min_fen = _bounded_fen(price_min_fen, "price_min")
    price_max_fen = _bounded_fen(price_max_fen, "price_max")
    if price_min_fen is not None and price_max_fen is not None and price_min_fen > price_max_fen:
        raise ValidationError(_("The lowest price is above the highest price."), field="price_min")

    products = Product.objects.filter(is_listed=True)
    if category is not None:
        # Categories are two levels deep: a top category's page lists its children's
        # products too (one equality on category_root, which the sorted indexes lead with).
        products = (
            products.filter(category_root_id=category.pk)
            if category.parent_id is None
            else products.filter(category_root_id=category.parent_id, category_id=category.pk)
        )
    if province_code:
        if not _PROVINCE.match(province_code):
            raise ValidationError(
                _("A province is given by the first 2 digits of its code."), field="province"
            )
        products = products.filter(province_code=province_code)
    if price_min_fen is not None:
        products = products.filter(price_min_fen__gte=price_min_fen)
    if price_max_fen is not None:
        products = products.filter(price_min_fen__lte=price_max_fen)
    if in_stock:
        products = products.filter(in_stock=True)
    if poverty_only:
        products = products.filter(origin_county_id__in=poverty_county_codes())
    if certification:
        if certification not in Certification.values:
            raise ValidationError(
                _("Unknown certification %(kind)s.") % {"kind": certification},
                field="certification",
            )
        products = products.filter(certifications__kind=certification)
    if village is not None:
        products = products.filter(origin_village=village)
    if shop is not None:
        products = products.filter(shop=shop)
    offset = (page - 1) * page_size
    # PostgreSQL: memory for exact bitmaps while terms are matched (search.search_memory).
    with search.search_memory(terms):
        best = None
        if sort == "relevance" and terms:
            # Best match ranks the first TOTAL_CAP matches in search-rank order (all of them
            # when there are no more): every page there is, without ranking every match.
            best = search.search_best_matches(
                products, terms=terms, offset=offset, limit=page_size + 1, candidates_max=TOTAL_CAP
            )
            ids = best.ids
        else:
            keys = _SORT_KEYS[sort]
            products = search.search_filter(products, terms=terms)
            total = None
            found = None
            if terms:
                # Words first: the matches with their sort keys, through the word indexes,
                # up to SORT_AS_FOUND_MAX + 1. When that is all of them (a rare word, or
                # words with narrow filters), they are sorted here: walking the sorted index
                # instead tests the words on every product it passes, and reads the whole
                # catalog for a word nobody sells (榴莲 by price: 2.1 s at a million
                # products). More matches are met soon enough down the sorted index.
                found_max = max(SORT_AS_FOUND_MAX, TOTAL_CAP)
                names = [name for name, _descending in keys]
                found = list(products.order_by().values_list(*names)[: found_max + 1])
                total = len(found)
                if total > found_max:
                    found = None
            if found is not None:
                # Rows of the sort keys, which end with the id: sorted as they are.
                (descending,) = {descending for _name, descending in keys}
                found.sort(reverse=descending)
                ids = [row[-1] for row in found[offset : offset + page_size + 1]]
            else:
                # Sort and cut on the product table alone, then fetch the page's cards with
                # their shop, village and photos: the joins run for 21 rows, not for every
                # match.
                ordering = [OrderBy(F(name), descending=descending) for name, descending in keys]
                page_ids = products.order_by(*ordering).values_list("id", flat=True)
                ids = list(page_ids[offset : offset + page_size + 1])
        by_id = {
            product.pk: product
            for product in Product.objects.filter(pk__in=ids)
            .select_related("shop", "origin_village")
            .prefetch_related(_first_photos())
        }
        rows = [by_id[pk] for pk in ids if pk in by_id]
        has_next = len(rows) > page_size and page < last_page
        items = rows[:page_size]
        if best is not None:
            total = best.matches  # the candidates, counted up to TOTAL_CAP + 1
        elif total is None:  # no words: counted now, when the page does not tell
            if page == 1 and not has_next:
                total = len(items)
            else:
                total = products.order_by().values("id")[: TOTAL_CAP + 1].count()
        return SearchResult(
            items=items,
            page=page,
            page_size=page_size,
            has_next=has_next,
            total=min(total, TOTAL_CAP),
            total_is_capped=total > TOTAL_CAP,
            sort=sort,
            terms=terms,
            ranked_top=TOTAL_CAP if best is not None and total > TOTAL_CAP else None,
            search_path=best.path if best is not None else "",
        )


# Sort orders as (field, descending) keys; every order ends with the id, so pages are stable.
# The fields are NOT NULL whole numbers and each order runs in one direction: a search with
# words may sort the rows of its matches' keys in Python, which must give the database's
# order (tuples of whole numbers compared as they are: no key function to call per row).
_SORT_KEYS: dict[str, tuple[tuple[str, bool], ...]] = {
    # Without words, best match is best selling, then newest.
    "relevance": (("sold_count", True), ("id", True)),
    "newest": (("id", True),),
    "price_asc": (("price_min_fen", False), ("id", False)),
    "price_desc": (("price_min_fen", True), ("id", True)),
    "sales": (("sold_count", True), ("id", True)),
    "rating": (("rating_avg_centi", True), ("id", True)),
}


def product_cards(products: QuerySet[Product], *, limit: int) -> list[Product]:
    return list(
        products.select_related("shop", "origin_village").prefetch_related(_first_photos())[:limit]
    )


def home_sections(*, now: datetime | None = None, limit: int = 8) -> dict:
    """What the storefront home shows: featured categories, new products, products from
    poverty counties, and products in their harvest season this month (China time)."""
    month = china_datetime(now or timezone.now()).month
    listed = Product.objects.filter(is_listed=True)
    poverty_codes = poverty_county_codes()
    in_season = (
        listed.annotate(in_month=F("harvest_months").bitand(1 << (month - 1)))
        .filter(in_month__gt=0)
        .order_by("-id")
    )
    return {
        "featured_categories": [c for c in category_list() if c.is_featured],
        "new_products": product_cards(listed.order_by("-id"), limit=limit),
        "poverty_products": product_cards(
            listed.filter(origin_county_id__in=poverty_codes).order_by("-sold_count", "-id"),
            limit=limit,
        )
        if poverty_codes
        else [],
        "in_season_products": product_cards(in_season, limit=limit),
        "month": month,
    }
