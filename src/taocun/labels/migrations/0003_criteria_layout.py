"""What a stored evaluation writes for each of its villages (666,655 in a national one),
made smaller:

* The criteria that all its villages share are kept once, on the evaluation
  (``Evaluation.criteria_layout``: keys, thresholds, comparisons, units), and each village
  keeps only its own values: 87 bytes a village instead of 646 on average, most of what
  a national evaluation wrote. ``VillageResult.criteria`` becomes ``stored_criteria`` in
  the models only: the column keeps its name and its values (results stored before keep
  their whole lists, which ``VillageResult.criteria`` still reads).
* The village results lose their index on the village alone and the foreign-key
  constraint on it. Each stored evaluation wrote 666,655 entries into that index, each
  between the earlier evaluations' entries for the same village, so every evaluation stored
  made the next one slower; a village's history probes the unique (evaluation, village)
  index once per finished evaluation instead (``selectors.village_history``). The
  constraint cost a lookup in the 713,034 divisions per row written; the results are
  written from the divisions themselves, which are never deleted (``on_delete=PROTECT``
  still guards them in the ORM).

  On SQLite dropping a constraint copies the table: this migration rewrites every stored
  village result once (2 min 51 s for 12 national evaluations, 8.0 M rows, on 2 cores).
  On PostgreSQL it drops the constraint and the index in place.

Migrating backwards writes the whole criteria lists back into the village results stored
with a layout (code before this migration reads only whole lists), then drops the layout;
on PostgreSQL it restores the index on the village without the ``_like`` index that
migration 0002 dropped.
"""

from django.db import migrations, models

BATCH = 5_000


def _whole(layout: list[dict], values: list[list]) -> list[dict]:
    """A village's whole criteria list (``labels.criteria.criteria_expand``, frozen here as
    migrations must be)."""
    criteria = []
    for entry, own in zip(layout, values, strict=True):
        constants, remaining = entry["constants"], iter(own)
        criterion = {"key": entry["key"]}
        for name in entry["fields"]:
            criterion[name] = constants[name] if name in constants else next(remaining)
        criteria.append(criterion)
    return criteria


def criteria_whole_again(apps, schema_editor):
    """Backwards: every result stored as values against its evaluation's layout gets its
    whole list back, before the layout is dropped."""
    Evaluation = apps.get_model("labels", "Evaluation")
    VillageResult = apps.get_model("labels", "VillageResult")
    for evaluation in Evaluation.objects.only("pk", "criteria_layout").iterator():
        layout = evaluation.criteria_layout
        if not layout:
            continue
        rows = VillageResult.objects.filter(evaluation_id=evaluation.pk).only("pk", "criteria")
        changed = []
        for result in rows.iterator(chunk_size=BATCH):
            if result.criteria and isinstance(result.criteria[0], list):
                result.criteria = _whole(layout, result.criteria)
                changed.append(result)
            if len(changed) >= BATCH:
                VillageResult.objects.bulk_update(changed, ["criteria"])
                changed = []
        VillageResult.objects.bulk_update(changed, ["criteria"])


def drop_like_index(apps, schema_editor):
    """Backwards, on PostgreSQL: the restored index on ``village_code`` comes with a
    ``varchar_pattern_ops`` twin that migration 0002 had dropped (nothing searches village
    codes by prefix)."""
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, "labels_villageresult")
    for name, info in constraints.items():
        if info["index"] and info["columns"] == ["village_code"] and name.endswith("_like"):
            schema_editor.execute(f"DROP INDEX {schema_editor.quote_name(name)}")


class Migration(migrations.Migration):
    dependencies = [
        ("labels", "0002_result_indexes_for_storing_and_lists"),
        ("regions", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="evaluation",
            name="criteria_layout",
            field=models.JSONField(blank=True, default=list, verbose_name="criteria layout"),
        ),
        migrations.RunPython(migrations.RunPython.noop, criteria_whole_again),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RenameField(
                    model_name="villageresult", old_name="criteria", new_name="stored_criteria"
                ),
                migrations.AlterField(
                    model_name="villageresult",
                    name="stored_criteria",
                    field=models.JSONField(
                        db_column="criteria", default=list, verbose_name="criteria"
                    ),
                ),
            ],
        ),
        migrations.RunPython(migrations.RunPython.noop, drop_like_index),
        migrations.AlterField(
            model_name="villageresult",
            name="village",
            field=models.ForeignKey(
                db_column="village_code",
                db_constraint=False,
                db_index=False,
                on_delete=models.PROTECT,
                related_name="+",
                to="regions.division",
            ),
        ),
    ]
