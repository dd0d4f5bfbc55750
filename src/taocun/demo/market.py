"""The demo's marketplace: household shops of the demo counties with their specialties.

Shops, products, pack sizes and photos go through the real market services (validation,
derived columns, search index, audit); the photos are drawn here with Pillow — a coloured
card with the product's name — and pass through the real photo check and resize. Names,
prices and stock are invented for the demo; the specialties are the counties' real ones.
"""

import io
import random
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont

from taocun.accounts.models import Role, User
from taocun.accounts.services import role_grant, user_link_household, user_sign_up
from taocun.market.models import Category, Certification, Shop, Unit
from taocun.market.services import (
    product_create,
    product_photo_add,
    shop_open,
    shop_photo_add,
    shop_shipping_set,
    shop_verify,
)
from taocun.regions.models import Household

FONT_PATHS = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
)
PHOTO_PX = 480
# The other shops' sellers: +8613800000101, +8613800000102, … (one per shop, in order).
SHOP_SELLER_PHONE = "+86138000001{:02d}"


@dataclass(frozen=True)
class DemoProduct:
    name: str
    category: str  # slug
    # label, weight in grams, price in fen, unit
    variants: tuple[tuple[str, int, int, str], ...]
    description: str = ""
    harvest_months: tuple[int, ...] = ()
    shelf_life_days: int | None = None
    certifications: tuple[str, ...] = ()


@dataclass(frozen=True)
class DemoShop:
    county: str  # 6-digit prefix; the village is one with registered households
    name: str
    story: str
    categories: tuple[str, ...]
    products: tuple[DemoProduct, ...]
    colour: tuple[int, int, int]


JIN, KG, PIECE, BOX, BAG, JAR = Unit.JIN, Unit.KG, Unit.PIECE, Unit.BOX, Unit.BAG, Unit.JAR
GI, GREEN, ORGANIC, CLEAN = (
    Certification.GEOGRAPHICAL_INDICATION,
    Certification.GREEN_FOOD,
    Certification.ORGANIC,
    Certification.POLLUTION_FREE,
)

# The seller's shop in 丁楼村 (曹县大集镇): 汉服 and the county's farm products.
SELLER_SHOP = DemoShop(
    "371721",
    "丁楼汉服小院",
    "我们家在曹县大集镇丁楼村，三代做衣裳。汉服自己打版、自己缝，地里的芦笋和家里烙的烧饼也一起卖。",
    ("handicrafts", "vegetables", "processed"),
    (
        DemoProduct(
            "曹县手工汉服 明制马面裙",
            "handicrafts",
            (("S 码", 600, 26900, PIECE), ("M 码", 650, 26900, PIECE), ("L 码", 700, 28900, PIECE)),
            "丁楼村自家打版缝制，织金面料，一周内发货。",
        ),
        DemoProduct(
            "曹县汉服 宋制褙子套装",
            "handicrafts",
            (("均码", 800, 35900, PIECE),),
            "棉麻面料，日常可穿。",
        ),
        DemoProduct(
            "曹县鲜芦笋 绿芦笋",
            "vegetables",
            (("2 斤装", 1000, 3980, BOX), ("5 斤装", 2500, 8900, BOX)),
            "清晨采收，冷链发货。",
            (4, 5, 6),
            7,
            (CLEAN,),
        ),
        DemoProduct(
            "曹县烧饼 芝麻吊炉烧饼",
            "processed",
            (("10 个", 800, 2990, BAG), ("20 个", 1600, 5490, BAG)),
            "吊炉现烤，真空包装。",
            (),
            30,
        ),
    ),
    (176, 38, 52),
)

