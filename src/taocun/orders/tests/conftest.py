import pytest

from taocun.market.tests import factories as market
from taocun.orders.tests import factories


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def orchard(tree):
    """A verified shop of 前仓村 with one product (¥39.90, 10 in stock, 2.5 kg), its keeper."""
    keeper = market.seller(tree.qianchang)
    shop = market.shop(tree.qianchang, name="前仓果园", keeper=keeper)
    product = market.product(shop, name="烟台红富士苹果", price_fen=3990, stock=10)
    return keeper, shop, product


@pytest.fixture
def variant(orchard):
    return orchard[2].variants.get()


@pytest.fixture
def keeper(orchard):
    return orchard[0]


@pytest.fixture
def buyer(db):
    user = factories.buyer()
    factories.address(user)
    return user


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks):
    """Run on-commit callbacks (payments' events, notifications) as a real commit would."""

    def run(call, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return call(*args, **kwargs)

    return run


@pytest.fixture
def paid_order(buyer, variant, run_on_commit):
    checkout = factories.place(buyer, (variant, 2))
    run_on_commit(factories.pay, checkout)
    return checkout.orders.get()
