"""Compute every product's search rank, and on SQLite key the search index by it.

The rank's formula is repeated here in SQL (a migration does not import app code); it is
``market.search.search_rank_expression`` as of this migration, and a test checks that the
two agree. Later changes of the formula need no migration: ``search.search_index_rebuild()``
recomputes every rank.
"""

from django.db import migrations

SALES_LEVELS = 15
RANK_SQL = (
    "4 * (CASE "
    + " ".join(
        f"WHEN sold_count >= {(1 << level) - 1} THEN {level}"
        for level in range(SALES_LEVELS, 0, -1)
    )
    + " ELSE 0 END)"
    " + (CASE WHEN rating_count >= 3 AND rating_avg_centi >= 450 THEN 2"
    " WHEN rating_count >= 3 AND rating_avg_centi >= 400 THEN 1 ELSE 0 END)"
    " + (CASE WHEN length(name) <= 20 THEN 1 ELSE 0 END)"
)
SQLITE_REKEY = [
    "DELETE FROM market_product_fts",
    # In key order: FTS5 writes out its pending index whenever a row id goes down.
    "INSERT INTO market_product_fts(rowid, search_text) "
    "SELECT (search_rank << 32) | id, search_text || '  ' FROM market_product ORDER BY 1",
    "INSERT INTO market_product_fts(market_product_fts) VALUES ('optimize')",
]


def forward(apps, schema_editor):
    schema_editor.execute(
        f"UPDATE market_product SET search_rank = {RANK_SQL} WHERE search_rank <> {RANK_SQL}"
    )
    if schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE_REKEY:
            schema_editor.execute(statement)


def backward(apps, schema_editor):
    # Back to ids as the index's row ids (the rank column goes with the previous migration).
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute("UPDATE market_product SET search_rank = 0")
        for statement in SQLITE_REKEY:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("market", "0004_product_search_rank")]

    operations = [migrations.RunPython(forward, backward)]
