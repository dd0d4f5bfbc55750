import pytest
from django.core.management import call_command
from django.db import transaction
from django.db.models import Avg
from django.test import override_settings
from django.utils import translation

from taocun.accounts.models import Role, User
from taocun.core.models import AuditEntry
from taocun.demo.services import ACCOUNTS, DEMO_PASSWORD, DEMO_RULE_SETS, demo_load
from taocun.labels.models import Evaluation, EvaluationStatus, TownResult, VillageResult
from taocun.market.models import Product, ProductPhoto, Shop, ShopStatus, Variant
from taocun.market.selectors import product_search
from taocun.regions.models import Division, Household, Level
from taocun.sales.models import SalesOrder
from taocun.sales.models import Shop as LedgerShop

# Written on every load by design: the load itself and the (idempotent) divisions import.
RELOAD_ACTIONS = ("demo.load", "regions.divisions_import")


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker, tmp_path_factory):
    """One full load for the module (about 35 s), rolled back at the end."""
    media = tmp_path_factory.mktemp("media")
    with django_db_blocker.unblock(), override_settings(MEDIA_ROOT=media), transaction.atomic():
        yield demo_load(seed=7, progress=False)
        transaction.set_rollback(True)


@pytest.mark.django_db
def test_demo_loads_a_real_slice_with_flagged_inventions_and_an_account_per_role(demo):
    assert demo.divisions == 3910
    assert Division.objects.filter(level=Level.COUNTY).count() == 6
    assert Division.objects.get(code="371721121227").name == "丁楼村民委员会"
    # Invented numbers are flagged as such; no village is left without a households count.
    assert not Division.objects.filter(level=Level.VILLAGE, households__isnull=True).exists()
    assert not Division.objects.filter(households__isnull=False, demo_invented=False).exists()
    cangxi = Division.objects.get(code="510824000000")
    assert (cangxi.poverty, cangxi.demo_invented) == ("national", True)
    assert Household.objects.filter(village_id="371721121227").count() >= 25
    roles = {grant.role for user in User.objects.all() for grant in user.role_grants.all()}
    assert set(Role.values) <= roles
    officer = User.objects.get(phone=ACCOUNTS[3][0])
    assert officer.check_password(DEMO_PASSWORD)
    assert officer.role_grants.get(role=Role.OFFICER).region_id == "371721000000"
    seller = User.objects.get(phone=ACCOUNTS[1][0])
    assert seller.household.village_id == "371721121227"
    admin = User.objects.get(phone=ACCOUNTS[5][0])
    assert (admin.is_staff, admin.is_superuser) == (True, True)


@pytest.mark.django_db
def test_demo_writes_go_through_audited_services(demo):
    seller = User.objects.get(phone=ACCOUNTS[1][0])
    admin = User.objects.get(phone=ACCOUNTS[5][0])
    agent = User.objects.get(phone=ACCOUNTS[2][0])
    assert AuditEntry.objects.filter(
        action="user.link_household", object_id=str(seller.pk)
    ).exists()
    assert AuditEntry.objects.get(action="user.set_staff").object_id == str(admin.pk)
    invented = AuditEntry.objects.get(action="villages.set_households")
    assert (
        invented.after["villages"]
        == Division.objects.filter(level=Level.VILLAGE, demo_invented=True).count()
    )
    shop = Shop.objects.get(household=seller.household)
    verified = AuditEntry.objects.get(action="shop.verify", object_id=str(shop.pk))
    assert verified.actor_id == agent.pk
    assert AuditEntry.objects.filter(action="sales.orders_import").exists()


@pytest.mark.django_db
def test_demo_market_has_verified_shops_with_products_photos_and_search(demo):
    seller = User.objects.get(phone=ACCOUNTS[1][0])
    shop = Shop.objects.get(household=seller.household)
    assert (shop.status, shop.village_id) == (ShopStatus.VERIFIED, "371721121227")
    assert Shop.objects.filter(status=ShopStatus.VERIFIED).count() >= 10
    assert Shop.objects.exclude(status=ShopStatus.VERIFIED).count() == 0
    assert Product.objects.filter(is_listed=True).count() == Product.objects.count() >= 20
    assert not Product.objects.filter(photos__isnull=True).exists()
    assert ProductPhoto.objects.filter(width__lte=1200).count() == Product.objects.count()
    assert Variant.objects.filter(price_fen__gt=0, stock__gt=0).count() == Variant.objects.count()
    assert {p.shop.county_id for p in product_search(query="猕猴桃").items} == {"510824000000"}
    assert product_search(query="苹果").total >= 1
    assert product_search(query="汉服").items[0].shop_id == shop.pk


