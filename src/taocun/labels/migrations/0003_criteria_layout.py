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
"""

from django.db import migrations, models


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
