"""Market test data, made through the services so that derived columns and the search
index are exactly what production code produces."""

import io

from PIL import Image

from taocun.accounts.models import Role
from taocun.accounts.tests.factories import UserFactory
from taocun.market import services
from taocun.market.models import Category, Product, Shop
from taocun.regions.tests.factories import HouseholdFactory


def seller(village, **kwargs):
    """A seller whose account is linked to a new household of ``village``. Without a
    usable password (tests log in with force_login): hashing one costs 0.2 s."""
    household = HouseholdFactory(village=village)
    kwargs.setdefault("password", None)  # make_password(None): unusable, instant
    return UserFactory(roles=[(Role.SELLER, None)], household=household, **kwargs)


def reviewer(role, region):
    """A station agent or county officer (no usable password, see ``seller``)."""
    return UserFactory(roles=[(role, region)], password=None)


def shop(village, *, name=None, verified=True, keeper=None, reviewer=None) -> Shop:
    keeper = keeper or seller(village)
    opened = services.shop_open(
        actor=keeper,
        household=keeper.household,
        name=name or f"{village.name[:4]}{keeper.pk}号店",
        story="我们家三代种果。",
        categories=[Category.objects.get(slug="fruit")],
    )
    if verified:
        services.shop_verify(actor=reviewer, shop=opened)
    return opened


def product(
    shop_,
    *,
    name="烟台红富士苹果",
    category="apples",
    price_fen=3990,
    stock=100,
    variants=None,
    **kwargs,
) -> Product:
    return services.product_create(
        actor=None,
        shop=shop_,
        category=Category.objects.get(slug=category),
        name=name,
        variants=variants
        if variants is not None
        else [
            {
                "label": "5 斤装",
                "unit": "box",
                "weight_g": 2500,
                "price_fen": price_fen,
                "stock": stock,
            }
        ],
        **kwargs,
    )


def image_bytes(fmt="JPEG", size=(64, 48), color=(200, 30, 30), **save_kwargs) -> bytes:
    mode = "RGBA" if fmt == "PNG" and save_kwargs.pop("alpha", False) else "RGB"
    image = Image.new(mode, size, color if mode == "RGB" else (*color, 128))
    out = io.BytesIO()
    image.save(out, format=fmt, **save_kwargs)
    return out.getvalue()
