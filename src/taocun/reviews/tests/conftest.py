import pytest

from taocun.market.tests import factories as market
from taocun.reviews.tests import factories


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    """Review photos go to a temporary folder, never to var/media."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def orchard(tree):
    """A verified shop of 前仓村 with two products, and its keeper."""
    keeper = market.seller(tree.qianchang, display_name="王大姐")
    shop = market.shop(tree.qianchang, name="前仓果园", keeper=keeper)
    apples = market.product(shop, name="烟台红富士苹果")
    pears = market.product(shop, name="砀山酥梨", category="pears")
    return keeper, shop, apples, pears


@pytest.fixture
def keeper(orchard):
    return orchard[0]


@pytest.fixture
def shop(orchard):
    return orchard[1]


@pytest.fixture
def apples(orchard):
    return orchard[2]


@pytest.fixture
def pears(orchard):
    return orchard[3]


@pytest.fixture
def buyer(db):
    return factories.buyer(display_name="李华")


@pytest.fixture
def line(buyer, apples):
    """A line of the buyer's completed order of apples."""
    return factories.line(buyer, apples)
