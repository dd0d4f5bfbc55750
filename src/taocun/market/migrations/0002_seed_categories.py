"""Seed the catalog's categories: farm products and rural specialties, with their names in
the three site languages and the platform's commission in basis points (200 = 2 %).

Data only; re-running it updates names and keeps commission rates someone has changed.
"""

from django.db import migrations

# slug, parent slug, 简体中文, English, français, commission (bp), featured on the home page
CATEGORIES = [
    ("fruit", None, "水果", "Fruit", "Fruits", 200, True),
    ("apples", "fruit", "苹果", "Apples", "Pommes", 200, False),
    ("citrus", "fruit", "柑橘", "Citrus", "Agrumes", 200, False),
    ("pears", "fruit", "梨", "Pears", "Poires", 200, False),
    ("vegetables", None, "蔬菜", "Vegetables", "Légumes", 200, True),
    ("grain-oil", None, "粮油", "Grain and oil", "Céréales et huiles", 150, True),
    ("tea", None, "茶叶", "Tea", "Thé", 200, True),
    ("green-tea", "tea", "绿茶", "Green tea", "Thé vert", 200, False),
    ("oolong-tea", "tea", "乌龙茶", "Oolong tea", "Thé oolong", 200, False),
    ("meat", None, "肉类", "Meat", "Viande", 200, False),
    ("eggs-poultry", None, "禽蛋", "Eggs and poultry", "Œufs et volailles", 200, True),
    ("aquatic", None, "水产", "Fish and seafood", "Poissons et fruits de mer", 200, False),
    ("honey", None, "蜂蜜", "Honey", "Miel", 200, True),
    (
        "mushrooms-dried",
        None,
        "菌菇干货",
        "Mushrooms and dried goods",
        "Champignons et produits secs",
        200,
        True,
    ),
    ("nuts", None, "坚果炒货", "Nuts and seeds", "Fruits à coque et graines", 200, False),
    ("processed", None, "加工食品", "Processed foods", "Produits transformés", 250, False),
    ("herbs", None, "中药材", "Medicinal herbs", "Plantes médicinales", 250, False),
    ("handicrafts", None, "手工艺品", "Handicrafts", "Artisanat", 300, True),
    ("flowers-seedlings", None, "花卉苗木", "Flowers and seedlings", "Fleurs et plants", 250, False),
]


def seed(apps, schema_editor):
    Category = apps.get_model("market", "Category")
    by_slug = {}
    for position, (slug, parent, zh, en, fr, rate_bp, featured) in enumerate(CATEGORIES):
        category, created = Category.objects.get_or_create(
            slug=slug,
            defaults={
                "parent": by_slug.get(parent),
                "name_zh_hans": zh,
                "name_en": en,
                "name_fr": fr,
                "commission_rate_bp": rate_bp,
                "position": position * 10,
                "is_featured": featured,
            },
        )
        if not created:
            category.name_zh_hans, category.name_en, category.name_fr = zh, en, fr
            category.save(update_fields=["name_zh_hans", "name_en", "name_fr"])
        by_slug[slug] = category


def unseed(apps, schema_editor):
    Category = apps.get_model("market", "Category")
    slugs = [row[0] for row in CATEGORIES]
    # Children first; categories already used by products are kept (PROTECT).
    Category.objects.filter(slug__in=slugs, parent__isnull=False, products__isnull=True).delete()
    Category.objects.filter(slug__in=slugs, products__isnull=True, children__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("market", "0001_catalog")]

    operations = [migrations.RunPython(seed, unseed)]
