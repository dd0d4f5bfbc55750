"""Writes of the labels app: requesting, running and storing evaluations.

An evaluation on the platform database is kept as an :class:`Evaluation` with its village,
town and cluster results. It is written whole or not at all: while the engine runs only the
``Evaluation`` row exists (status ``running`` with its progress, updated outside any
transaction so pages can poll it); the results, the counts and the status ``done`` are then
written in **one** transaction. If anything fails the transaction rolls back — no result row
survives — and the evaluation is marked ``failed`` with the error.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import logging
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from taocun.core.errors import ApplicationError, Conflict, NotFound, ValidationError
from taocun.core.services import audit_record
from taocun.labels.evaluating import EvaluationOutcome, Progress, evaluation_compute
from taocun.labels.explaining import criteria_json_column, share_text
from taocun.labels.models import (
    ClusterResult,
    Evaluation,
    EvaluationStatus,
    TownResult,
    VillageResult,
)
from taocun.labels.rulesets import RuleSet, rule_set_load
from taocun.labels.sources import source_opened

logger = logging.getLogger(__name__)

STORE_BATCH = 2000
# VillageResult.household_share is a decimal(9, 6): shares from 1000 up are data errors
# (a thousand shops per household) and are kept in the criteria only.
MAX_STORED_SHARE = Decimal("999.999999")


@dataclass
class EvaluationRun:
    """What :func:`evaluation_run` did: the outcome, and the stored evaluation if any."""

    outcome: EvaluationOutcome
    evaluation: Evaluation | None


def _actor_user(actor):
    return actor if getattr(actor, "is_authenticated", False) else None


def _check_cutoff(cutoff: dt.date | None) -> None:
    if cutoff is not None and not dt.date(2000, 1, 1) <= cutoff <= dt.date(2100, 12, 31):
        raise ValidationError(
            _("%(value)s is not a plausible cut-off date") % {"value": cutoff.isoformat()},
            field="cutoff",
        )


def evaluation_start(
    *, actor, rules: RuleSet, cutoff: dt.date | None = None, status: str = EvaluationStatus.RUNNING
) -> Evaluation:
    """Create the ``Evaluation`` row of a run on the platform database."""
    _check_cutoff(cutoff)
    window = rules.window_for(cutoff)
    running = status == EvaluationStatus.RUNNING
    evaluation = Evaluation.objects.create(
        rule_set=rules.name,
        rule_set_version=rules.version,
        rule_set_digest=rules.digest,
        round_year=window.cutoff.year,
        cutoff=window.cutoff,
        window_start=window.start,
        source="db",
        status=status,
        started_at=timezone.now() if running else None,
        requested_by=_actor_user(actor),
    )
    audit_record(
        actor=actor,
        action="labels.evaluation_request",
        obj=evaluation,
        after={"rule_set": rules.name, "cutoff": window.cutoff.isoformat(), "status": status},
    )
    return evaluation


def evaluation_progress(*, evaluation: Evaluation, percent: int, note: str = "") -> None:
    """Record how far a running evaluation is (outside any transaction: pages poll it)."""
    percent = max(0, min(100, int(percent)))
    Evaluation.objects.filter(pk=evaluation.pk).update(
        progress=percent, progress_note=note[:200], updated_at=timezone.now()
    )
    evaluation.progress, evaluation.progress_note = percent, note[:200]


def evaluation_fail(*, evaluation: Evaluation, error: BaseException | str) -> None:
    """Mark an evaluation failed with its error; it keeps no results."""
    message = str(error) or error.__class__.__name__
    now = timezone.now()
    Evaluation.objects.filter(pk=evaluation.pk).update(
        status=EvaluationStatus.FAILED, error=message, finished_at=now, updated_at=now
    )
    evaluation.status, evaluation.error, evaluation.finished_at = (
        EvaluationStatus.FAILED,
        message,
        now,
    )


def _village_columns(outcome: EvaluationOutcome) -> dict[str, list]:
    """The ``VillageResult`` columns of every village, built a column at a time (Arrow
    compute for the criteria JSON): 666,655 villages in a few seconds, where model
    instances and per-row dictionaries would take half a minute."""
    villages, rules = outcome.villages, outcome.rules

    def values(name: str) -> list:
        return villages.column(name).to_pylist()

    codes = values("code")
    by_households = rules.household_share_basis == "households_with_shop"
    numerators = values("households_with_shop" if by_households else "active_shops")
    households = values("households")
    shares = [
        _share(numerator, count) if count else None
        for numerator, count in zip(numerators, households, strict=True)
    ]
    platform_sales = outcome.platform_sales
    return {
        "evaluation": None,  # filled in by the caller
        "village": codes,
        "name": [name[:100] for name in values("name")],
        "township_code": [code or "" for code in values("township_code")],
        "county_code": [code or "" for code in values("county_code")],
        "sales_fen": values("sales_fen"),
        "all_sales_fen": values("all_sales_fen"),
        "sales_by_platform": [
            json.dumps(platform_sales[code], ensure_ascii=False) if code in platform_sales else "{}"
            for code in codes
        ],
        "main_platform": [platform or "" for platform in values("main_platform")],
        "active_shops": values("active_shops"),
        "households": households,
        "household_share": shares,
        "eligible": values("eligible"),
        "eligibility_note": [reason or "" for reason in values("eligibility_reason")],
        "criteria": criteria_json_column(villages, rules).to_pylist(),
        "labeled": values("labeled"),
    }


def _share(numerator: int, households: int) -> Decimal | None:
    share = Decimal(share_text(numerator, households))
    return share if share <= MAX_STORED_SHARE else None


def _insert_villages(*, evaluation: Evaluation, outcome: EvaluationOutcome, report) -> None:
    """Insert the village results with plain SQL (COPY on PostgreSQL, batched
    ``executemany`` on SQLite), inside the caller's transaction."""
    columns = _village_columns(outcome)
    total = outcome.villages.num_rows
    columns["evaluation"] = [evaluation.pk] * total
    fields = [VillageResult._meta.get_field(name) for name in columns]
    names = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    table = connection.ops.quote_name(VillageResult._meta.db_table)
    rows = zip(*columns.values(), strict=True)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for index, row in enumerate(rows, start=1):
                    copy.write_row(row)
                    if index % STORE_BATCH == 0:
                        report(int(80 * index / total), "villages")
            return
        marks = ", ".join(["%s"] * len(fields))
        sql = f"INSERT INTO {table} ({names}) VALUES ({marks})"
        done = 0
        while batch := list(itertools.islice(rows, STORE_BATCH)):
            cursor.executemany(sql, [_sqlite_row(row) for row in batch])
            done += len(batch)
            report(int(80 * done / max(1, total)), "villages")


