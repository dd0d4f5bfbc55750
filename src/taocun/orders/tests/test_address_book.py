"""The buyer's address book page: list, add, change (with the checkout's and the API's
validation, each error under its field), delete after confirming, choose the default; and
nobody sees or touches another buyer's addresses."""

import re

import pytest
from django.conf import settings
from django.test import Client

from taocun.core.models import AuditEntry
from taocun.orders.models import ADDRESSES_MAX, Address
from taocun.orders.tests import factories

BOOK = "/orders/addresses/"


def english(client: Client) -> Client:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


@pytest.fixture
def book(db):
    """A buyer with two addresses (the first is the default) and their logged-in client."""
    buyer = factories.buyer()
    home = factories.address(buyer, recipient="李华")
    work = factories.address(buyer, recipient="王芳", phone="13900139000", detail="工人路 8 号")
    return buyer, home, work


def form(address: Address, **changes) -> dict:
    return {
        "recipient": address.recipient,
        "phone": address.phone,
        "province": address.province,
        "city": address.city,
        "district": address.district,
        "division_code": address.division_id or "",
        "detail": address.detail,
    } | changes


def test_the_book_lists_the_addresses_default_first(book, client_for):
    buyer, home, work = book
    html = english(client_for(buyer)).get(BOOK).content.decode()
    assert html.index("李华") < html.index("王芳")
    assert re.search(r"李华</strong> \+8613800138000 <span class=\"badge\">Default</span>", html)
    assert f'action="/orders/addresses/{work.pk}/default/"' in html
    assert f'action="/orders/addresses/{home.pk}/default/"' not in html
    assert f'href="/orders/addresses/{home.pk}/delete/"' in html


def test_the_book_is_linked_from_my_orders(book, client_for):
    client = client_for(book[0])
    assert f'href="{BOOK}"' in client.get("/orders/").content.decode()


def test_change_an_address(book, client_for):
    buyer, home, _work = book
    client = english(client_for(buyer))
    page = client.get(f"/orders/addresses/{home.pk}/").content.decode()
    assert 'value="13800138000"' in page and 'value="稠州北路 1 号"' in page
    assert "This is your default address." in page
    assert page.count("12 digits; fills the province") == 1  # under the division code only

    response = client.post(
        f"/orders/addresses/{home.pk}/",
        form(home, detail="  稠州北路   2 号 ", phone="139 0000 0001"),
    )

    assert response.status_code == 302 and response["Location"] == BOOK
    home.refresh_from_db()
    assert (home.detail, home.phone, home.is_default) == ("稠州北路 2 号", "+8613900000001", True)
    assert AuditEntry.objects.filter(action="orders.address_update", object_id=str(home.pk))
    assert "The address is saved." in client.get(BOOK).content.decode()


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"phone": "110"}, "phone", "110 is not a mainland China mobile number"),
        ({"recipient": "   "}, "recipient", "This field is required."),
        ({"detail": "路" * 121}, "detail", "At most 120 characters (got 121)."),
        ({"province": "", "division_code": ""}, "province", "Name the province"),
        ({"division_code": "999999999999"}, "division_code", "There is no division 999999999999."),
        ({"city": "金华\x00"}, "city", "Must not contain NUL characters."),
    ],
)
def test_invalid_input_is_named_under_its_field_and_nothing_changes(
    book, client_for, changes, field, message
):
    buyer, home, _work = book
    before = form(home)

    response = english(client_for(buyer)).post(
        f"/orders/addresses/{home.pk}/", form(home, **changes)
    )

    assert response.status_code == 400
    html = response.content.decode()
    error = re.search(rf'<p class="error" id="id_{field}_error" role="alert">([^<]*)</p>', html)
    assert error and message in error.group(1).replace("&#x27;", "'"), html
    assert f'id="id_{field}" name="{field}"' in html and 'aria-invalid="true"' in html
    home.refresh_from_db()
    assert form(home) == before


def test_the_same_rules_as_the_api(book, client_for):
    """The page and ``PUT addresses/{id}`` refuse the same phone number with the same
    message, naming the same field."""
    buyer, home, _work = book
    client = english(client_for(buyer))
    api = client.put(
        f"/api/v1/orders/addresses/{home.pk}",
        data=form(home, phone="12345"),
        content_type="application/json",
    ).json()
    page = client.post(f"/orders/addresses/{home.pk}/", form(home, phone="12345")).content.decode()
    assert api["field"] == "phone" and api["message"] in page


