"""PostgreSQL: look up 1- and 2-character terms in an index of the text's characters and
character pairs, instead of its characters alone (``market.search``).

Migration 0003 indexed each product's characters (``search_chars``, a stored ``tsvector``)
and answered "苹果" with the phrase ``苹 <-> 果``: the index found every product holding
both characters anywhere, and each was read from the table to check that they stand side
by side (大米: 13,325 rows read for 4,024 matches at a million products). The index made
here holds every character and every pair of neighbouring characters of the text, so a
term of one or two characters is one exact lookup. It is an expression index (the
function is called to build and maintain it; a search filters rows with ``strpos``, and
calls it only to recheck a page of a bitmap grown past ``work_mem``); the stored column
goes, and the table is smaller. It is not partial (only listed products are searched):
the planner ignores the statistics of a partial index's expression, and without them it
takes every term for a rare one.

Nothing changes on SQLite.
"""

from django.db import migrations

# The text's single characters, and its pairs of neighbouring characters taken twice (from
# the first character and from the second), separated by spaces so that each is one token
# of the text-search parser. A pair holding a space or punctuation splits into its parts,
# which are characters of the text too, so no token comes from outside the text. No
# positions (strip): the index answers "contains", the search rechecks the term with strpos.
GRAMS_FUNCTION = (
    "CREATE OR REPLACE FUNCTION taocun_search_grams(text) RETURNS tsvector "
    "LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$ SELECT strip(to_tsvector("
    "'simple'::regconfig, regexp_replace($1, '(.)', '\\1 ', 'g') || ' ' || "
    "regexp_replace($1, '(..)', '\\1 ', 'g') || ' ' || "
    "regexp_replace(substr($1, 2), '(..)', '\\1 ', 'g'))) $$"
)
GRAMS_INDEX = (
    "CREATE INDEX market_product_search_grams ON market_product "
    "USING gin (taocun_search_grams(search_text))"
)
POSTGRESQL_FORWARD = [
    GRAMS_FUNCTION,
    GRAMS_INDEX,
    "DROP INDEX IF EXISTS market_product_search_chars",
    "ALTER TABLE market_product DROP COLUMN IF EXISTS search_chars",
    # The planner's statistics of the index's expression: without them it takes every
    # lookup for 0.5 % of the products and picks plans for a rare term (茶 + one province:
    # 242 ms instead of 44 at a million products).
    "ANALYZE market_product",
]
POSTGRESQL_BACKWARD = [
    "ALTER TABLE market_product ADD COLUMN search_chars tsvector GENERATED ALWAYS AS "
    "(to_tsvector('simple'::regconfig, regexp_replace(search_text, '(.)', '\\1 ', 'g'))) STORED",
    "CREATE INDEX market_product_search_chars ON market_product USING gin (search_chars)",
    "DROP INDEX IF EXISTS market_product_search_grams",
    "DROP FUNCTION IF EXISTS taocun_search_grams(text)",
]


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in POSTGRESQL_FORWARD:
            schema_editor.execute(statement)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in POSTGRESQL_BACKWARD:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("market", "0005_product_search_rank_fill")]

    operations = [migrations.RunPython(forward, backward)]
