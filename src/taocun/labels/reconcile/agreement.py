"""Agreement between a stored evaluation and a published list: which labelled villages the
list confirms, which it does not have, and which listed villages the evaluation missed.

The published list is the reference. Only list rows matched to a code take part; the others
(ambiguous, unmatched) are counted apart, since they could be any village. Precision is the
share of the evaluation's labelled villages that are on the list; recall is the share of the
listed villages that the evaluation labelled (a listed village the evaluation has no result for
counts as missed, and is also counted as ``not_evaluated``).
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from django.utils.translation import gettext as _

from taocun.core.errors import Conflict, NotFound, ValidationError
from taocun.labels.models import Evaluation, EvaluationStatus, VillageResult

IN_CHUNK = 500  # codes per IN (...) query: well under every backend's parameter limit


@dataclass(frozen=True)
class Agreement:
    evaluation_id: int
    rule_set: str
    cutoff: date
    listed: int  # distinct villages the list's matched rows name
    unresolved_rows: int  # list rows without a code (ambiguous or unmatched)
    evaluated: int  # listed villages the evaluation has a result for
    labeled: int  # villages the evaluation labelled
    true_positives: int
    false_positives: int
    false_negatives: int
    labeled_by_code: dict[str, bool]  # listed village -> labelled? (absent: not evaluated)
    unlisted: tuple[tuple[str, str], ...]  # labelled but not on the list: (code, name)

    @property
    def not_evaluated(self) -> int:
        return self.listed - self.evaluated

    @property
    def precision(self) -> float | None:
        return self.true_positives / self.labeled if self.labeled else None

    @property
    def recall(self) -> float | None:
        return self.true_positives / self.listed if self.listed else None


def evaluation_for_agreement(*, evaluation_id: int) -> Evaluation:
    """The stored evaluation, which must have finished: a running or failed one has no (or
    not all) village results."""
    if evaluation_id < 1:
        raise ValidationError(_("an evaluation id is a positive number"), field="evaluation")
    evaluation = Evaluation.objects.filter(pk=evaluation_id).first()
    if evaluation is None:
        raise NotFound(_("no evaluation %(id)d") % {"id": evaluation_id}, field="evaluation")
    if evaluation.status != EvaluationStatus.DONE:
        raise Conflict(
            _("evaluation %(id)d is %(status)s, not done: it has no complete results")
            % {"id": evaluation_id, "status": evaluation.get_status_display()},
            field="evaluation",
        )
    return evaluation


def agreement_compute(
    *, evaluation: Evaluation, listed_codes: Iterable[str], unresolved_rows: int
) -> Agreement:
    """Compare the evaluation's labels with the villages of a reconciled list."""
    listed = sorted(set(listed_codes))
    results = VillageResult.objects.filter(evaluation=evaluation)
    labeled_by_code: dict[str, bool] = {}
    for start in range(0, len(listed), IN_CHUNK):
        chunk = listed[start : start + IN_CHUNK]
        labeled_by_code.update(
            results.filter(village_id__in=chunk).values_list("village_id", "labeled")
        )
    labeled_total = results.filter(labeled=True).count()
    true_positives = sum(labeled_by_code.values())
    listed_set = set(listed)
    unlisted = tuple(
        (code, name)
        for code, name in results.filter(labeled=True)
        .order_by("village_id")
        .values_list("village_id", "name")
        if code not in listed_set
    )
    return Agreement(
        evaluation_id=evaluation.pk,
        rule_set=evaluation.rule_set,
        cutoff=evaluation.cutoff,
        listed=len(listed),
        unresolved_rows=unresolved_rows,
        evaluated=len(labeled_by_code),
        labeled=labeled_total,
        true_positives=true_positives,
        false_positives=labeled_total - true_positives,
        false_negatives=len(listed) - true_positives,
        labeled_by_code=labeled_by_code,
        unlisted=unlisted,
    )