def test_add_an_address_as_the_default(book, client_for, tree):
    buyer, home, _work = book
    client = english(client_for(buyer))
    assert "Use as my default address" in client.get("/orders/addresses/new/").content.decode()

    response = client.post(
        "/orders/addresses/new/",
        {
            "recipient": "赵小满",
            "phone": "13700137000",
            "division_code": "330782003210",
            "detail": "前仓村 3 号",
            "is_default": "1",
        },
    )

    assert response.status_code == 302
    new = buyer.addresses.get(recipient="赵小满")
    assert new.is_default and (new.province, new.city, new.district) == (
        "浙江省",
        "金华市",
        "义乌市",
    )
    home.refresh_from_db()
    assert not home.is_default


def test_the_book_is_full_at_twenty(book, client_for):
    buyer = book[0]
    for i in range(ADDRESSES_MAX - 2):
        factories.address(buyer, detail=f"{i} 号")
    response = english(client_for(buyer)).post(
        "/orders/addresses/new/", form(buyer.addresses.first(), detail="再一个")
    )
    assert response.status_code == 400
    assert "at most 20 addresses" in response.content.decode()
    assert buyer.addresses.count() == ADDRESSES_MAX


def test_make_another_address_the_default(book, client_for):
    buyer, home, work = book
    client = english(client_for(buyer))

    response = client.post(f"/orders/addresses/{work.pk}/default/")

    assert response.status_code == 302 and response["Location"] == BOOK
    home.refresh_from_db()
    work.refresh_from_db()
    assert work.is_default and not home.is_default
    assert buyer.addresses.filter(is_default=True).count() == 1
    assert (work.recipient, work.phone, work.detail) == ("王芳", "+8613900139000", "工人路 8 号")
    assert client.get(f"/orders/addresses/{work.pk}/default/").status_code == 405
    # One audit entry that says what changed, not an edit of the whole address.
    entries = AuditEntry.objects.filter(object_id=str(work.pk), action__startswith="orders.")
    assert list(entries.order_by("id").values_list("action", flat=True)) == [
        "orders.address_create",
        "orders.address_set_default",
    ]
    # Again: already the default, nothing is written.
    client.post(f"/orders/addresses/{work.pk}/default/")
    assert entries.count() == 2


def test_delete_asks_first_then_deletes(book, client_for):
    buyer, home, work = book
    client = english(client_for(buyer))

    confirm = client.get(f"/orders/addresses/{home.pk}/delete/")

    assert confirm.status_code == 200
    html = confirm.content.decode()
    assert "Delete this address?" in html and "稠州北路 1 号" in html
    assert "Your newest other address becomes the default." in html
    assert Address.objects.filter(pk=home.pk).exists()  # nothing happened yet

    response = client.post(f"/orders/addresses/{home.pk}/delete/")

    assert response.status_code == 302 and response["Location"] == BOOK
    assert not Address.objects.filter(pk=home.pk).exists()
    work.refresh_from_db()
    assert work.is_default
    assert "The address is deleted." in client.get(BOOK).content.decode()


def test_a_placed_order_keeps_its_address_after_delete(book, client_for, variant):
    buyer, home, _work = book
    checkout = factories.place(buyer, (variant, 1), address_=home)
    client_for(buyer).post(f"/orders/addresses/{home.pk}/delete/")
    checkout.refresh_from_db()
    assert checkout.ship_detail == "稠州北路 1 号"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/orders/addresses/{id}/"),
        ("post", "/orders/addresses/{id}/"),
        ("get", "/orders/addresses/{id}/delete/"),
        ("post", "/orders/addresses/{id}/delete/"),
        ("post", "/orders/addresses/{id}/default/"),
    ],
)
def test_another_buyers_address_does_not_exist(book, client_for, method, path):
    buyer, _home, work = book
    stranger = factories.buyer()
    response = getattr(client_for(stranger), method)(path.format(id=work.pk), form(work))
    assert response.status_code == 404
    assert "稠州北路" not in response.content.decode() and "工人路" not in response.content.decode()
    work.refresh_from_db()
    assert work.buyer == buyer and not work.is_default and work.detail == "工人路 8 号"
    assert "工人路" not in client_for(stranger).get(BOOK).content.decode()


def test_the_pages_need_a_login(db):
    response = Client().get(BOOK)
    assert response.status_code == 302 and "/login" in response["Location"]
