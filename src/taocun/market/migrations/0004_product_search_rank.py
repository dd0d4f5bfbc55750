"""The product's search rank, and the index "best match" walks on PostgreSQL (see
``market.search``). The ranks are computed by the next migration."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("market", "0003_product_search_index")]

    operations = [
        migrations.AddField(
            model_name="product",
            name="search_rank",
            field=models.PositiveSmallIntegerField(
                db_default=0,
                default=0,
                help_text="Which matches of a broad search are ranked first: higher is better.",
                verbose_name="search rank",
            ),
        ),
        migrations.AddIndex(
            model_name="product",
            index=models.Index(
                condition=models.Q(("is_listed", True)),
                fields=["search_rank", "id"],
                include=(
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
                ),
                name="market_listed_rank",
            ),
        ),
    ]
