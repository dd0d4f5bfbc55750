"""The inbox, the settings page and the bell in the header, through the test client."""

import pytest
from django.test import Client
from django.urls import reverse

from taocun.core.models import AuditEntry
from taocun.notifications import selectors, services
from taocun.notifications.models import Notification
from taocun.notifications.tests.factories import person
from taocun.notifications.views import PAGE_SIZE

pytestmark = pytest.mark.django_db

INBOX = "/notifications/"


def note(user, title="买家已付款", url="/market/"):
    return services.notify(user=user, kind="order.paid", title=title, body="订单 T9", url=url)


def test_visitors_are_sent_to_log_in_and_see_no_bell():
    response = Client().get(INBOX)
    assert response.status_code == 302 and reverse("accounts:login") in response["Location"]
    assert 'class="notifications-bell"' not in Client().get("/").content.decode()


def test_the_bell_shows_the_unread_count_on_every_page(client_for):
    user = person()
    client = client_for(user)
    assert 'class="notifications-bell"' in client.get("/").content.decode()
    assert "badge" not in _bell(client.get("/").content.decode())

    note(user), note(user)
    note(person())

    bell = _bell(client.get("/").content.decode())
    assert '<span class="badge badge-role">2</span>' in bell
    assert 'href="/notifications/"' in bell


def _bell(page: str) -> str:
    start = page.index('class="notifications-bell"')
    return page[start : page.index("</a>", start)]


def test_inbox_lists_mine_unread_first_and_marked(client_for):
    user = person()
    read = note(user, "已读的通知")
    unread = note(user, "未读的通知")
    note(person(), "别人的通知")
    services.notification_mark_read(notification=read)

    page = client_for(user).get(INBOX).content.decode()

    assert page.index("未读的通知") < page.index("已读的通知")
    assert "别人的通知" not in page
    assert f'action="/notifications/{unread.pk}/read/"' in page
    assert f'action="/notifications/{read.pk}/read/"' not in page
    assert 'class="unread"' in page and 'class="read"' in page


def test_unread_filter_and_pagination(client_for):
    user = person()
    for number in range(PAGE_SIZE + 3):
        note(user, f"通知{number:02d}")
    services.notification_mark_read(notification=Notification.objects.get(title="通知00"))
    client = client_for(user)

    first = client.get(INBOX).content.decode()
    second = client.get(INBOX, {"page": 2}).content.decode()
    unread = client.get(INBOX, {"unread": "1", "page": 2}).content.decode()

    assert "通知22" in first and "通知00" not in first
    assert "通知00" in second and 'rel="prev"' in second
    assert "通知00" not in unread and "unread=1&amp;page=1" in unread


def test_mark_one_and_all_read_then_come_back(client_for):
    user = person()
    first, _second, _third = note(user), note(user), note(user)
    client = client_for(user)

    one = client.post(f"/notifications/{first.pk}/read/", {"next": "/notifications/?unread=1"})
    assert one.status_code == 302 and one["Location"] == "/notifications/?unread=1"
    assert selectors.notifications_unread_count(user=user) == 2

    everything = client.post("/notifications/read-all/", {"next": "https://evil.example/"})
    assert everything.status_code == 302 and everything["Location"] == INBOX
    assert selectors.notifications_unread_count(user=user) == 0
    assert client.get("/notifications/read-all/").status_code == 405


def test_opening_a_notification_marks_it_read_and_follows_its_link(client_for):
    user = person()
    with_link, without_link = note(user, url="/market/search/"), note(user, url="")
    client = client_for(user)

    followed = client.get(f"/notifications/{with_link.pk}/")
    stays = client.get(f"/notifications/{without_link.pk}/")

    assert followed["Location"] == "/market/search/" and stays["Location"] == INBOX
    assert not Notification.objects.filter(user=user, read_at__isnull=True).exists()


def test_anothers_notification_is_404_and_audited(client_for):
    me, theirs = person(), note(person())
    client = client_for(me)

    opened = client.get(f"/notifications/{theirs.pk}/")
    marked = client.post(f"/notifications/{theirs.pk}/read/")

    assert opened.status_code == marked.status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None
    assert AuditEntry.objects.filter(action="access.denied", actor=me).count() == 2


def test_preferences_page_shows_and_saves_choices(client_for):
    user = person()
    client = client_for(user)
    page = client.get("/notifications/preferences/").content.decode()
    assert 'name="orders-sms" aria-label' in page
    assert 'name="reviews-sms" aria-label="评价: 短信">' in page  # off by default
    assert user.phone in page

    saved = client.post(
        "/notifications/preferences/",
        {"orders-email": "on", "reviews-sms": "on", "email": "me@example.com", "language": "en"},
    )

    assert saved.status_code == 302
    found = selectors.preferences_get(user=user)
    assert found.channels("orders").sms is False and found.channels("orders").email is True
    assert found.channels("reviews").sms is True and found.channels("payments").sms is False
    assert (found.email, found.language) == ("me@example.com", "en")
    after = client.get("/notifications/preferences/").content.decode()
    assert 'value="me@example.com"' in after and '<option value="en" selected>' in after


def test_preferences_page_keeps_what_was_typed_on_error(client_for):
    user = person()
    response = client_for(user).post(
        "/notifications/preferences/", {"email": "not-an-address", "orders-sms": "on"}
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert 'value="not-an-address"' in page and "field-error" in page
    assert selectors.preferences_get(user=user).email == ""


@pytest.mark.parametrize(
    ("language", "words"),
    [("zh-hans", ["通知", "全部标为已读"]), ("fr", ["Notifications", "Tout marquer comme lu"])],
)
def test_inbox_speaks_the_users_language(client_for, language, words):
    user = person()
    note(user)
    client = client_for(user)
    client.cookies["django_language"] = language
    page = client.get(INBOX).content.decode()
    for word in words:
        assert word in page
