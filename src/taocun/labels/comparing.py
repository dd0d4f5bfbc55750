"""Year over year: which villages and towns gained, kept or lost the label between two
stored evaluations (a selector: reads only, aggregated in the database)."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from taocun.core.errors import NotFound, ValidationError
from taocun.labels.models import Evaluation, EvaluationStatus, TownResult, VillageResult


@dataclass(frozen=True)
class LabelChange:
    """One village or town in a comparison; sales are counted sales in fen (``None`` when
    the unit was not in that evaluation)."""

    code: str
    name: str
    county_code: str
    sales_before_fen: int | None
    sales_after_fen: int | None


@dataclass
class EvaluationComparison:
    before: Evaluation
    after: Evaluation
    new: list[LabelChange] = field(default_factory=list)
    kept: list[LabelChange] = field(default_factory=list)
    lost: list[LabelChange] = field(default_factory=list)
    towns_new: list[LabelChange] = field(default_factory=list)
    towns_kept: list[LabelChange] = field(default_factory=list)
    towns_lost: list[LabelChange] = field(default_factory=list)


def _done(evaluation_id: int) -> Evaluation:
    evaluation = Evaluation.objects.filter(pk=evaluation_id).first()
    if evaluation is None:
        raise NotFound(_("No evaluation %(id)s") % {"id": evaluation_id}, field="evaluation")
    if evaluation.status != EvaluationStatus.DONE:
        raise ValidationError(
            _("Evaluation %(id)s is %(status)s; only finished evaluations can be compared")
            % {"id": evaluation_id, "status": evaluation.get_status_display()},
            field="evaluation",
        )
    return evaluation


def _changes(model, key: str, before: Evaluation, after: Evaluation):
    """Rows labelled in either evaluation, keyed by code: (name, county, sales, labeled)."""
    rows = (
        model.objects.filter(evaluation__in=[before, after])
        .filter(labeled=True)
        .values_list("evaluation_id", key, "name", "county_code", "sales_fen")
    )
    labelled: dict[int, dict[str, tuple]] = {before.pk: {}, after.pk: {}}
    for evaluation_id, code, name, county, sales in rows:
        labelled[evaluation_id][code] = (name, county, sales)
    return labelled[before.pk], labelled[after.pk]


def _sales_of(model, key: str, evaluation: Evaluation, codes: set[str]) -> dict[str, int]:
    if not codes:
        return {}
    return dict(
        model.objects.filter(evaluation=evaluation, **{f"{key}__in": codes}).values_list(
            key, "sales_fen"
        )
    )


def _split(model, key: str, before: Evaluation, after: Evaluation):
    was, now = _changes(model, key, before, after)
    # Sales of the other evaluation for villages labelled in only one of them.
    after_sales = _sales_of(model, key, after, set(was) - set(now))
    before_sales = _sales_of(model, key, before, set(now) - set(was))
    new = [
        LabelChange(code, *now[code][:2], before_sales.get(code), now[code][2])
        for code in sorted(set(now) - set(was))
    ]
    kept = [
        LabelChange(code, *now[code][:2], was[code][2], now[code][2])
        for code in sorted(set(now) & set(was))
    ]
    lost = [
        LabelChange(code, *was[code][:2], was[code][2], after_sales.get(code))
        for code in sorted(set(was) - set(now))
    ]
    return new, kept, lost


def evaluations_compare(*, before_id: int, after_id: int) -> EvaluationComparison:
    """Villages and towns newly labelled, still labelled and no longer labelled from the
    ``before`` evaluation to the ``after`` one (usually two rounds)."""
    if before_id == after_id:
        raise ValidationError(_("Compare two different evaluations."), field="evaluation")
    before, after = _done(before_id), _done(after_id)
    new, kept, lost = _split(VillageResult, "village_id", before, after)
    towns_new, towns_kept, towns_lost = _split(TownResult, "township_id", before, after)
    return EvaluationComparison(
        before=before,
        after=after,
        new=new,
        kept=kept,
        lost=lost,
        towns_new=towns_new,
        towns_kept=towns_kept,
        towns_lost=towns_lost,
    )
