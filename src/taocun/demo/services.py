"""Demo data: a real slice of the division tree, invented households, one account per role.

Everything is deterministic for a given seed and loading twice changes nothing. Numbers the
real tables do not have (households per village, poverty designations, household
registries) are invented and flagged ``demo_invented`` so the UI can say so.
"""

import math
import random
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction

from taocun.accounts.models import Role, User
from taocun.accounts.services import (
    role_grant,
    user_link_household,
    user_set_staff,
    user_sign_up,
)
from taocun.core.commands import progress_bar
from taocun.core.services import audit_record
from taocun.demo.ledger import ledger_files_write
from taocun.demo.market import demo_market_load
from taocun.labels.models import Evaluation, EvaluationStatus
from taocun.labels.rulesets import rule_set_load
from taocun.labels.services import evaluation_run
from taocun.market.models import Product, Shop, ShopStatus
from taocun.regions.codes import committee_kind
from taocun.regions.importing import divisions_import
from taocun.regions.models import Division, Household, Level
from taocun.regions.services import (
    county_designate_poverty,
    household_register,
    villages_set_households,
)
from taocun.sales.importing import orders_import, shops_import
from taocun.sales.models import SalesOrder

DEMO_DIVISIONS = Path(__file__).parent / "data" / "divisions-demo.csv.gz"
DEMO_PASSWORD = "taocun-demo-2026"

# Invented for the demo; the real designations are not in the division table.
DEMO_POVERTY = {
    "510824000000": ("national", 2018),  # 苍溪县
    "130532000000": ("national", 2019),  # 平乡县
    "371721000000": ("provincial", 2017),  # 曹县
    "320324000000": ("provincial", 2017),  # 睢宁县
}
DEMO_TOWNSHIP = "371721121000"  # 曹县大集镇: the agent's station area
DEMO_COUNTY = "371721000000"  # 曹县: the officer's county
DEMO_SELLER_VILLAGE = "371721121227"  # 丁楼村
HOUSEHOLD_VILLAGES_PER_COUNTY = 3
# Rounds evaluated on the demo ledger (July 2018 - June 2022).
DEMO_RULE_SETS = ("aliresearch-2019", "aliresearch-2020", "aliresearch-2022")

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡"
    "余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯"
    "龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英建国建华玉兰桂兰志强春梅海燕"
    "红梅金凤德明文华国庆"
)

ACCOUNTS = [
    # phone, display name, role, scope code
    ("+8613800000001", "城市买家 Buyer", Role.BUYER, None),
    ("+8613800000002", "丁楼卖家 Seller", Role.SELLER, None),
    ("+8613800000003", "大集镇服务站 Agent", Role.AGENT, DEMO_TOWNSHIP),
    ("+8613800000004", "曹县干部 Officer", Role.OFFICER, DEMO_COUNTY),
    ("+8613800000005", "农村信贷 Lender", Role.LENDER, None),
    ("+8613800000006", "项目管理 Program admin", Role.PROGRAM_ADMIN, None),
    ("+8613800000007", "帮扶企业 Enterprise", Role.ENTERPRISE_REP, None),
]


@dataclass
class DemoSummary:
    divisions: int = 0
    villages_with_households_count: int = 0
    households_registered: int = 0
    accounts: list[tuple[str, str, str]] = field(default_factory=list)
    shops_opened: int = 0
    shops_verified: int = 0
    products: int = 0
    ledger_shops: int = 0
    orders: int = 0
    # rule set name → (villages labelled, towns labelled, clusters) of its stored evaluation
    labelled: dict[str, tuple[int, int, int]] = field(default_factory=dict)


def _name(rng: random.Random) -> str:
    given_len = rng.choice((1, 2, 2))
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(given_len))


def _invent_household_counts(rng: random.Random, progress: bool) -> int:
    """Give every village without a households count an invented one, flagged as such."""
    codes = list(
        Division.objects.filter(level=Level.VILLAGE, households__isnull=True)
        .order_by("code")
        .values_list("code", flat=True)
    )
    counts: dict[str, int] = {}
    with progress_bar(
        total=len(codes), unit="village", desc="households counts", disable=not progress
    ) as bar:
        for code in codes:
            # Log-normal, as village sizes are: a rural village committee has about 380
            # households (190 M rural households in 500,000 villages); residents'
            # committees are larger.
            median = 1200 if committee_kind(code).startswith("residents") else 380
            counts[code] = max(40, min(6000, round(rng.lognormvariate(math.log(median), 0.45))))
            bar.update(1)
    return villages_set_households(actor="demo", counts=counts, demo_invented=True)