OTHER_SHOPS = (
    DemoShop(
        "371721",
        "曹县桐木工坊",
        "泡桐木做的收纳盒和棺木工艺，是我们庄几十年的手艺。",
        ("handicrafts",),
        (
            DemoProduct(
                "曹县泡桐木收纳箱",
                "handicrafts",
                (("小号", 2000, 8900, PIECE), ("大号", 4500, 15900, PIECE)),
            ),
            DemoProduct("桐木儿童积木 100 粒", "handicrafts", (("一盒", 1200, 6900, BOX),)),
        ),
        (150, 110, 70),
    ),
    DemoShop(
        "371721",
        "大集镇芦笋合作社",
        "十几户一起种芦笋、牛蒡，统一分拣发货。",
        ("vegetables", "grain-oil"),
        (
            DemoProduct(
                "曹县白芦笋",
                "vegetables",
                (("2 斤装", 1000, 4980, BOX),),
                harvest_months=(4, 5),
                shelf_life_days=7,
                certifications=(GREEN,),
            ),
            DemoProduct(
                "曹县牛蒡 鲜根",
                "vegetables",
                (("5 斤装", 2500, 3690, BOX),),
                harvest_months=(10, 11, 12),
                shelf_life_days=30,
            ),
            DemoProduct(
                "鲁西南小磨香油",
                "grain-oil",
                (("500 毫升", 600, 3800, Unit.BOTTLE),),
                shelf_life_days=540,
            ),
        ),
        (70, 130, 60),
    ),
    DemoShop(
        "330782",
        "义乌稠州小商品",
        "从义乌的工厂直接发货，饰品、中国结、节庆用品。",
        ("handicrafts",),
        (
            DemoProduct("手工编织中国结 挂件", "handicrafts", (("一对", 300, 1990, PIECE),)),
            DemoProduct(
                "义乌红糖 古法土红糖",
                "processed",
                (("500 克", 550, 2580, BAG),),
                harvest_months=(11, 12, 1),
                shelf_life_days=720,
                certifications=(GI,),
            ),
        ),
        (200, 60, 40),
    ),
    DemoShop(
        "330782",
        "佛堂农家蜂场",
        "在义乌南山放蜂，油菜花、紫云英、野桂花三季蜜。",
        ("honey",),
        (
            DemoProduct(
                "义乌土蜂蜜 百花蜜",
                "honey",
                (("500 克", 600, 6800, JAR), ("1000 克", 1150, 12800, JAR)),
                harvest_months=(4, 5, 9),
                shelf_life_days=730,
            ),
        ),
        (220, 160, 30),
    ),
    DemoShop(
        "320324",
        "沙集实木家具",
        "沙集镇东风村起步的家具网店，实木板式家具，送货安装。",
        ("handicrafts",),
        (
            DemoProduct(
                "沙集实木书架 五层",
                "handicrafts",
                (("80 厘米", 25000, 39900, PIECE), ("120 厘米", 35000, 55900, PIECE)),
            ),
            DemoProduct("简约实木床头柜", "handicrafts", (("原木色", 12000, 19900, PIECE),)),
        ),
        (120, 80, 50),
    ),
    DemoShop(
        "320324",
        "睢宁黄河故道果园",
        "黄河故道沙土地上的苹果和梨，甜脆。",
        ("fruit",),
        (
            DemoProduct(
                "睢宁红富士苹果",
                "apples",
                (("5 斤装", 2500, 3290, BOX), ("10 斤装", 5000, 5990, BOX)),
                harvest_months=(10, 11),
                shelf_life_days=60,
                certifications=(CLEAN,),
            ),
            DemoProduct(
                "黄河故道酥梨",
                "pears",
                (("5 斤装", 2500, 2990, BOX),),
                harvest_months=(8, 9),
                shelf_life_days=30,
            ),
        ),
        (190, 40, 40),
    ),
    DemoShop(
        "130534",
        "清河羊绒人家",
        "清河县羊绒梳绒、纺纱、织衫一条龙，我们家织了二十年。",
        ("handicrafts",),
        (
            DemoProduct(
                "清河山羊绒围巾",
                "handicrafts",
                (("驼色", 200, 19900, PIECE), ("藏青", 200, 19900, PIECE)),
            ),
            DemoProduct(
                "清河羊绒开衫 女款",
                "handicrafts",
                (("M", 400, 49900, PIECE), ("L", 420, 49900, PIECE)),
            ),
        ),
        (140, 120, 100),
    ),
    DemoShop(
        "130534",
        "清河农家杂粮",
        "自家种的小米、绿豆，石磨面粉。",
        ("grain-oil",),
        (
            DemoProduct(
                "冀南小米 新米",
                "grain-oil",
                (("5 斤装", 2500, 3980, BAG),),
                harvest_months=(9, 10),
                shelf_life_days=365,
                certifications=(GREEN,),
            ),
            DemoProduct(
                "石磨全麦面粉", "grain-oil", (("5 斤装", 2500, 2880, BAG),), shelf_life_days=180
            ),
        ),
        (200, 170, 80),
    ),
    DemoShop(
        "130532",
        "平乡童车小铺",
        "平乡县是童车之乡，我们家做儿童自行车和滑板车配件。",
        ("handicrafts",),
        (
            DemoProduct(
                "儿童平衡车 12 寸",
                "handicrafts",
                (("蓝色", 3500, 15900, PIECE), ("粉色", 3500, 15900, PIECE)),
            ),
        ),
        (50, 100, 180),
    ),
    DemoShop(
        "130532",
        "平乡梨园",
        "平乡的鸭梨和红薯，家里种了十几亩。",
        ("fruit", "vegetables"),
        (
            DemoProduct(
                "平乡鸭梨",
                "pears",
                (("5 斤装", 2500, 2590, BOX), ("10 斤装", 5000, 4590, BOX)),
                harvest_months=(9, 10),
                shelf_life_days=45,
            ),
            DemoProduct(
                "沙地红薯 蜜薯",
                "vegetables",
                (("5 斤装", 2500, 1990, BOX),),
                harvest_months=(9, 10, 11),
                shelf_life_days=60,
            ),
        ),
        (160, 90, 40),
    ),
    DemoShop(
        "510824",
        "苍溪红心猕猴桃园",
        "苍溪是红心猕猴桃的老家。我们家在山上种了八亩，九月初开园。",
        ("fruit",),
        (
            DemoProduct(
                "苍溪红心猕猴桃",
                "fruit",
                (
                    ("12 个装", 1000, 3990, BOX),
                    ("24 个装", 2000, 6990, BOX),
                    ("5 斤装 大果", 2500, 8900, BOX),
                ),
                "地理标志产品，果心红色，九月中旬采摘。",
                (9, 10),
                30,
                (GI, GREEN),
            ),
            DemoProduct(
                "苍溪雪梨",
                "pears",
                (("5 斤装", 2500, 3590, BOX),),
                harvest_months=(8, 9),
                shelf_life_days=30,
                certifications=(GI,),
            ),
        ),
        (60, 140, 60),
    ),
    DemoShop(
        "510824",
        "嘉陵江山货",
        "山里的香菇、木耳和土蜂蜜，晒干了慢慢卖。",
        ("mushrooms-dried", "honey", "tea"),
        (
            DemoProduct(
                "苍溪椴木香菇 干货",
                "mushrooms-dried",
                (("250 克", 300, 3590, BAG), ("500 克", 550, 6590, BAG)),
                harvest_months=(3, 4, 11),
                shelf_life_days=365,
                certifications=(ORGANIC,),
            ),
            DemoProduct(
                "秦巴山区黑木耳",
                "mushrooms-dried",
                (("250 克", 300, 3290, BAG),),
                shelf_life_days=540,
            ),
            DemoProduct(
                "大山中蜂土蜂蜜",
                "honey",
                (("500 克", 600, 8800, JAR),),
                harvest_months=(10, 11),
                shelf_life_days=730,
            ),
            DemoProduct(
                "苍溪高山绿茶 明前",
                "green-tea",
                (("100 克", 150, 6800, Unit.CASE),),
                harvest_months=(3, 4),
                shelf_life_days=540,
            ),
        ),
        (40, 110, 90),
    ),
)