def _sqlite_row(row: tuple) -> tuple:
    # Decimals as text, as Django's SQLite backend stores them.
    return tuple(str(value) if isinstance(value, Decimal) else value for value in row)


def evaluation_store(
    *, actor, evaluation: Evaluation, outcome: EvaluationOutcome, progress: Progress | None = None
) -> Evaluation:
    """Write the outcome's results and mark the evaluation done, in one transaction.

    ``progress(percent, note)`` is called between batches, inside the transaction; an
    exception raised anywhere (including by ``progress``) rolls every result back.
    """
    report = progress or (lambda percent, note: None)
    with transaction.atomic():
        _insert_villages(evaluation=evaluation, outcome=outcome, report=report)
        report(80, "towns")
        TownResult.objects.bulk_create(
            [
                TownResult(
                    evaluation=evaluation,
                    township_id=row["code"],
                    name=row["name"][:100],
                    county_code=row["county_code"] or "",
                    labeled_villages=row["labeled_villages"],
                    sales_fen=row["sales_fen"],
                    active_shops=row["active_shops"],
                    labeled=row["labeled"],
                    basis=row["basis"],
                )
                for row in outcome.town_rows()
            ],
            batch_size=STORE_BATCH,
        )
        report(90, "clusters")
        ClusterResult.objects.bulk_create(
            [
                ClusterResult(
                    evaluation=evaluation,
                    cluster_id=cluster.cluster_id,
                    villages=cluster.villages,
                    sales_fen=cluster.sales_fen,
                    size_class=cluster.size_class,
                    village_codes=list(cluster.village_codes),
                )
                for cluster in outcome.clusters
            ],
            batch_size=STORE_BATCH,
        )
        now = timezone.now()
        evaluation.status = EvaluationStatus.DONE
        evaluation.progress = 100
        evaluation.progress_note = ""
        evaluation.error = ""
        evaluation.finished_at = now
        evaluation.villages_evaluated = outcome.villages_evaluated
        evaluation.villages_labeled = outcome.villages_labeled
        evaluation.towns_labeled = outcome.towns_labeled
        evaluation.clusters = len(outcome.clusters)
        evaluation.sales_fen = outcome.labeled_sales_fen
        evaluation.save(
            update_fields=[
                "status",
                "progress",
                "progress_note",
                "error",
                "finished_at",
                "villages_evaluated",
                "villages_labeled",
                "towns_labeled",
                "clusters",
                "sales_fen",
                "updated_at",
            ]
        )
        audit_record(
            actor=actor,
            action="labels.evaluation_store",
            obj=evaluation,
            after={
                "rule_set": evaluation.rule_set,
                "cutoff": evaluation.cutoff.isoformat(),
                "villages_evaluated": evaluation.villages_evaluated,
                "villages_labeled": evaluation.villages_labeled,
                "towns_labeled": evaluation.towns_labeled,
                "clusters": evaluation.clusters,
            },
        )
        report(100, "done")
    return evaluation


