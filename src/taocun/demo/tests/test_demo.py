import pytest
from django.core.management import call_command

from taocun.accounts.models import Role, User
from taocun.core.models import AuditEntry
from taocun.demo.services import ACCOUNTS, DEMO_PASSWORD, demo_load
from taocun.regions.models import Division, Household, Level


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


@pytest.mark.django_db
def test_demo_is_deterministic_and_idempotent():
    demo_load(seed=7, progress=False)
    first = list(Division.objects.filter(level=Level.VILLAGE).values_list("code", "households"))
    households = list(Household.objects.values_list("village_id", "head_name", "members"))
    counts = (
        User.objects.count(),
        Household.objects.count(),
        AuditEntry.objects.filter(action="role.grant").count(),
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
        AuditEntry.objects.filter(action="role.grant").count(),
    ) == counts


@pytest.mark.django_db
def test_demo_command_loads_without_serving(capsys):
    call_command("demo", "--no-serve", "--no-progress", "--seed", "3")
    out = capsys.readouterr().out
    assert "+8613800000004" in out and DEMO_PASSWORD in out
    assert Division.objects.count() == 3910
