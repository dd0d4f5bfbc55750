"""The marketplace catalog: household shops, categories, products, variants and photos.

Rows are written only through :mod:`taocun.market.services`, which validate, keep the
denormalised columns (a product's price range, stock flag, listing flag and search text)
in step with their sources, and audit. The limits below are the product rules; the check
constraints repeat the ones that must hold even if a bug or a hand-written query slips past
the services (stock never negative, prices positive and bounded).

The ``orders`` and ``reviews`` apps build on these models: a variant has its own price and
stock, a shop its shipping settings, a category its commission rate, and shops and products
carry the rating aggregates that reviews keep.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from taocun.core.models import TimeStampedModel

# Product rules shared by models, services and forms.
PRICE_MAX_FEN = 100_000_000  # ¥1,000,000 per unit
STOCK_MAX = 1_000_000
WEIGHT_MAX_G = 1_000_000  # one tonne: beyond that it is freight, not a parcel
SHIPPING_FEE_MAX_FEN = 1_000_000  # ¥10,000
FREE_SHIPPING_THRESHOLD_MAX_FEN = PRICE_MAX_FEN
COMMISSION_MAX_BP = 10_000
ALL_MONTHS_MASK = (1 << 12) - 1
LISTED = Q(is_listed=True)


class Category(TimeStampedModel):
    """A kind of farm product or specialty. Names in the three site languages are data
    (seeded by a migration), so the storefront shows them without a catalogue entry.

    ``commission_rate_bp`` is the platform's commission on sales in this category, in basis
    points (250 = 2.5 %); 0 is allowed.
    """

    slug = models.SlugField(_("slug"), max_length=40, unique=True)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    name_zh_hans = models.CharField(_("name (Chinese)"), max_length=40)
    name_en = models.CharField(_("name (English)"), max_length=60)
    name_fr = models.CharField(_("name (French)"), max_length=60)
    commission_rate_bp = models.PositiveIntegerField(_("commission rate (basis points)"))
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    is_featured = models.BooleanField(_("featured on the home page"), default=False)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["position", "slug"]
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        constraints = [
            models.CheckConstraint(
                condition=Q(commission_rate_bp__lte=COMMISSION_MAX_BP),
                name="market_category_commission_within_100_percent",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        """The name in the active language (Chinese when the language is unknown)."""
        language = (get_language() or "zh-hans").lower()
        if language.startswith("en"):
            return self.name_en
        if language.startswith("fr"):
            return self.name_fr
        return self.name_zh_hans


class ShopStatus(models.TextChoices):
    PENDING = "pending", _("awaiting verification")
    VERIFIED = "verified", _("verified")
    REJECTED = "rejected", _("rejected")
    SUSPENDED = "suspended", _("suspended")


class ShippingMode(models.TextChoices):
    FLAT = "flat", _("flat fee per order")
    WEIGHT = "weight", _("base fee plus a fee per kilogram")


class Shop(TimeStampedModel):
    """A household's shop. It sells only once a station agent or the county officer whose
    scope covers its village has verified it.

    ``village`` is the household's village (copied when the shop opens, so listing pages
    need no join through households); ``county`` and ``province_code`` are derived from it
    for filters.
    """

    household = models.OneToOneField(
        "regions.Household",
        verbose_name=_("household"),
        on_delete=models.PROTECT,
        related_name="market_shop",
    )
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("opened by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    name = models.CharField(_("name"), max_length=30, unique=True)
    story = models.TextField(_("story"), blank=True, max_length=2000)
    village = models.ForeignKey(
        "regions.Division",
        verbose_name=_("village"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    county = models.ForeignKey(
        "regions.Division",
        verbose_name=_("county"),
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    province_code = models.CharField(_("province code"), max_length=2)
    categories = models.ManyToManyField(
        Category, verbose_name=_("categories"), blank=True, related_name="shops"
    )
    status = models.CharField(
        _("status"), max_length=10, choices=ShopStatus.choices, default=ShopStatus.PENDING
    )
    status_reason = models.CharField(_("reason"), max_length=300, blank=True)
    status_changed_at = models.DateTimeField(_("status changed at"), null=True, blank=True)
    status_changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("status changed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True)

    # Shipping settings, read by checkout until the logistics app refines them.
    shipping_mode = models.CharField(
        _("shipping mode"), max_length=10, choices=ShippingMode.choices, default=ShippingMode.FLAT
    )
    shipping_flat_fen = models.PositiveIntegerField(_("flat shipping fee (fen)"), default=0)
    shipping_base_fen = models.PositiveIntegerField(_("base shipping fee (fen)"), default=0)
    shipping_per_kg_fen = models.PositiveIntegerField(_("shipping fee per kg (fen)"), default=0)
    free_shipping_threshold_fen = models.BigIntegerField(
        _("free shipping from (fen)"),
        null=True,
        blank=True,
        help_text=_("Orders of at least this amount ship free; empty: never free."),
    )
    handling_days = models.PositiveSmallIntegerField(_("days to ship"), default=2)

    # Aggregates kept by the review service (later); products carry their own.
    rating_sum = models.PositiveIntegerField(_("sum of ratings"), default=0)
    rating_count = models.PositiveIntegerField(_("number of ratings"), default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("shop")
        verbose_name_plural = _("shops")
        indexes = [
            models.Index(fields=["status", "village"], name="market_shop_status_village"),
            models.Index(fields=["status", "county"], name="market_shop_status_county"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(shipping_flat_fen__lte=SHIPPING_FEE_MAX_FEN)
                & Q(shipping_base_fen__lte=SHIPPING_FEE_MAX_FEN)
                & Q(shipping_per_kg_fen__lte=SHIPPING_FEE_MAX_FEN),
                name="market_shop_shipping_fees_bounded",
            ),
            models.CheckConstraint(
                condition=Q(free_shipping_threshold_fen__isnull=True)
                | Q(free_shipping_threshold_fen__gt=0),
                name="market_shop_free_shipping_threshold_positive",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def can_sell(self) -> bool:
        return self.status == ShopStatus.VERIFIED

    @property
    def rating_average(self) -> float | None:
        """Average stars (1–5) for display; None until the first rating."""
        return self.rating_sum / self.rating_count if self.rating_count else None


class ProductStatus(models.TextChoices):
    ACTIVE = "active", _("on sale")
    INACTIVE = "inactive", _("taken off sale")


class Certification(models.TextChoices):
    ORGANIC = "organic", _("organic (有机产品)")
    GREEN_FOOD = "green_food", _("green food (绿色食品)")
    GEOGRAPHICAL_INDICATION = "geo_indication", _("geographical indication (地理标志)")
    POLLUTION_FREE = "pollution_free", _("pollution-free (无公害农产品)")


class Unit(models.TextChoices):
    JIN = "jin", _("jin (斤, 500 g)")
    KG = "kg", _("kilogram")
    PIECE = "piece", _("piece")
    BOX = "box", _("box")
    BAG = "bag", _("bag")
    BOTTLE = "bottle", _("bottle")
    JAR = "jar", _("jar")
    CASE = "case", _("case")


class Product(TimeStampedModel):
    """A product of a shop, sold in one or more variants (pack sizes).

    The columns after ``shelf_life_days`` are derived by the services from the product's
    variants, its shop's status and its texts, so that listing and search pages filter and
    sort on one table with plain indexes. ``search_text`` is the normalised text searched
    (name, category, certifications, places, shop); ``market.search`` indexes it.
    """

    # Foreign keys without their own index: the composite indexes in Meta lead with them.
    shop = models.ForeignKey(
        Shop,
        verbose_name=_("shop"),
        on_delete=models.PROTECT,
        related_name="products",
        db_index=False,
    )
    category = models.ForeignKey(
        Category,
        verbose_name=_("category"),
        on_delete=models.PROTECT,
        related_name="products",
        db_index=False,
    )
    category_root = models.ForeignKey(
        Category,
        verbose_name=_("top category"),
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        help_text=_("The category itself, or its parent: what a top category's page lists."),
    )
    name = models.CharField(_("name"), max_length=60)
    description = models.TextField(_("description"), blank=True, max_length=5000)
    origin_village = models.ForeignKey(
        "regions.Division",
        verbose_name=_("origin village"),
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    origin_county = models.ForeignKey(
        "regions.Division",
        verbose_name=_("origin county"),
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    province_code = models.CharField(_("province code"), max_length=2)
    harvest_months = models.PositiveSmallIntegerField(
        _("harvest months"),
        default=0,
        help_text=_("Bit 0 is January … bit 11 is December; 0 when not seasonal."),
    )
    presale_ship_date = models.DateField(
        _("pre-sale ship date"),
        null=True,
        blank=True,
        help_text=_("For pre-sale products: the day shipping starts (China time)."),
    )
    shelf_life_days = models.PositiveIntegerField(_("shelf life (days)"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=ProductStatus.choices, default=ProductStatus.ACTIVE
    )

    # Derived by the services (see the class docstring).
    is_listed = models.BooleanField(_("listed"), default=False)
    price_min_fen = models.BigIntegerField(_("lowest price (fen)"), default=0)
    price_max_fen = models.BigIntegerField(_("highest price (fen)"), default=0)
    in_stock = models.BooleanField(_("in stock"), default=False)
    search_text = models.TextField(_("search text"), blank=True, default="")
    # Written only by ``market.search`` (from sales, ratings and the name's length; see
    # ``search.search_rank_expression``): on SQLite it is part of the search index's key.
    search_rank = models.PositiveSmallIntegerField(
        _("search rank"),
        default=0,
        db_default=0,
        help_text=_("Which matches of a broad search are ranked first: higher is better."),
    )

    # Aggregates kept by the order and review services (later).
    sold_count = models.PositiveIntegerField(_("units sold"), default=0)
    rating_sum = models.PositiveIntegerField(_("sum of ratings"), default=0)
    rating_count = models.PositiveIntegerField(_("number of ratings"), default=0)
    rating_avg_centi = models.PositiveSmallIntegerField(
        _("average rating ×100"), default=0, help_text=_("For sorting: 450 is 4.5 stars.")
    )

    class Meta:
        ordering = ["-id"]
        verbose_name = _("product")
        verbose_name_plural = _("products")
        # Listing pages show listed products only, filtered by one column and sorted by id
        # (newest), price or sales. Partial indexes (WHERE is_listed) hold just those rows
        # and give them already sorted; a top category's page filters on category_root
        # (one value, not the list of its children) for the same reason.
        indexes = [
            models.Index(fields=["id"], name="market_listed_new", condition=LISTED),
            models.Index(
                fields=["price_min_fen", "id"], name="market_listed_price", condition=LISTED
            ),
            models.Index(fields=["sold_count", "id"], name="market_listed_sold", condition=LISTED),
            models.Index(
                fields=["rating_avg_centi", "id"], name="market_listed_rating", condition=LISTED
            ),
            models.Index(fields=["category_root", "id"], name="market_root_new", condition=LISTED),
            models.Index(
                fields=["category_root", "price_min_fen", "id"],
                name="market_root_price",
                condition=LISTED,
            ),
            models.Index(
                fields=["category_root", "sold_count", "id"],
                name="market_root_sold",
                condition=LISTED,
            ),
            models.Index(fields=["category", "id"], name="market_category_new", condition=LISTED),
            models.Index(
                fields=["province_code", "id"], name="market_province_new", condition=LISTED
            ),
            models.Index(
                fields=["origin_county", "id"], name="market_county_new", condition=LISTED
            ),
            models.Index(
                fields=["origin_village", "id"], name="market_village_new", condition=LISTED
            ),
            # "Best match" of a broad search takes the first matches in this order (see
            # market.search). On PostgreSQL it also holds the text, the name and the filter
            # columns, so that walking it never reads the table; SQLite ignores INCLUDE.
            models.Index(
                fields=["search_rank", "id"],
                include=[
                    "search_text",
                    "name",
                    "category_root",
                    "category",
                    "province_code",
                    "price_min_fen",
                    "in_stock",
                    "origin_county",
                    "origin_village",
                    "shop",
                ],
                name="market_listed_rank",
                condition=LISTED,
            ),
            # All of a shop's products, listed or not: the seller's pages.
            models.Index(fields=["shop", "id"], name="market_product_shop"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(harvest_months__lte=ALL_MONTHS_MASK),
                name="market_product_harvest_months_mask",
            ),
            models.CheckConstraint(
                condition=Q(price_min_fen__gte=0) & Q(price_max_fen__gte=models.F("price_min_fen")),
                name="market_product_price_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def months(self) -> list[int]:
        """Harvest months as numbers 1–12."""
        return [month for month in range(1, 13) if self.harvest_months & (1 << (month - 1))]

    @property
    def rating_average(self) -> float | None:
        return self.rating_sum / self.rating_count if self.rating_count else None


class Variant(TimeStampedModel):
    """One way a product is sold: a pack size with its own price, weight and stock.

    Stock is changed only by ``variant_stock_set`` / ``variant_stock_adjust`` (one
    conditional UPDATE each), and the database refuses a negative value whatever the path.
    """

    product = models.ForeignKey(
        Product, verbose_name=_("product"), on_delete=models.CASCADE, related_name="variants"
    )
    label = models.CharField(_("label"), max_length=30)
    sku = models.CharField(_("SKU"), max_length=40)
    unit = models.CharField(_("unit"), max_length=10, choices=Unit.choices, default=Unit.BOX)
    weight_g = models.PositiveIntegerField(_("weight (g)"))
    price_fen = models.BigIntegerField(_("price (fen)"))
    stock = models.IntegerField(_("stock"), default=0)
    is_active = models.BooleanField(_("on sale"), default=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["product_id", "position", "id"]
        verbose_name = _("variant")
        verbose_name_plural = _("variants")
        constraints = [
            models.UniqueConstraint(fields=["product", "sku"], name="market_variant_sku_unique"),
            models.CheckConstraint(
                condition=Q(stock__gte=0) & Q(stock__lte=STOCK_MAX),
                name="market_variant_stock_within_bounds",
            ),
            models.CheckConstraint(
                condition=Q(price_fen__gt=0) & Q(price_fen__lte=PRICE_MAX_FEN),
                name="market_variant_price_within_bounds",
            ),
            models.CheckConstraint(
                condition=Q(weight_g__gt=0) & Q(weight_g__lte=WEIGHT_MAX_G),
                name="market_variant_weight_within_bounds",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product_id} {self.label}"


class ProductCertification(TimeStampedModel):
    """A certification a product carries, with the certificate number when there is one."""

    product = models.ForeignKey(
        Product,
        verbose_name=_("product"),
        on_delete=models.CASCADE,
        related_name="certifications",
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Certification.choices)
    number = models.CharField(_("certificate number"), max_length=50, blank=True)

    class Meta:
        ordering = ["product_id", "kind"]
        verbose_name = _("certification")
        verbose_name_plural = _("certifications")
        constraints = [
            models.UniqueConstraint(
                fields=["product", "kind"], name="market_certification_unique_kind"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product_id} {self.kind}"


class Photo(TimeStampedModel):
    """An uploaded photo after validation: a display image (≤ 1200 px) and a thumbnail
    (≤ 300 px), both JPEG without metadata. See :mod:`taocun.market.images`."""

    image = models.FileField(_("image"), max_length=200)
    thumbnail = models.FileField(_("thumbnail"), max_length=200)
    width = models.PositiveIntegerField(_("width"))
    height = models.PositiveIntegerField(_("height"))
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        abstract = True
        ordering = ["position", "id"]


class ShopPhoto(Photo):
    shop = models.ForeignKey(
        Shop, verbose_name=_("shop"), on_delete=models.CASCADE, related_name="photos"
    )

    class Meta(Photo.Meta):
        verbose_name = _("shop photo")
        verbose_name_plural = _("shop photos")

    def __str__(self) -> str:
        return self.image.name


class ProductPhoto(Photo):
    product = models.ForeignKey(
        Product, verbose_name=_("product"), on_delete=models.CASCADE, related_name="photos"
    )

    class Meta(Photo.Meta):
        verbose_name = _("product photo")
        verbose_name_plural = _("product photos")

    def __str__(self) -> str:
        return self.image.name
