"""Who may open, edit, verify and see shops and products; refusals are audited."""

import pytest
from django.contrib.auth.models import AnonymousUser

from taocun.accounts.models import Role
from taocun.accounts.tests.factories import UserFactory
from taocun.core.errors import NotAuthenticated, NotFound, PermissionDenied
from taocun.core.models import AuditEntry
from taocun.market.access import (
    access_product_edit,
    access_product_view,
    access_review_queue,
    access_shop_edit,
    access_shop_open,
    access_shop_verify,
    access_shop_view,
)
from taocun.market.tests import factories


def denials(obj) -> list[dict]:
    return list(
        AuditEntry.objects.filter(
            action="access.denied", object_id=str(obj.pk), object_type=obj._meta.label_lower
        ).values_list("after", flat=True)
    )


def test_only_a_seller_with_a_household_opens_a_shop(tree):
    keeper = factories.seller(tree.qianchang)
    assert access_shop_open(user=keeper) == keeper.household
    buyer = UserFactory(roles=[(Role.BUYER, None)], password=None)
    with pytest.raises(PermissionDenied):
        access_shop_open(user=buyer)
    no_household = UserFactory(roles=[(Role.SELLER, None)], password=None)
    with pytest.raises(PermissionDenied):
        access_shop_open(user=no_household)
    with pytest.raises(NotAuthenticated):
        access_shop_open(user=AnonymousUser())


def test_a_seller_edits_only_their_households_shop_and_products(orchard, tree):
    keeper, shop, product = orchard
    assert access_shop_edit(user=keeper, shop=shop) == shop
    assert access_product_edit(user=keeper, product=product) == product
    # A family member who is also a seller shares the shop.
    relative = UserFactory(roles=[(Role.SELLER, None)], household=keeper.household, password=None)
    assert access_product_edit(user=relative, product=product) == product

    neighbour = factories.seller(tree.qianchang)
    factories.shop(tree.qianchang, name="邻居果园", keeper=neighbour)
    with pytest.raises(PermissionDenied):
        access_product_edit(user=neighbour, product=product)
    with pytest.raises(PermissionDenied):
        access_shop_edit(user=neighbour, shop=shop)
    assert denials(product) == [{"what": "product edit"}]
    assert denials(shop) == [{"what": "shop edit"}]
    # Being in the household is not enough without the seller role.
    member = UserFactory(roles=[(Role.BUYER, None)], household=keeper.household, password=None)
    with pytest.raises(PermissionDenied):
        access_product_edit(user=member, product=product)


@pytest.mark.parametrize(
    ("role", "region_name", "allowed"),
    [
        (Role.AGENT, "choujiang", True),  # the township of 前仓村
        (Role.AGENT, "qianchang", True),
        (Role.AGENT, "houzhai", False),  # another township of the county
        (Role.OFFICER, "yiwu", True),
        (Role.OFFICER, "caoxian", False),
        (Role.PROGRAM_ADMIN, None, True),
        (Role.SELLER, None, False),
        (Role.BUYER, None, False),
    ],
)
def test_verification_by_scope(tree, role, region_name, allowed):
    shop = factories.shop(tree.qianchang, verified=False)
    user = factories.reviewer(role, getattr(tree, region_name) if region_name else None)
    if allowed:
        assert access_shop_verify(user=user, shop=shop) == shop
    else:
        with pytest.raises(PermissionDenied):
            access_shop_verify(user=user, shop=shop)
        assert denials(shop) == [{"what": "shop verify"}]


def test_shops_and_products_not_on_sale_are_hidden_from_the_public(tree):
    keeper = factories.seller(tree.qianchang)
    shop = factories.shop(tree.qianchang, keeper=keeper, verified=False)
    product = factories.product(shop)
    agent = factories.reviewer(Role.AGENT, tree.choujiang)
    stranger = UserFactory(roles=[(Role.BUYER, None)], password=None)
    for user in (keeper, agent):
        assert access_shop_view(user=user, shop=shop) == shop
        assert access_product_view(user=user, product=product) == product
    for user in (stranger, AnonymousUser()):
        with pytest.raises(NotFound):
            access_shop_view(user=user, shop=shop)
        with pytest.raises(NotFound):
            access_product_view(user=user, product=product)


def test_the_review_queue_is_for_reviewers(tree):
    assert access_review_queue(user=factories.reviewer(Role.OFFICER, tree.yiwu)) == ["330782"]
    assert access_review_queue(user=factories.reviewer(Role.PROGRAM_ADMIN, None)) is None
    keeper = factories.seller(tree.qianchang)
    with pytest.raises(PermissionDenied):
        access_review_queue(user=keeper)
    assert denials(keeper) == [{"what": "shop review queue"}]
