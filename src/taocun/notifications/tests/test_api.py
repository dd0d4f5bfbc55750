"""/api/v1/notifications through the real HTTP layer."""

import pytest
from django.test import Client

from taocun.accounts.services import api_token_create
from taocun.core.models import AuditEntry
from taocun.notifications import services
from taocun.notifications.models import Notification
from taocun.notifications.tests.factories import person

pytestmark = pytest.mark.django_db

BASE = "/api/v1/notifications"


def note(user, title="订单已发货", kind="order.shipped"):
    return services.notify(user=user, kind=kind, title=title, body="顺丰 SF123", url="/market/")


@pytest.fixture
def me():
    return person()


@pytest.fixture
def api(me, client_for) -> Client:
    return client_for(me)


def test_list_is_mine_only_unread_first_and_paginated(me, api):
    other = person()
    old = note(me, "old")
    newer = note(me, "newer")
    newest = note(me, "newest")
    note(other, "not mine")
    services.notification_mark_read(notification=newest)

    listed = api.get(f"{BASE}/").json()
    page = api.get(f"{BASE}/", {"limit": 2, "offset": 2}).json()
    unread = api.get(f"{BASE}/", {"unread": "true"}).json()

    assert listed["count"] == 3
    assert [item["title"] for item in listed["items"]] == ["newer", "old", "newest"]
    assert [item["id"] for item in page["items"]] == [newest.pk]
    assert [item["id"] for item in unread["items"]] == [newer.pk, old.pk]
    first = listed["items"][0]
    assert first["kind"] == "order.shipped" and first["group"] == "orders"
    assert first["url"] == "/market/" and first["read_at"] is None


def test_limit_beyond_the_bound_is_a_400(api):
    response = api.get(f"{BASE}/", {"limit": 10_000})
    assert response.status_code == 400 and response.json()["field"] == "limit"


def test_unread_count_mark_read_and_mark_all_read(me, api):
    first, _second, _third = note(me), note(me), note(me)

    assert api.get(f"{BASE}/unread-count").json() == {"unread": 3}
    marked = api.post(f"{BASE}/{first.pk}/read")
    assert marked.status_code == 200 and marked.json()["read_at"] is not None
    assert api.get(f"{BASE}/unread-count").json() == {"unread": 2}
    assert api.post(f"{BASE}/read-all").json() == {"marked": 2}
    assert api.post(f"{BASE}/read-all").json() == {"marked": 0}
    assert api.get(f"{BASE}/unread-count").json() == {"unread": 0}


def test_anothers_notification_is_404_and_the_attempt_is_audited(me, api):
    theirs = note(person())

    read = api.get(f"{BASE}/{theirs.pk}")
    mark = api.post(f"{BASE}/{theirs.pk}/read")
    missing = api.get(f"{BASE}/{theirs.pk + 1000}")

    assert read.status_code == mark.status_code == missing.status_code == 404
    assert read.json()["code"] == "not_found"
    assert read.json()["message"] == missing.json()["message"].replace(
        str(theirs.pk + 1000), str(theirs.pk)
    )
    theirs.refresh_from_db()
    assert theirs.read_at is None
    denied = AuditEntry.objects.filter(action="access.denied")
    assert denied.count() == 2
    assert {(e.actor_id, e.object_type, e.object_id) for e in denied} == {
        (me.pk, "notifications.notification", str(theirs.pk))
    }


def test_own_notification_is_readable(me, api):
    mine = note(me)
    response = api.get(f"{BASE}/{mine.pk}")
    assert response.status_code == 200 and response.json()["title"] == "订单已发货"


def test_without_login_everything_is_401():
    anonymous = Client()
    for method, path in [
        ("get", f"{BASE}/"),
        ("get", f"{BASE}/unread-count"),
        ("post", f"{BASE}/read-all"),
        ("get", f"{BASE}/preferences"),
    ]:
        assert getattr(anonymous, method)(path).status_code == 401


def test_a_bearer_token_sees_its_users_notifications(me):
    note(me)
    token = api_token_create(user=me, name="phone app")[1]
    client = Client(headers={"Authorization": f"Bearer {token}"})
    assert client.get(f"{BASE}/unread-count").json() == {"unread": 1}


def test_preferences_get_and_put(me, api):
    shown = api.get(f"{BASE}/preferences").json()
    assert shown["language"] == "zh-hans" and shown["language_chosen"] == ""
    assert shown["channels"]["orders"] == {"sms": True, "email": True}
    assert shown["channels"]["reviews"] == {"sms": False, "email": True}

    changed = api.put(
        f"{BASE}/preferences",
        {"email": "me@example.com", "language": "fr", "channels": {"orders": {"sms": False}}},
        content_type="application/json",
    )

    assert changed.status_code == 200
    body = changed.json()
    assert (body["email"], body["language"], body["language_chosen"]) == (
        "me@example.com",
        "fr",
        "fr",
    )
    assert body["channels"]["orders"] == {"sms": False, "email": True}
    assert api.get(f"{BASE}/preferences").json() == body


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"email": "nope"}, "email"),
        ({"language": "de"}, "language"),
        ({"channels": {"weather": {"sms": True}}}, "channels"),
        ({"channels": {"orders": {"sms": "yes"}}}, "channels.orders.sms"),
    ],
)
def test_preferences_put_refuses_bad_input(api, payload, field):
    response = api.put(f"{BASE}/preferences", payload, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["field"] == field
    assert Notification.objects.count() == 0
