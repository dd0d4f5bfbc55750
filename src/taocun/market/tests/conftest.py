import pytest

from taocun.market.tests import factories


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    """Uploaded photos go to a temporary folder, never to var/media."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def orchard(tree):
    """A verified shop of 前仓村 with one product, and its keeper."""
    keeper = factories.seller(tree.qianchang)
    shop = factories.shop(tree.qianchang, name="前仓果园", keeper=keeper)
    product = factories.product(shop, name="烟台红富士苹果", harvest_months=[9, 10])
    return keeper, shop, product
