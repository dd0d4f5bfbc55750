"""Property test of the rating invariant: after any sequence of creates, edits, hides and
unhides, each product's and shop's ``rating_sum``/``rating_count`` equal the sum and count
of its visible reviews."""

import pytest
from django.db.models import Count, Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from taocun.core.errors import Conflict
from taocun.market.models import Product, Shop
from taocun.market.tests import factories as market
from taocun.reviews import services
from taocun.reviews.models import Review, ReviewStatus
from taocun.reviews.tests import factories

LINES = 6  # order lines across two products of one shop and one product of another

steps = st.lists(
    st.one_of(
        st.tuples(st.just("create"), st.integers(0, LINES - 1), st.integers(1, 5)),
        st.tuples(st.just("edit"), st.integers(0, LINES - 1), st.integers(1, 5)),
        st.tuples(st.just("hide"), st.integers(0, LINES - 1), st.just(0)),
        st.tuples(st.just("unhide"), st.integers(0, LINES - 1), st.just(0)),
    ),
    max_size=25,
)


def assert_ratings_match_visible_reviews() -> None:
    for model, key in ((Product, "product"), (Shop, "shop")):
        visible = {
            row[key]: (row["total"], row["count"])
            for row in Review.objects.filter(status=ReviewStatus.VISIBLE)
            .values(key)
            .annotate(total=Sum("stars"), count=Count("id"))
        }
        for obj in model.objects.all():
            expected = visible.get(obj.pk, (0, 0))
            assert (obj.rating_sum, obj.rating_count) == expected, (model.__name__, obj.pk)
            if model is Product:
                average = expected[0] * 100 // expected[1] if expected[1] else 0
                assert obj.rating_avg_centi == average


@pytest.fixture
def world(tree):
    buyer = factories.buyer()
    moderator = factories.buyer(is_staff=True)
    shop_a = market.shop(tree.qianchang)
    shop_b = market.shop(tree.lizu)
    products = [
        market.product(shop_a, name="苹果"),
        market.product(shop_a, name="酥梨", category="pears"),
        market.product(shop_b, name="蜜桔", category="citrus"),
    ]
    lines = [factories.line(buyer, products[i % 3]) for i in range(LINES)]
    return buyer, moderator, lines


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=steps)
def test_ratings_equal_visible_reviews(world, django_db_blocker, steps):
    buyer, moderator, lines = world
    # Each example starts from no reviews (the fixture is shared across examples).
    for review in Review.objects.filter(status=ReviewStatus.VISIBLE):
        services.review_hide(actor=moderator, review=review, reason="reset")
    Review.objects.all().delete()
    for action, index, stars in steps:
        review = Review.objects.filter(line=lines[index]).first()
        try:
            if action == "create":
                services.review_create(actor=buyer, line=lines[index], stars=stars)
            elif review is None:
                continue
            elif action == "edit":
                services.review_edit(actor=buyer, review=review, stars=stars)
            elif action == "hide":
                services.review_hide(actor=moderator, review=review, reason="test")
            else:
                services.review_unhide(actor=moderator, review=review)
        except Conflict:
            pass  # a second review of a line, hiding what is hidden…: refused, no change
        assert_ratings_match_visible_reviews()
