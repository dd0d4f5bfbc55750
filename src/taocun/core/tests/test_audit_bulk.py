import pytest

from taocun.accounts.tests.factories import UserFactory
from taocun.core.audit import audit_records
from taocun.core.models import AuditEntry
from taocun.core.services import audit_record

pytestmark = pytest.mark.django_db


def _fields(entry: AuditEntry) -> tuple:
    return (
        entry.actor_id,
        entry.actor_label,
        entry.action,
        entry.object_type,
        entry.object_id,
        entry.before,
        entry.after,
    )


@pytest.mark.parametrize("actor", ["user", "provider:sandbox", None])
def test_bulk_entries_are_what_one_at_a_time_writes(actor, django_assert_num_queries):
    people = [UserFactory(), UserFactory()]
    actor = people[0] if actor == "user" else actor
    one_by_one = [
        audit_record(actor=actor, action="thing.change", obj=person, after={"n": n})
        for n, person in enumerate(people)
    ]
    with django_assert_num_queries(1):
        audit_records(
            actor=actor,
            action="thing.change",
            entries=[(person, None, {"n": n}) for n, person in enumerate(people)],
        )
    written = list(AuditEntry.objects.order_by("id"))
    assert [_fields(entry) for entry in written[2:]] == [
        _fields(AuditEntry.objects.get(pk=entry.pk)) for entry in one_by_one
    ]


def test_no_entries_write_nothing(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert audit_records(actor=None, action="thing.change", entries=[]) == []
