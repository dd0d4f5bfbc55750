"""Who may review, reply, report and moderate; every refusal leaves an audit entry."""

import pytest
from django.utils.translation import override

from taocun.accounts.models import Role
from taocun.core.errors import NotAuthenticated, NotFound, PermissionDenied
from taocun.core.models import AuditEntry
from taocun.market.tests import factories as market
from taocun.reviews import services
from taocun.reviews.access import (
    access_moderation_queue,
    access_review_create,
    access_review_moderate,
    access_review_reply,
    access_review_report,
    access_review_view,
)
from taocun.reviews.tests import factories


def denied(what: str) -> bool:
    return AuditEntry.objects.filter(action="access.denied", after__what=what).exists()


def test_buyer_of_the_line_may_review(buyer, line):
    assert access_review_create(user=buyer, line=line) == line


def test_another_buyer_may_not(line):
    with pytest.raises(PermissionDenied):
        access_review_create(user=factories.buyer(), line=line)
    assert denied("review create")


def test_seller_may_not_review_own_shop(keeper, apples):
    own_purchase = factories.line(keeper, apples)
    with override("en"), pytest.raises(PermissionDenied) as caught:
        access_review_create(user=keeper, line=own_purchase)
    assert "Sellers" in caught.value.message and denied("review create")


def test_anonymous_is_asked_to_log_in(line):
    from django.contrib.auth.models import AnonymousUser

    with pytest.raises(NotAuthenticated):
        access_review_create(user=AnonymousUser(), line=line)


def test_only_the_shops_sellers_reply(buyer, line, keeper, tree):
    review = services.review_create(actor=buyer, line=line, stars=4)
    assert access_review_reply(user=keeper, review=review) == review
    other_keeper = market.seller(tree.lizu)
    market.shop(tree.lizu, keeper=other_keeper)
    with pytest.raises(PermissionDenied):
        access_review_reply(user=other_keeper, review=review)
    with pytest.raises(PermissionDenied):
        access_review_reply(user=buyer, review=review)
    assert denied("review reply")


@pytest.mark.parametrize(
    "role, region, allowed",
    [
        (Role.PROGRAM_ADMIN, None, True),
        (Role.OFFICER, "yiwu", True),
        (Role.OFFICER, "caoxian", False),
        (Role.AGENT, "yiwu", False),
        (Role.BUYER, None, False),
    ],
)
def test_moderators(buyer, line, tree, role, region, allowed):
    review = services.review_create(actor=buyer, line=line, stars=1)
    user = market.reviewer(role, getattr(tree, region) if region else None)
    if allowed:
        assert access_review_moderate(user=user, review=review) == review
    else:
        with pytest.raises(PermissionDenied):
            access_review_moderate(user=user, review=review)
        assert denied("review moderate")


def test_staff_moderate_everywhere_and_queue_scope(tree):
    assert access_moderation_queue(user=factories.buyer(is_staff=True)) is None
    officer = market.reviewer(Role.OFFICER, tree.yiwu)
    assert access_moderation_queue(user=officer) == ["330782"]
    with pytest.raises(PermissionDenied):
        access_moderation_queue(user=market.reviewer(Role.AGENT, tree.yiwu))


def test_hidden_review_is_seen_by_author_keeper_and_moderators(buyer, line, keeper):
    review = services.review_create(actor=buyer, line=line, stars=1)
    services.review_hide(actor=factories.buyer(is_staff=True), review=review, reason="x")
    review.refresh_from_db()
    for user in (buyer, keeper, factories.buyer(is_staff=True)):
        assert access_review_view(user=user, review=review) == review
    with pytest.raises(NotFound):
        access_review_view(user=factories.buyer(), review=review)
    with pytest.raises(NotFound):
        access_review_report(user=factories.buyer(), review=review)


def test_author_cannot_report_own_review(buyer, line):
    review = services.review_create(actor=buyer, line=line, stars=1)
    with pytest.raises(PermissionDenied):
        access_review_report(user=buyer, review=review)
