"""Rows written together: one INSERT whose ids come back, for the services that batch."""

from collections.abc import Sequence

from django.db import connection, models


def bulk_insert(model: type[models.Model], rows: Sequence[models.Model]) -> None:
    """Insert ``rows`` of ``model`` in one statement and set their ids, so that rows
    pointing at them can be built next. Where the database cannot return the ids of a bulk
    insert (SQLite before 3.35) each row is inserted on its own."""
    if not rows:
        return
    if connection.features.can_return_rows_from_bulk_insert:
        model.objects.bulk_create(rows)
        return
    for row in rows:
        row.save(force_insert=True)
