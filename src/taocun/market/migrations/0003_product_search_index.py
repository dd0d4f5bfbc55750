"""The product search indexes, which differ by database (see ``market.search``).

SQLite: an FTS5 table with the trigram tokenizer holding each product's search text (padded
with two spaces), plus its vocabulary table for 1- and 2-character terms.
PostgreSQL: the pg_trgm extension, a GIN trigram index on ``search_text``, and a stored
generated ``tsvector`` of the text's single characters with its GIN index.
"""

from django.db import migrations

SQLITE_FORWARD = [
    "CREATE VIRTUAL TABLE market_product_fts USING fts5(search_text, tokenize='trigram')",
    "CREATE VIRTUAL TABLE market_product_fts_vocab USING fts5vocab('market_product_fts', 'row')",
    "INSERT INTO market_product_fts(rowid, search_text) "
    "SELECT id, search_text || '  ' FROM market_product",
]
SQLITE_BACKWARD = [
    "DROP TABLE IF EXISTS market_product_fts_vocab",
    "DROP TABLE IF EXISTS market_product_fts",
]
POSTGRESQL_FORWARD = [
    # pg_trgm is a trusted extension (PostgreSQL 13+): the database owner may create it.
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX market_product_search_trgm ON market_product "
    "USING gin (search_text gin_trgm_ops)",
    "ALTER TABLE market_product ADD COLUMN search_chars tsvector GENERATED ALWAYS AS "
    "(to_tsvector('simple'::regconfig, regexp_replace(search_text, '(.)', '\\1 ', 'g'))) STORED",
    "CREATE INDEX market_product_search_chars ON market_product USING gin (search_chars)",
]
POSTGRESQL_BACKWARD = [
    "DROP INDEX IF EXISTS market_product_search_chars",
    "ALTER TABLE market_product DROP COLUMN IF EXISTS search_chars",
    "DROP INDEX IF EXISTS market_product_search_trgm",
]


def _run(schema_editor, statements_by_vendor):
    for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
        schema_editor.execute(statement)


def forward(apps, schema_editor):
    _run(schema_editor, {"sqlite": SQLITE_FORWARD, "postgresql": POSTGRESQL_FORWARD})


def backward(apps, schema_editor):
    _run(schema_editor, {"sqlite": SQLITE_BACKWARD, "postgresql": POSTGRESQL_BACKWARD})


class Migration(migrations.Migration):
    dependencies = [("market", "0002_seed_categories")]

    operations = [migrations.RunPython(forward, backward)]
