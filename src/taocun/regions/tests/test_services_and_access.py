import pytest

from taocun.accounts.models import Role
from taocun.core.errors import NotAuthenticated, PermissionDenied, ValidationError
from taocun.core.models import AuditEntry
from taocun.regions import services
from taocun.regions.access import access_household, access_village_households
from taocun.regions.models import Household


def test_household_register_validates_and_audits(tree):
    household = services.household_register(
        actor=None,
        village=tree.qianchang,
        head_name="王建国",
        members=5,
        members_away=2,
        registered_poor=True,
        poor_since_year=2015,
        poverty_exit_year=2019,
    )
    assert household.village == tree.qianchang
    assert AuditEntry.objects.filter(
        action="household.register", object_id=str(household.pk)
    ).exists()


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"members": 0}, "members"),
        ({"members": 2, "members_away": 3}, "members_away"),
        ({"head_name": "  "}, "head_name"),
        ({"poverty_exit_year": 2019}, "poverty_exit_year"),
        ({"registered_poor": True, "poor_since_year": 1700}, "poor_since_year"),
        (
            {"registered_poor": True, "poor_since_year": 2018, "poverty_exit_year": 2016},
            "poverty_exit_year",
        ),
    ],
)
def test_household_register_refuses_bad_input(tree, kwargs, field):
    arguments = {
        "actor": None,
        "village": tree.qianchang,
        "head_name": "李秀英",
        "members": 3,
    } | kwargs
    with pytest.raises(ValidationError) as info:
        services.household_register(**arguments)
    assert info.value.field == field
    assert not Household.objects.exists()


def test_households_belong_to_villages_only(tree):
    with pytest.raises(ValidationError):
        services.household_register(actor=None, village=tree.yiwu, head_name="张伟", members=3)


def test_poverty_designation_only_on_counties(tree):
    county = services.county_designate_poverty(
        actor=None, county=tree.yiwu, poverty="national", exit_year=2018
    )
    assert (county.poverty, county.poverty_exit_year) == ("national", 2018)
    with pytest.raises(ValidationError):
        services.county_designate_poverty(actor=None, county=tree.choujiang, poverty="national")
    with pytest.raises(ValidationError):
        services.county_designate_poverty(actor=None, county=tree.yiwu, poverty="very")


def test_officer_sees_households_of_their_county_only(tree, user_with_role):
    officer = user_with_role(Role.OFFICER, tree.yiwu)
    assert access_village_households(user=officer, village=tree.qianchang) == tree.qianchang
    with pytest.raises(PermissionDenied):
        access_village_households(user=officer, village=tree.dinglou)
    assert AuditEntry.objects.filter(action="access.denied", object_id=tree.dinglou.code).exists()


def test_agent_sees_the_villages_of_their_station_area(tree, user_with_role):
    agent = user_with_role(Role.AGENT, tree.choujiang)
    assert access_village_households(user=agent, village=tree.qianchang)
    with pytest.raises(PermissionDenied):
        access_village_households(user=agent, village=tree.lizu)


def test_buyer_and_anonymous_are_refused(tree, user_with_role):
    from django.contrib.auth.models import AnonymousUser

    with pytest.raises(PermissionDenied):
        access_village_households(user=user_with_role(Role.BUYER), village=tree.qianchang)
    with pytest.raises(NotAuthenticated):
        access_village_households(user=AnonymousUser(), village=tree.qianchang)


def test_program_admin_sees_everything_and_a_seller_their_household(tree, user_with_role):
    admin = user_with_role(Role.PROGRAM_ADMIN)
    assert access_village_households(user=admin, village=tree.dinglou)
    household = services.household_register(
        actor=None, village=tree.dinglou, head_name="丁一", members=3
    )
    seller = user_with_role(Role.SELLER, household=household)
    assert access_household(user=seller, household=household) == household
    other = services.household_register(
        actor=None, village=tree.dinglou, head_name="丁二", members=2
    )
    with pytest.raises(PermissionDenied):
        access_household(user=seller, household=other)


def test_villages_set_households_writes_all_with_one_audit_entry(tree):
    from taocun.regions.models import Division

    done = services.villages_set_households(
        actor="demo",
        counts={tree.dinglou.code: 640, tree.lizu.code: 0},
        demo_invented=True,
    )

    assert done == 2
    assert Division.objects.get(pk=tree.dinglou.pk).households == 640
    assert list(
        Division.objects.filter(code__in=[tree.dinglou.code, tree.lizu.code]).values_list(
            "households", "demo_invented"
        )
    ) == [(0, True), (640, True)]
    entry = AuditEntry.objects.get(action="villages.set_households")
    assert entry.after == {"villages": 2, "households": 640, "demo_invented": True}


@pytest.mark.parametrize(
    ("counts", "field"),
    [
        ({"330782003210": -1}, "households"),
        ({"330782003210": 2.5}, "households"),
        ({"330782003210": True}, "households"),
        ({"330782000000": 10}, "code"),  # a county
        ({"330782003299": 10}, "code"),  # no such division
    ],
)
def test_villages_set_households_refuses_bad_input_and_writes_nothing(tree, counts, field):
    from taocun.regions.models import Division

    with pytest.raises(ValidationError) as info:
        services.villages_set_households(
            actor=None, counts={tree.lizu.code: 5, **counts}, demo_invented=False
        )

    assert info.value.field == field
    assert Division.objects.get(pk=tree.lizu.pk).households == 320
    assert not AuditEntry.objects.filter(action="villages.set_households").exists()
