from types import SimpleNamespace

import factory

from taocun.regions.models import Division, Household, Level


class DivisionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Division
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"3307822{n % 100:02d}{200 + n % 600:03d}")
    name = factory.Sequence(lambda n: f"测试村{n}")
    level = Level.VILLAGE


class HouseholdFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Household

    village = factory.SubFactory(DivisionFactory)
    head_name = factory.Iterator(["王建国", "李秀英", "张伟", "刘洋", "陈静"])
    members = 4
    members_away = 1


def small_tree() -> SimpleNamespace:
    """Real codes and names from the NBS table (2016): Zhejiang › Jinhua › Yiwu, and one
    township of Heze's Cao county (a second county scope; its village has no households count)."""

    def make(code, name, level, parent=None, **extra):
        return DivisionFactory(code=code, name=name, level=level, parent=parent, **extra)

    zhejiang = make("330000000000", "浙江省", Level.PROVINCE)
    jinhua = make("330700000000", "金华市", Level.PREFECTURE, zhejiang)
    yiwu = make("330782000000", "义乌市", Level.COUNTY, jinhua)
    choujiang = make("330782003000", "稠江街道", Level.TOWNSHIP, yiwu)
    qianchang = make(
        "330782003210",
        "前仓村委会",
        Level.VILLAGE,
        choujiang,
        ur_code="220",
        households=1500,
        lat=29.27,
        lon=120.03,
    )
    houzhai = make("330782005000", "后宅街道", Level.TOWNSHIP, yiwu)
    lizu = make("330782005219", "李祖村委会", Level.VILLAGE, houzhai, ur_code="220", households=320)
    shandong = make("370000000000", "山东省", Level.PROVINCE)
    heze = make("371700000000", "菏泽市", Level.PREFECTURE, shandong)
    caoxian = make("371721000000", "曹县", Level.COUNTY, heze, poverty="provincial")
    daji = make("371721121000", "曹县大集镇", Level.TOWNSHIP, caoxian)
    dinglou = make("371721121227", "丁楼村民委员会", Level.VILLAGE, daji, ur_code="220")
    return SimpleNamespace(
        zhejiang=zhejiang,
        jinhua=jinhua,
        yiwu=yiwu,
        choujiang=choujiang,
        qianchang=qianchang,
        houzhai=houzhai,
        lizu=lizu,
        shandong=shandong,
        heze=heze,
        caoxian=caoxian,
        daji=daji,
        dinglou=dinglou,
    )
