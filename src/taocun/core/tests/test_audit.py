import pytest

from taocun.accounts.tests.factories import UserFactory
from taocun.core.models import AuditEntry
from taocun.core.services import audit_record


@pytest.mark.django_db
def test_audit_record_keeps_actor_object_and_states():
    user = UserFactory()
    entry = audit_record(
        actor=user, action="thing.change", obj=user, before={"a": 1}, after={"a": 2}
    )
    entry = AuditEntry.objects.get(pk=entry.pk)
    assert entry.actor == user
    assert entry.actor_label == user.phone
    assert (entry.object_type, entry.object_id) == ("accounts.user", str(user.pk))
    assert (entry.before, entry.after) == ({"a": 1}, {"a": 2})


@pytest.mark.django_db
def test_audit_entries_are_append_only():
    entry = audit_record(actor=None, action="system.thing", object_type="x", object_id=1)
    assert entry.actor_label == "system"
    entry.action = "rewritten"
    with pytest.raises(RuntimeError):
        entry.save()
    with pytest.raises(RuntimeError):
        entry.delete()
    assert AuditEntry.objects.get(pk=entry.pk).action == "system.thing"