def _run_on(
    *,
    actor,
    evaluation: Evaluation,
    rules: RuleSet,
    progress: Progress | None,
    store_progress: Progress | None = None,
) -> EvaluationRun:
    """Compute on the platform database and store into ``evaluation`` (running)."""
    report = progress or (lambda percent, note: None)

    def computing(percent: int, note: str) -> None:
        overall = int(percent * 0.7)
        evaluation_progress(evaluation=evaluation, percent=overall, note=note)
        report(overall, note)

    def storing(percent: int, note: str) -> None:
        overall = 70 + int(percent * 0.3)
        report(overall, note)
        if store_progress is not None:
            store_progress(percent, note)

    try:
        with source_opened("db") as source:
            outcome = evaluation_compute(
                source=source,
                rules=rules,
                cutoff=evaluation.cutoff,
                progress=computing,
                with_platform_sales=True,
            )
        evaluation_store(actor=actor, evaluation=evaluation, outcome=outcome, progress=storing)
    except BaseException as error:
        evaluation_fail(evaluation=evaluation, error=error)
        if not isinstance(error, ApplicationError):
            logger.exception("evaluation %s failed", evaluation.pk)
        raise
    return EvaluationRun(outcome=outcome, evaluation=evaluation)


def evaluation_run(
    *,
    actor,
    rules: RuleSet,
    cutoff: dt.date | None = None,
    source: str = "db",
    store: bool = True,
    progress: Progress | None = None,
    store_progress: Progress | None = None,
) -> EvaluationRun:
    """Evaluate now. On the platform database (``source="db"``) the evaluation is stored
    unless ``store`` is false; other sources only return the outcome.

    ``progress(percent, note)`` reports overall progress; ``store_progress`` is called
    between the batches of the storing transaction (an exception from it rolls back).
    """
    _check_cutoff(cutoff)
    if source.strip() != "db" or not store:
        with source_opened(source) as opened:
            outcome = evaluation_compute(
                source=opened, rules=rules, cutoff=cutoff, progress=progress
            )
        return EvaluationRun(outcome=outcome, evaluation=None)
    evaluation = evaluation_start(actor=actor, rules=rules, cutoff=cutoff)
    return _run_on(
        actor=actor,
        evaluation=evaluation,
        rules=rules,
        progress=progress,
        store_progress=store_progress,
    )


def evaluation_request(*, actor, rules: str, cutoff: dt.date | None = None) -> Evaluation:
    """Queue an evaluation of the platform database under a shipped rule set; a background
    task (``labels.tasks.evaluation_run_task``) runs it once this transaction commits."""
    rule_set = rule_set_load(rules)
    if not rule_set.shipped:
        raise ValidationError(
            _("Background evaluations use shipped rule sets; run a custom file from the CLI."),
            field="rules",
        )
    with transaction.atomic():
        evaluation = evaluation_start(
            actor=actor, rules=rule_set, cutoff=cutoff, status=EvaluationStatus.QUEUED
        )

        def enqueue() -> None:
            from taocun.labels.tasks import evaluation_run_task

            evaluation_run_task.enqueue(evaluation.pk)

        transaction.on_commit(enqueue)
    return evaluation


def evaluation_execute(*, evaluation_id: int, progress: Progress | None = None) -> Evaluation:
    """Run a queued evaluation (what the background task does). Only a queued evaluation is
    claimed, so a task delivered twice runs it once."""
    claimed = Evaluation.objects.filter(pk=evaluation_id, status=EvaluationStatus.QUEUED).update(
        status=EvaluationStatus.RUNNING, started_at=timezone.now(), progress=0
    )
    evaluation = Evaluation.objects.filter(pk=evaluation_id).first()
    if evaluation is None:
        raise NotFound(_("No evaluation %(id)s") % {"id": evaluation_id}, field="evaluation")
    if not claimed:
        raise Conflict(
            _("Evaluation %(id)s is %(status)s, not queued")
            % {"id": evaluation_id, "status": evaluation.get_status_display()},
            field="evaluation",
        )
    try:
        rules = rule_set_load(evaluation.rule_set)
        if evaluation.rule_set_digest and rules.digest != evaluation.rule_set_digest:
            raise Conflict(
                _("The rule set %(name)s changed since the evaluation was requested")
                % {"name": evaluation.rule_set},
                field="rules",
            )
    except ApplicationError as error:
        evaluation_fail(evaluation=evaluation, error=error)
        raise
    _run_on(actor=None, evaluation=evaluation, rules=rules, progress=progress)
    return evaluation
