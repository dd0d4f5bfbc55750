"""The result tables keep only the indexes their queries use: every index is written again
for each stored village (666,655 per national evaluation).

* ``evaluation`` of the village, town and cluster results: redundant, the unique constraints
  ``(evaluation, …)`` lead with it.
* ``township_code``, ``county_code`` and ``labeled`` of the village results. On SQLite no
  query of the labels app used them (``EXPLAIN QUERY PLAN`` over 666,655 stored villages:
  the lists search by evaluation and sort). The village lists get one index in their own
  order instead, ``labels_village_list`` (evaluation, labeled DESC, sales_fen DESC, village).
  PostgreSQL's planner did use the county and township indexes for the lists filtered by
  county, province or township; there they are replaced by two indexes that lead with the
  evaluation (``labels_village_county``, with ``varchar_pattern_ops`` for the province's
  prefix, and ``labels_village_township``). SQLite's planner reads those lists from
  ``labels_village_list`` either way, so it does without them (each costs about 2 s of the
  write of a national evaluation).
* On PostgreSQL, the ``_like`` index (``varchar_pattern_ops``) of ``village_code``: nothing
  searches village codes by prefix. Its plain index stays (a village's history, the
  foreign key).

The indexes are dropped by name, found by introspection, rather than by ``AlterField``: on
SQLite an ``AlterField`` copies the whole table — every stored village of every evaluation —
to drop an index. Migrating backwards creates plain indexes again (under new names).
"""

from django.db import migrations, models

DROPPED = {
    "labels_villageresult": ("evaluation_id", "township_code", "county_code", "labeled"),
    "labels_townresult": ("evaluation_id",),
    "labels_clusterresult": ("evaluation_id",),
}
# PostgreSQL only: the prefix-search (``_like``) index Django adds beside a varchar index.
DROPPED_LIKE = {"labels_villageresult": ("village_code",)}
# PostgreSQL only: the filters of the village lists within an evaluation.
POSTGRESQL_FILTER_INDEXES = {
    "labels_village_county": "(evaluation_id, county_code varchar_pattern_ops)",
    "labels_village_township": "(evaluation_id, township_code)",
}
SHORT_NAMES = {
    "labels_villageresult": "labels_vr",
    "labels_townresult": "labels_tr",
    "labels_clusterresult": "labels_cr",
}


def _single_column_indexes(schema_editor, table: str, column: str) -> list[str]:
    """Names of the plain indexes on exactly ``column`` (on PostgreSQL with the ``_like``
    index Django adds beside a varchar index, by its name)."""
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
    return sorted(
        name
        for name, info in constraints.items()
        if info["index"]
        and not info["unique"]
        and not info["primary_key"]
        and info["columns"] == [column]
    )


def drop_indexes(apps, schema_editor):
    quote = schema_editor.quote_name
    for table, columns in DROPPED.items():
        for column in columns:
            for name in _single_column_indexes(schema_editor, table, column):
                schema_editor.execute(f"DROP INDEX {quote(name)}")
    if schema_editor.connection.vendor == "postgresql":
        for table, columns in DROPPED_LIKE.items():
            for column in columns:
                for name in _single_column_indexes(schema_editor, table, column):
                    if name.endswith("_like"):
                        schema_editor.execute(f"DROP INDEX {quote(name)}")


def create_indexes(apps, schema_editor):
    quote = schema_editor.quote_name
    for table, columns in DROPPED.items():
        for column in columns:
            if not _single_column_indexes(schema_editor, table, column):
                name = f"{SHORT_NAMES[table]}_{column}"
                schema_editor.execute(
                    f"CREATE INDEX {quote(name)} ON {quote(table)} ({quote(column)})"
                )
    if schema_editor.connection.vendor == "postgresql":
        for table, columns in DROPPED_LIKE.items():
            for column in columns:
                names = _single_column_indexes(schema_editor, table, column)
                if not any(name.endswith("_like") for name in names):
                    name = f"{SHORT_NAMES[table]}_{column}_like"
                    schema_editor.execute(
                        f"CREATE INDEX {quote(name)} ON {quote(table)} "
                        f"({quote(column)} varchar_pattern_ops)"
                    )


def create_postgresql_filter_indexes(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name, columns in POSTGRESQL_FILTER_INDEXES.items():
            schema_editor.execute(
                f"CREATE INDEX {schema_editor.quote_name(name)} ON labels_villageresult {columns}"
            )


def drop_postgresql_filter_indexes(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name in POSTGRESQL_FILTER_INDEXES:
            schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(name)}")


class Migration(migrations.Migration):
    dependencies = [
        ("labels", "0001_initial"),
        ("regions", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(drop_indexes, create_indexes)],
            state_operations=[
                migrations.AlterField(
                    model_name="clusterresult",
                    name="evaluation",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=models.CASCADE,
                        related_name="clusters_set",
                        to="labels.evaluation",
                    ),
                ),
                migrations.AlterField(
                    model_name="townresult",
                    name="evaluation",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=models.CASCADE,
                        related_name="towns",
                        to="labels.evaluation",
                    ),
                ),
                migrations.AlterField(
                    model_name="villageresult",
                    name="county_code",
                    field=models.CharField(max_length=12, verbose_name="county code"),
                ),
                migrations.AlterField(
                    model_name="villageresult",
                    name="evaluation",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=models.CASCADE,
                        related_name="villages",
                        to="labels.evaluation",
                    ),
                ),
                migrations.AlterField(
                    model_name="villageresult",
                    name="labeled",
                    field=models.BooleanField(default=False, verbose_name="labelled"),
                ),
                migrations.AlterField(
                    model_name="villageresult",
                    name="township_code",
                    field=models.CharField(max_length=12, verbose_name="township code"),
                ),
            ],
        ),
        migrations.AddIndex(
            model_name="villageresult",
            index=models.Index(
                fields=["evaluation", "-labeled", "-sales_fen", "village"],
                name="labels_village_list",
            ),
        ),
        migrations.RunPython(create_postgresql_filter_indexes, drop_postgresql_filter_indexes),
    ]