def _register_households(rng: random.Random, progress: bool) -> int:
    counties = Division.objects.filter(level=Level.COUNTY).order_by("code")
    villages: list[Division] = []
    for county in counties:
        candidates = list(
            Division.objects.filter(level=Level.VILLAGE, code__startswith=county.code[:6]).order_by(
                "code"
            )
        )
        candidates = [v for v in candidates if v.is_village_committee]
        villages += rng.sample(candidates, min(HOUSEHOLD_VILLAGES_PER_COUNTY, len(candidates)))
    seller_village = Division.objects.filter(code=DEMO_SELLER_VILLAGE).first()
    if seller_village and seller_village not in villages:
        villages.append(seller_village)
    created = 0
    with progress_bar(
        total=len(villages), unit="village", desc="household registry", disable=not progress
    ) as bar:
        for village in villages:
            if Household.objects.filter(village=village).exists():
                bar.update(1)
                continue
            poor_county = village.code[:6].ljust(12, "0") in DEMO_POVERTY
            for _ in range(rng.randint(25, 40)):
                members = rng.randint(1, 7)
                poor = rng.random() < (0.25 if poor_county else 0.06)
                since = rng.choice((2014, 2015, 2016)) if poor else None
                exited = rng.choice((None, 2017, 2018, 2019, 2020)) if poor else None
                household_register(
                    actor=None,
                    village=village,
                    head_name=_name(rng),
                    members=members,
                    members_away=rng.randint(0, max(0, members - 1)),
                    registered_poor=poor,
                    poor_since_year=since,
                    poverty_exit_year=exited,
                )
                created += 1
            bar.update(1)
    return created


def _demo_accounts() -> list[tuple[str, str, str]]:
    accounts = []
    seller_household = (
        Household.objects.filter(village_id=DEMO_SELLER_VILLAGE).order_by("id").first()
    )
    for phone, name, role, scope in ACCOUNTS:
        user = User.objects.filter(phone=phone).first() or user_sign_up(
            phone=phone, password=DEMO_PASSWORD, display_name=name
        )
        region = Division.objects.get(code=scope) if scope else None
        role_grant(actor=None, user=user, role=role, region=region)
        if role == Role.SELLER and seller_household and user.household_id is None:
            user_link_household(actor="demo", user=user, household=seller_household)
        if role == Role.PROGRAM_ADMIN:
            user_set_staff(actor="demo", user=user, superuser=True)
        accounts.append((phone, DEMO_PASSWORD, str(role.label)))
    return accounts


def _load_ledger(seed: int) -> None:
    """Generate the synthetic ledger and import it, unless the demo ledger is there."""
    if SalesOrder.objects.exists():
        return
    with tempfile.TemporaryDirectory(prefix="taocun-demo-ledger-") as folder:
        shops_path, orders_path = ledger_files_write(folder=Path(folder), seed=seed)
        shops_import(path=shops_path, actor="demo")
        orders_import(path=orders_path, actor="demo")


def _evaluate(progress: bool) -> dict[str, tuple[int, int, int]]:
    """Run and store each demo round once (a stored ``done`` evaluation is kept)."""
    labelled = {}
    for name in DEMO_RULE_SETS:
        rules = rule_set_load(name)
        evaluation = (
            Evaluation.objects.filter(
                rule_set=name, rule_set_digest=rules.digest, status=EvaluationStatus.DONE
            )
            .order_by("-pk")
            .first()
        )
        if evaluation is None:
            evaluation = evaluation_run(actor=None, rules=rules).evaluation
        labelled[name] = (
            evaluation.villages_labeled,
            evaluation.towns_labeled,
            evaluation.clusters_set.count(),
        )
    return labelled


def demo_load(*, seed: int = 2016, progress: bool = True) -> DemoSummary:
    """Load the demo data into the configured database. Idempotent."""
    summary = DemoSummary()
    report = divisions_import(path=DEMO_DIVISIONS, max_errors=10, progress=progress)
    summary.divisions = report.rows
    with transaction.atomic():
        for code, (poverty, exit_year) in DEMO_POVERTY.items():
            county = Division.objects.get(code=code)
            if not county.poverty:
                county_designate_poverty(
                    actor=None,
                    county=county,
                    poverty=poverty,
                    exit_year=exit_year,
                    demo_invented=True,
                )
        # One generator per step, so what a step invents does not depend on what earlier
        # steps had left to do (a second load skips them): loading stays idempotent.
        summary.villages_with_households_count = _invent_household_counts(
            random.Random(f"{seed}:households-counts"), progress
        )
        summary.households_registered = _register_households(
            random.Random(f"{seed}:household-registry"), progress
        )
        summary.accounts = _demo_accounts()
        users = {role: User.objects.get(phone=phone) for phone, _name, role, _scope in ACCOUNTS}
        summary.shops_opened = demo_market_load(
            rng=random.Random(f"{seed}:market"),
            seller=users[Role.SELLER],
            agent=users[Role.AGENT],
            officer=users[Role.OFFICER],
            admin=users[Role.PROGRAM_ADMIN],
            password=DEMO_PASSWORD,
        )
        audit_record(
            actor="demo",
            action="demo.load",
            object_type="demo",
            object_id=seed,
            after={"households": summary.households_registered},
        )
    _load_ledger(seed)
    # After the load's transaction: an evaluation records its progress outside any.
    summary.labelled = _evaluate(progress)
    summary.shops_verified = Shop.objects.filter(status=ShopStatus.VERIFIED).count()
    summary.products = Product.objects.count()
    summary.orders = SalesOrder.objects.count()
    return summary
