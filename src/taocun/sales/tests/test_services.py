"""The marketplace's writes to the ledger: shop_register, shop_close, order_post,
order_refund_update."""

from datetime import UTC, datetime

import pytest

from taocun.core.errors import Conflict, NotFound, ValidationError
from taocun.core.models import AuditEntry
from taocun.core.money import Money
from taocun.regions.tests.factories import HouseholdFactory
from taocun.sales.importing import rates_import
from taocun.sales.models import SalesOrder, ShopMove
from taocun.sales.services import order_post, order_refund_update, shop_close, shop_register
from taocun.sales.tests.conftest import CHOUJIANG, LIZU, QIANCANG

OPENED = datetime(2016, 3, 1, tzinfo=UTC)
PAID = datetime(2016, 11, 11, 2, 0, tzinfo=UTC)


@pytest.fixture
def shop(tree):
    return shop_register(shop_id="m-1", village_code=QIANCANG, opened_at=OPENED, actor="test")


def test_shop_register_is_idempotent_and_audited(shop):
    assert (shop.platform, shop.village_id, shop.kind) == ("taocun", QIANCANG, "personal")
    again = shop_register(shop_id="m-1", village_code=QIANCANG, opened_at=OPENED)
    assert again.pk == shop.pk
    assert AuditEntry.objects.filter(action="sales.shop_register").count() == 1


def test_shop_register_records_a_move(shop):
    shop_register(shop_id="m-1", village_code=LIZU, opened_at=OPENED)
    move = ShopMove.objects.get()
    assert (move.from_village_id, move.to_village_id, move.source) == (
        QIANCANG,
        LIZU,
        "shop_register",
    )
    assert AuditEntry.objects.filter(action="sales.shop_register").count() == 2


def test_shop_register_checks_its_inputs(tree):
    with pytest.raises(NotFound) as info:
        shop_register(shop_id="m-1", village_code="330782003299", opened_at=OPENED)
    assert info.value.field == "village_code"
    with pytest.raises(ValidationError) as info:
        shop_register(shop_id="m-1", village_code=CHOUJIANG, opened_at=OPENED)
    assert info.value.field == "village_code"
    with pytest.raises(ValidationError) as info:
        shop_register(shop_id="m-1", village_code=QIANCANG, opened_at=datetime(2016, 3, 1))
    assert info.value.field == "opened_at"
    with pytest.raises(ValidationError) as info:
        shop_register(shop_id="m-1", village_code=QIANCANG, opened_at=OPENED, platform="淘宝")
    assert info.value.field == "platform"
    elsewhere = HouseholdFactory(village=tree.lizu)
    with pytest.raises(ValidationError) as info:
        shop_register(shop_id="m-1", village_code=QIANCANG, opened_at=OPENED, household=elsewhere)
    assert info.value.field == "household"


def test_shop_close(shop):
    closed = datetime(2018, 1, 1, tzinfo=UTC)
    assert shop_close(shop_id="m-1", closed_at=closed).closed_at == closed
    shop_close(shop_id="m-1", closed_at=closed)
    assert AuditEntry.objects.filter(action="sales.shop_close").count() == 1
    with pytest.raises(ValidationError):
        shop_close(shop_id="m-1", closed_at=datetime(2015, 1, 1, tzinfo=UTC))
    with pytest.raises(NotFound):
        shop_close(shop_id="nope", closed_at=closed)


def test_order_post_is_idempotent_and_audited_once(shop):
    order = order_post(order_id="o-1", shop_id="m-1", amount=Money(12345), paid_at=PAID)
    assert (order.platform, order.status, order.amount_cny_fen) == ("taocun", "completed", 12345)

    again = order_post(order_id="o-1", shop_id="m-1", amount=Money(12345), paid_at=PAID)

    assert again.pk == order.pk
    assert SalesOrder.objects.count() == 1
    assert AuditEntry.objects.filter(action="sales.order_post").count() == 1


def test_order_post_again_with_other_values_is_a_conflict(shop):
    order_post(order_id="o-1", shop_id="m-1", amount=Money(12345), paid_at=PAID)
    with pytest.raises(Conflict) as info:
        order_post(order_id="o-1", shop_id="m-1", amount=Money(999), paid_at=PAID)
    assert info.value.field == "amount_fen"


def test_order_post_checks_its_inputs(shop):
    with pytest.raises(NotFound) as info:
        order_post(order_id="o-1", shop_id="nope", amount=Money(1), paid_at=PAID)
    assert info.value.field == "shop_id"
    with pytest.raises(ValidationError) as info:
        order_post(order_id="o-1", shop_id="m-1", amount=Money(-1), paid_at=PAID)
    assert info.value.field == "amount"
    with pytest.raises(ValidationError) as info:
        order_post(order_id="", shop_id="m-1", amount=Money(1), paid_at=PAID)
    assert info.value.field == "order_id"
    with pytest.raises(ValidationError) as info:
        order_post(order_id="o-1", shop_id="m-1", amount=Money(1, "USD"), paid_at=PAID)
    assert info.value.field == "currency"
    assert not SalesOrder.objects.exists()


def test_order_in_another_currency_is_converted(shop, write):
    rates_import(path=write("currency,valid_from,cny_per_unit\nHKD,2016-01-01,0.85\n"))
    order = order_post(order_id="o-1", shop_id="m-1", amount=Money(1001, "HKD"), paid_at=PAID)
    assert (order.amount_fen, order.currency, order.amount_cny_fen) == (1001, "HKD", 851)
    order = order_refund_update(order_id="o-1", refunded=Money(1001, "HKD"))
    assert (order.refunded_cny_fen, order.status) == (851, "refunded")


def test_refunds_set_the_total_and_are_idempotent(shop):
    order_post(order_id="o-1", shop_id="m-1", amount=Money(10000), paid_at=PAID)

    order = order_refund_update(order_id="o-1", refunded=Money(2500))
    assert (order.refunded_fen, order.refunded_cny_fen, order.status) == (2500, 2500, "refunded")
    order_refund_update(order_id="o-1", refunded=Money(2500))
    assert AuditEntry.objects.filter(action="sales.order_refund_update").count() == 1

    order = order_refund_update(order_id="o-1", refunded=Money(0))
    assert (order.refunded_fen, order.status) == (0, "completed")
    with pytest.raises(ValidationError):
        order_refund_update(order_id="o-1", refunded=Money(10001))
    with pytest.raises(ValidationError):
        order_refund_update(order_id="o-1", refunded=Money(1, "USD"))
    with pytest.raises(NotFound):
        order_refund_update(order_id="o-2", refunded=Money(1))
