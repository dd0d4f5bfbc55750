from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from taocun.core.models import TimeStampedModel
from taocun.regions.codes import committee_kind


class Level(models.TextChoices):
    PROVINCE = "province", _("province")
    PREFECTURE = "prefecture", _("prefecture")
    COUNTY = "county", _("county")
    TOWNSHIP = "township", _("township")
    VILLAGE = "village", _("village")


class Poverty(models.TextChoices):
    NONE = "", _("not designated")
    NATIONAL = "national", _("national poverty county")
    PROVINCIAL = "provincial", _("provincial poverty county")


class Division(models.Model):
    """One unit of the 5-level administrative tree, keyed by its NBS 12-digit code.

    Rows are written in bulk by the divisions import (``regions.importing``), which
    validates codes, levels and parents; there are no timestamps so that the national
    table (713,034 rows) stays small and fast to upsert.
    """

    code = models.CharField(_("code"), max_length=12, primary_key=True)
    name = models.CharField(_("name"), max_length=100, db_index=True)
    level = models.CharField(_("level"), max_length=10, choices=Level.choices, db_index=True)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
        db_column="parent_code",
    )
    ur_code = models.CharField(_("urban/rural code"), max_length=3, blank=True)
    households = models.PositiveIntegerField(_("households"), null=True, blank=True)
    lat = models.FloatField(
        _("latitude"),
        null=True,
        blank=True,
        validators=[MinValueValidator(-90), MaxValueValidator(90)],
    )
    lon = models.FloatField(
        _("longitude"),
        null=True,
        blank=True,
        validators=[MinValueValidator(-180), MaxValueValidator(180)],
    )
    poverty = models.CharField(
        _("poverty designation"), max_length=10, choices=Poverty.choices, blank=True, default=""
    )
    poverty_exit_year = models.PositiveSmallIntegerField(
        _("year out of poverty"), null=True, blank=True
    )
    demo_invented = models.BooleanField(
        _("invented for the demo"),
        default=False,
        help_text=_("Households or poverty designation invented by the demo data, not real."),
    )

    class Meta:
        ordering = ["code"]
        verbose_name = _("division")
        verbose_name_plural = _("divisions")
        indexes = [models.Index(fields=["parent", "code"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    @property
    def is_rural(self) -> bool | None:
        return self.ur_code.startswith("2") if self.ur_code else None

    @property
    def committee_kind(self) -> str:
        return committee_kind(self.code) if self.level == Level.VILLAGE else ""

    @property
    def is_village_committee(self) -> bool:
        return self.committee_kind in {"village", "village_like"}


class Household(TimeStampedModel):
    """A registered household of a village (户), the unit of shops and of poverty status."""

    village = models.ForeignKey(
        Division,
        verbose_name=_("village"),
        on_delete=models.PROTECT,
        related_name="household_set",
        limit_choices_to={"level": Level.VILLAGE},
    )
    head_name = models.CharField(_("head of household"), max_length=50)
    members = models.PositiveSmallIntegerField(
        _("members"), validators=[MinValueValidator(1), MaxValueValidator(60)]
    )
    members_away = models.PositiveSmallIntegerField(_("members working away from home"), default=0)
    registered_poor = models.BooleanField(_("registered poor (建档立卡)"), default=False)
    poor_since_year = models.PositiveSmallIntegerField(
        _("registered poor since"), null=True, blank=True
    )
    poverty_exit_year = models.PositiveSmallIntegerField(
        _("year out of poverty"), null=True, blank=True
    )

    class Meta:
        ordering = ["village_id", "id"]
        verbose_name = _("household")
        verbose_name_plural = _("households")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(members_away__lte=models.F("members")),
                name="household_members_away_lte_members",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.head_name} ({self.village_id})"
