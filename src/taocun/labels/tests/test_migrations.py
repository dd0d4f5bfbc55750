"""Migration 0003 backwards and forwards again: results stored as values against their
evaluation's layout get their whole criteria lists back (what the code before it reads),
and read the same after migrating forward again."""

import json

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from taocun.labels.models import VillageResult
from taocun.labels.tests.factories import EvaluationFactory, VillageResultFactory

BEFORE = ("labels", "0002_result_indexes_for_storing_and_lists")


def _migrate(targets) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)


def _village_indexes() -> list[str]:
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, "labels_villageresult")
    return sorted(
        name
        for name, info in constraints.items()
        if info["index"] and not info["unique"] and info["columns"] == ["village_code"]
    )


@pytest.mark.django_db(transaction=True)
def test_migrating_back_writes_the_whole_criteria_lists_again():
    result = VillageResultFactory(evaluation=EvaluationFactory())
    assert isinstance(result.stored_criteria[0], list)
    whole = VillageResult.objects.get(pk=result.pk).criteria
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes("labels")
    try:
        _migrate([BEFORE])
        with connection.cursor() as cursor:
            cursor.execute("SELECT criteria FROM labels_villageresult WHERE id = %s", [result.pk])
            raw = cursor.fetchone()[0]
        assert (json.loads(raw) if isinstance(raw, str) else raw) == whole
        assert whole[1]["threshold"] and whole[1]["unit"] == "fen"
        indexes = _village_indexes()
        assert len(indexes) == 1 and not indexes[0].endswith("_like")
    finally:
        _migrate(latest)
    assert _village_indexes() == []
    assert VillageResult.objects.get(pk=result.pk).criteria == whole
