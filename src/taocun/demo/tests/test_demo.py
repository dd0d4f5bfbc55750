import pytest
from django.core.management import call_command
from django.utils import translation

from taocun.accounts.models import Role, User
from taocun.core.models import AuditEntry
from taocun.demo.services import ACCOUNTS, DEMO_PASSWORD, demo_load
from taocun.regions.models import Division, Household, Level

# Written on every load by design: the load itself and the (idempotent) divisions import.
RELOAD_ACTIONS = ("demo.load", "regions.divisions_import")


@pytest.mark.django_db
def test_demo_loads_a_real_slice_with_flagged_inventions_and_an_account_per_role():
    summary = demo_load(seed=7, progress=False)
    assert summary.divisions == 3910
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
def test_demo_writes_go_through_audited_services():
    demo_load(seed=7, progress=False)
    seller = User.objects.get(phone=ACCOUNTS[1][0])
    admin = User.objects.get(phone=ACCOUNTS[5][0])
    assert AuditEntry.objects.get(action="user.link_household").object_id == str(seller.pk)
    assert AuditEntry.objects.get(action="user.set_staff").object_id == str(admin.pk)
    invented = AuditEntry.objects.get(action="villages.set_households")
    assert (
        invented.after["villages"]
        == Division.objects.filter(level=Level.VILLAGE, demo_invented=True).count()
    )


@pytest.mark.django_db
def test_demo_is_deterministic_and_idempotent():
    demo_load(seed=7, progress=False)
    first = list(Division.objects.filter(level=Level.VILLAGE).values_list("code", "households"))
    households = list(Household.objects.values_list("village_id", "head_name", "members"))
    counts = (
        User.objects.count(),
        Household.objects.count(),
        AuditEntry.objects.exclude(action__in=RELOAD_ACTIONS).count(),
    )
    demo_load(seed=7, progress=False)
    assert (
        list(Division.objects.filter(level=Level.VILLAGE).values_list("code", "households"))
        == first
    )
    assert list(Household.objects.values_list("village_id", "head_name", "members")) == households
    assert (
        User.objects.count(),
        Household.objects.count(),
        AuditEntry.objects.exclude(action__in=RELOAD_ACTIONS).count(),
    ) == counts


@pytest.mark.django_db
def test_demo_command_loads_without_serving(capsys):
    with translation.override("fr"):
        call_command("demo", "--no-serve", "--no-progress", "--seed", "3")
    out = capsys.readouterr().out
    assert "+8613800000004" in out and DEMO_PASSWORD in out
    assert "Données de démonstration prêtes : 3910 divisions" in out
    assert "agent de station" in out
    assert Division.objects.count() == 3910
