"""Stored evaluations: one row per run, with its village, town and cluster results.

An evaluation is written whole or not at all: results are inserted in one transaction and
the run is marked ``done`` in the same transaction. While it runs, only the ``Evaluation``
row exists (status ``running`` with its progress) so pages can show a progress indicator.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from taocun.core.models import TimeStampedModel
from taocun.labels.criteria import criteria_expand


class EvaluationStatus(models.TextChoices):
    QUEUED = "queued", _("queued")
    RUNNING = "running", _("running")
    DONE = "done", _("done")
    FAILED = "failed", _("failed")


class Evaluation(TimeStampedModel):
    rule_set = models.CharField(_("rule set"), max_length=60)
    rule_set_version = models.CharField(_("rule set version"), max_length=20, blank=True)
    rule_set_digest = models.CharField(_("rule set digest"), max_length=64, blank=True)
    round_year = models.PositiveSmallIntegerField(_("round"), null=True, blank=True)
    cutoff = models.DateField(_("cut-off"))
    window_start = models.DateField(_("window start"), null=True, blank=True)
    source = models.CharField(_("source"), max_length=200, default="db")
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=EvaluationStatus.choices,
        default=EvaluationStatus.QUEUED,
    )
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    progress_note = models.CharField(_("progress note"), max_length=200, blank=True)
    error = models.TextField(_("error"), blank=True)
    warnings = models.JSONField(
        _("warnings"),
        default=list,
        blank=True,
        help_text=_("What makes a finished evaluation doubtful, e.g. a window with no sales."),
    )
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    villages_evaluated = models.PositiveIntegerField(_("villages evaluated"), default=0)
    villages_labeled = models.PositiveIntegerField(_("villages labelled"), default=0)
    towns_labeled = models.PositiveIntegerField(_("towns labelled"), default=0)
    clusters = models.PositiveIntegerField(_("clusters"), default=0)
    sales_fen = models.BigIntegerField(_("sales (fen)"), default=0)
    # What the criteria of all its villages share (explaining.criteria_layout): per
    # criterion the key, the fields in order and the rule set's constants.
    criteria_layout = models.JSONField(_("criteria layout"), default=list, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("evaluation")
        verbose_name_plural = _("evaluations")
        indexes = [models.Index(fields=["rule_set", "cutoff", "status"])]

    def __str__(self) -> str:
        return f"{self.rule_set} @ {self.cutoff} ({self.status})"


class VillageResult(models.Model):
    """One village of an evaluation: every village is stored (666,655 rows per national
    evaluation), so each index here is paid for on every stored evaluation. Only two:
    ``(evaluation, village)`` (unique; every lookup by evaluation, and a village's history,
    which probes it once per finished evaluation: ``selectors.village_history``) and
    ``labels_village_list`` (the lists in their order). No index on the village alone: a new
    evaluation's entries would land between every earlier evaluation's, so that each stored
    evaluation made the next one slower. No foreign-key constraint on the village either:
    checking it cost a lookup in the 713,034 divisions per row, and the rows are written
    only from the divisions themselves, which are never deleted (``on_delete`` still
    protects them from the ORM). On PostgreSQL two more, created by migration 0002
    only there, serve the lists filtered by county, province or township (SQLite's planner
    reads those from ``labels_village_list``). The criteria shared by all villages are kept
    once, on the evaluation (``criteria_layout``)."""

    evaluation = models.ForeignKey(
        Evaluation, on_delete=models.CASCADE, related_name="villages", db_index=False
    )
    village = models.ForeignKey(
        "regions.Division",
        on_delete=models.PROTECT,
        related_name="+",
        db_column="village_code",
        db_index=False,
        db_constraint=False,
    )
    name = models.CharField(_("name"), max_length=100)
    township_code = models.CharField(_("township code"), max_length=12)
    county_code = models.CharField(_("county code"), max_length=12)
    sales_fen = models.BigIntegerField(_("counted sales (fen)"), default=0)
    all_sales_fen = models.BigIntegerField(_("sales on all platforms (fen)"), default=0)
    sales_by_platform = models.JSONField(_("sales by platform (fen)"), default=dict)
    main_platform = models.CharField(_("main platform"), max_length=20, blank=True)
    active_shops = models.PositiveIntegerField(_("active shops"), default=0)
    households = models.PositiveIntegerField(_("households"), null=True, blank=True)
    household_share = models.DecimalField(
        _("household share"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    eligible = models.BooleanField(_("eligible"), default=True)
    eligibility_note = models.CharField(_("eligibility"), max_length=200, blank=True)
    # The village's own criteria values, one list per criterion of the evaluation's
    # criteria_layout ([[true, "村委会", "", ""], [false, 0, 1000000000], …]); or, as written
    # before migration 0003 and by hand, the whole list of criteria ([{"key": "sales",
    # "passed": false, "value": …, "threshold": …, "gap": …}, …]). Read ``criteria``.
    stored_criteria = models.JSONField(_("criteria"), default=list, db_column="criteria")
    labeled = models.BooleanField(_("labelled"), default=False)

    class Meta:
        ordering = ["evaluation_id", "village_id"]
        constraints = [
            models.UniqueConstraint(fields=["evaluation", "village"], name="labels_village_once"),
        ]
        indexes = [
            # The order of the village lists (selectors.village_results): a page is read
            # from the index without sorting the evaluation's villages.
            models.Index(
                fields=["evaluation", "-labeled", "-sales_fen", "village"],
                name="labels_village_list",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.village_id} {'✓' if self.labeled else '✗'}"

    @property
    def criteria(self) -> list[dict]:
        """Every criterion of the village as a dict (``{"key": "sales", "passed": false,
        "value": …, "threshold": …, "gap": …}``). Values stored against the evaluation's
        layout read the evaluation: fetch results through ``evaluation.villages`` (or with
        ``select_related("evaluation")``) so that a list of them reads it once."""
        stored = self.stored_criteria or []
        if stored and isinstance(stored[0], list):
            return criteria_expand(self.evaluation.criteria_layout, stored)
        return list(stored)

    @criteria.setter
    def criteria(self, criteria: list[dict]) -> None:
        """Store a whole list of criteria (as results written by hand are)."""
        self.stored_criteria = list(criteria)


class TownResult(models.Model):
    # No index of its own on evaluation: the unique (evaluation, township) leads with it.
    evaluation = models.ForeignKey(
        Evaluation, on_delete=models.CASCADE, related_name="towns", db_index=False
    )
    township = models.ForeignKey(
        "regions.Division", on_delete=models.PROTECT, related_name="+", db_column="township_code"
    )
    name = models.CharField(_("name"), max_length=100)
    county_code = models.CharField(_("county code"), max_length=12, db_index=True)
    labeled_villages = models.PositiveIntegerField(_("labelled villages"), default=0)
    sales_fen = models.BigIntegerField(_("sales (fen)"), default=0)
    active_shops = models.PositiveIntegerField(_("active shops"), default=0)
    labeled = models.BooleanField(_("labelled"), default=False, db_index=True)
    basis = models.CharField(_("basis"), max_length=40, blank=True)

    class Meta:
        ordering = ["evaluation_id", "township_id"]
        constraints = [
            models.UniqueConstraint(fields=["evaluation", "township"], name="labels_town_once"),
        ]

    def __str__(self) -> str:
        return f"{self.township_id} {'✓' if self.labeled else '✗'}"


class ClusterResult(models.Model):
    # No index of its own on evaluation: the unique (evaluation, cluster_id) leads with it.
    evaluation = models.ForeignKey(
        Evaluation, on_delete=models.CASCADE, related_name="clusters_set", db_index=False
    )
    cluster_id = models.PositiveIntegerField(_("cluster"))
    villages = models.PositiveIntegerField(_("villages"))
    sales_fen = models.BigIntegerField(_("sales (fen)"))
    size_class = models.CharField(_("size class"), max_length=20)
    village_codes = models.JSONField(_("village codes"), default=list)

    class Meta:
        ordering = ["evaluation_id", "cluster_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["evaluation", "cluster_id"], name="labels_cluster_once"
            ),
        ]

    def __str__(self) -> str:
        return f"cluster {self.cluster_id} ({self.villages} villages)"