@pytest.mark.django_db
def test_demo_ledger_and_stored_evaluations_label_some_villages_and_explain_gaps(demo):
    assert SalesOrder.objects.count() == demo.orders > 300_000
    assert LedgerShop.objects.values("village_id").distinct().count() > 100
    labelled = []
    for name in DEMO_RULE_SETS:
        evaluation = Evaluation.objects.get(rule_set=name)
        assert evaluation.status == EvaluationStatus.DONE
        # Every stored round labels several villages and at least one Taobao town.
        assert evaluation.villages_labeled >= 3
        assert evaluation.towns_labeled >= 1
        assert TownResult.objects.filter(evaluation=evaluation, labeled=True).exists()
        assert demo.labelled[name] == (
            evaluation.villages_labeled,
            evaluation.towns_labeled,
            evaluation.clusters_set.count(),
        )
        labelled.append(evaluation.villages_labeled)
    assert labelled == sorted(labelled) and labelled[-1] > labelled[0]  # the rounds grow
    latest = Evaluation.objects.get(rule_set="aliresearch-2022")
    cluster = latest.clusters_set.get()  # 沙集镇's ten rural village committees
    assert cluster.villages >= 10 and cluster.sales_fen >= 10_000_000_000
    assert set(cluster.village_codes) <= set(
        VillageResult.objects.filter(evaluation=latest, labeled=True).values_list(
            "village_id", flat=True
        )
    )
    # Villages that sell but miss a criterion: their gaps are shown.
    earlier = Evaluation.objects.get(rule_set="aliresearch-2020")
    near = earlier.villages.filter(labeled=False, eligible=True, sales_fen__gt=300_000_000)
    assert near.count() >= 3
    assert all(any(not c["passed"] and c.get("gap") for c in v.criteria) for v in near)
    failing = VillageResult.objects.filter(evaluation=latest, labeled=False, sales_fen__gt=0)
    assert failing.count() > 50


@pytest.mark.django_db
def test_demo_order_values_are_real_ish(demo):
    """No scaling of values: an order of 大集镇's clothes costs tens or hundreds of yuan,
    one of 沙集镇's furniture hundreds or a few thousand."""

    def mean_yuan(village_prefix: str) -> float:
        orders = SalesOrder.objects.filter(shop__village__code__startswith=village_prefix)
        return orders.aggregate(mean=Avg("amount_cny_fen"))["mean"] / 100

    assert 80 < mean_yuan("371721121") < 600  # 曹县大集镇: 汉服, stage costumes
    assert 500 < mean_yuan("320324109") < 2_500  # 睢宁县沙集镇: furniture
    assert mean_yuan("330782") < 300  # 义乌: small commodities
    assert SalesOrder.objects.aggregate(mean=Avg("amount_cny_fen"))["mean"] < 200_000


@pytest.mark.django_db
def test_demo_is_deterministic_and_idempotent(demo):
    first = list(Division.objects.filter(level=Level.VILLAGE).values_list("code", "households"))
    households = list(Household.objects.values_list("village_id", "head_name", "members"))
    ids = {
        model.__name__: list(model.objects.order_by("pk").values_list("pk", flat=True))
        for model in (User, Household, Shop, Product, Variant, ProductPhoto, Evaluation)
    }
    counts = (
        SalesOrder.objects.count(),
        LedgerShop.objects.count(),
        AuditEntry.objects.exclude(action__in=RELOAD_ACTIONS).count(),
    )
    demo_load(seed=7, progress=False)
    assert (
        list(Division.objects.filter(level=Level.VILLAGE).values_list("code", "households"))
        == first
    )
    assert list(Household.objects.values_list("village_id", "head_name", "members")) == households
    assert {
        model.__name__: list(model.objects.order_by("pk").values_list("pk", flat=True))
        for model in (User, Household, Shop, Product, Variant, ProductPhoto, Evaluation)
    } == ids
    assert (
        SalesOrder.objects.count(),
        LedgerShop.objects.count(),
        AuditEntry.objects.exclude(action__in=RELOAD_ACTIONS).count(),
    ) == counts


@pytest.mark.django_db
def test_demo_command_loads_without_serving(demo, capsys):
    with translation.override("fr"):
        call_command("demo", "--no-serve", "--no-progress", "--seed", "7")
    out = capsys.readouterr().out
    assert "+8613800000004" in out and DEMO_PASSWORD in out
    assert "Données de démonstration prêtes : 3910 divisions" in out
    assert "agent de station" in out
    assert "aliresearch-2022" in out
    assert Division.objects.count() == 3910