def _font(size: int) -> ImageFont.ImageFont:
    for path in FONT_PATHS:
        try:
            return ImageFont.truetype(path, size)
        except OSError:
            continue
    return ImageFont.load_default()


def photo_card(*, title: str, colour: tuple[int, int, int], shade: float = 1.0) -> bytes:
    """A square JPEG: a coloured card with ``title`` on it (never a downloaded picture)."""
    fill = tuple(min(255, int(c * shade)) for c in colour)
    image = Image.new("RGB", (PHOTO_PX, PHOTO_PX), fill)
    draw = ImageDraw.Draw(image)
    draw.ellipse((60, 60, PHOTO_PX - 60, PHOTO_PX - 60), fill=(250, 246, 236))
    font = _font(30)
    lines = [title[i : i + 9] for i in range(0, len(title), 9)][:3]
    top = PHOTO_PX // 2 - 22 * len(lines)
    for number, line in enumerate(lines):
        width = draw.textlength(line, font=font)
        draw.text(((PHOTO_PX - width) / 2, top + number * 44), line, fill=fill, font=font)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def _shop_household(rng: random.Random, shop: DemoShop) -> Household:
    """A registered household of the shop's county without a shop or a linked account."""
    households = Household.objects.filter(
        village__code__startswith=shop.county, market_shop__isnull=True, members_accounts=None
    ).order_by("pk")
    return rng.choice(list(households))


def _shop_fill(*, owner, reviewer, household: Household, shop: DemoShop, rng: random.Random):
    categories = {c.slug: c for c in Category.objects.all()}
    opened = shop_open(
        actor=owner,
        household=household,
        name=shop.name,
        story=shop.story,
        categories=[categories[slug] for slug in shop.categories],
    )
    shop_shipping_set(actor=owner, shop=opened, mode="flat", flat_fen=rng.choice((0, 500, 800)))
    shop_photo_add(actor=owner, shop=opened, data=photo_card(title=shop.name, colour=shop.colour))
    for number, item in enumerate(shop.products):
        product = product_create(
            actor=owner,
            shop=opened,
            category=categories[item.category],
            name=item.name,
            description=item.description,
            harvest_months=item.harvest_months,
            shelf_life_days=item.shelf_life_days,
            certifications=[
                {"kind": kind, "number": f"DEMO-{kind[:3].upper()}-{rng.randint(1000, 9999)}"}
                for kind in item.certifications
            ],
            variants=[
                {
                    "label": label,
                    "weight_g": weight_g,
                    "price_fen": price_fen,
                    "unit": unit,
                    "stock": rng.randint(20, 400),
                }
                for label, weight_g, price_fen, unit in item.variants
            ],
        )
        product_photo_add(
            actor=owner,
            product=product,
            data=photo_card(title=item.name, colour=shop.colour, shade=1 - 0.08 * number),
        )
    shop_verify(actor=reviewer, shop=opened)


def _shop_seller(*, number: int, household: Household, password: str) -> User:
    """The account of a member of ``household`` who runs its shop."""
    phone = SHOP_SELLER_PHONE.format(number)
    user = User.objects.filter(phone=phone).first() or user_sign_up(
        phone=phone, password=password, display_name=household.head_name
    )
    role_grant(actor=None, user=user, role=Role.SELLER, region=None)
    if user.household_id is None:
        user_link_household(actor="demo", user=user, household=household)
    return user


def demo_market_load(
    *, rng: random.Random, seller: User, agent: User, officer: User, admin: User, password: str
) -> int:
    """Open, fill and verify the demo shops that do not exist yet; return how many."""
    created = 0
    if seller.household_id and not Shop.objects.filter(household_id=seller.household_id).exists():
        _shop_fill(
            owner=seller, reviewer=agent, household=seller.household, shop=SELLER_SHOP, rng=rng
        )
        created += 1
    for number, shop in enumerate(OTHER_SHOPS, start=1):
        if Shop.objects.filter(name=shop.name).exists():
            continue
        household = _shop_household(rng, shop)
        owner = _shop_seller(number=number, household=household, password=password)
        reviewer = officer if shop.county == "371721" else admin
        _shop_fill(owner=owner, reviewer=reviewer, household=household, shop=shop, rng=rng)
        created += 1
    return created
