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

import pyarrow as pa
import pyarrow.compute as pc
from django.conf import settings
from django.db import connection, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from taocun.core.errors import ApplicationError, Conflict, NotFound, ValidationError
from taocun.core.services import audit_record
from taocun.labels.evaluating import EvaluationOutcome, Progress, evaluation_compute
from taocun.labels.explaining import MICRO, criteria_layout, criteria_values_column
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

# Villages written per batch: progress is reported between batches, and only one batch is
# held as Python objects at a time.
STORE_BATCH = 50_000
# VillageResult.household_share is a decimal(9, 6): shares from 1000 up are data errors
# (a thousand shops per household) and are kept in the criteria only. In millionths.
MAX_STORED_MICRO = 999_999_999


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


DEFAULT_STALE_MINUTES = 60


def stale_minutes() -> int:
    """Minutes without progress after which a running evaluation's worker is taken for
    dead (``LABELS_EVALUATION_STALE_MINUTES``)."""
    return int(getattr(settings, "LABELS_EVALUATION_STALE_MINUTES", DEFAULT_STALE_MINUTES))


def evaluations_fail_stale(*, now: dt.datetime | None = None) -> list[int]:
    """Fail the running evaluations whose worker stopped without a word (killed, out of
    memory, the machine restarted): no progress for ``stale_minutes()``. Nothing of them
    was stored (an evaluation stores all or nothing), so marking them failed is all there is
    to undo; they can be requested again. Run before each request and by
    ``taocun labels fail-stale``; an evaluation that does finish afterwards is stored as
    done all the same."""
    now = now or timezone.now()
    limit = now - dt.timedelta(minutes=stale_minutes())
    failed = []
    stale = Evaluation.objects.filter(status=EvaluationStatus.RUNNING, updated_at__lt=limit)
    for pk, updated_at in stale.values_list("pk", "updated_at"):
        message = _(
            "The evaluation stopped without finishing: no progress since %(since)s (more than "
            "%(minutes)d minutes; the worker was probably stopped). Nothing of it was stored; "
            "request it again."
        ) % {
            "since": timezone.localtime(updated_at).strftime("%Y-%m-%d %H:%M"),
            "minutes": stale_minutes(),
        }
        # Only if nothing moved it since it was read: a late progress report wins.
        done = Evaluation.objects.filter(
            pk=pk, status=EvaluationStatus.RUNNING, updated_at=updated_at
        ).update(status=EvaluationStatus.FAILED, error=message, finished_at=now, updated_at=now)
        if done:
            audit_record(
                actor="system:labels",
                action="labels.evaluation_stale",
                object_type="labels.evaluation",
                object_id=pk,
                before={"status": EvaluationStatus.RUNNING},
                after={"status": EvaluationStatus.FAILED},
            )
            failed.append(pk)
    return failed


def _village_columns(
    villages: pa.Table, *, rules: RuleSet, platform_texts: dict[str, str]
) -> dict[str, pa.Array | pa.ChunkedArray]:
    """The ``VillageResult`` columns of some villages, built a column at a time with Arrow
    compute (the criteria JSON too): no Python object per village until the rows are
    written."""
    column = villages.column
    by_households = rules.household_share_basis == "households_with_shop"
    codes = column("code")
    return {
        "village": codes,
        "name": pc.utf8_slice_codeunits(column("name"), 0, 100),
        "township_code": pc.fill_null(column("township_code"), ""),
        "county_code": pc.fill_null(column("county_code"), ""),
        "sales_fen": column("sales_fen"),
        "all_sales_fen": column("all_sales_fen"),
        "sales_by_platform": pa.array(
            [platform_texts.get(code, "{}") for code in codes.to_pylist()], pa.string()
        ),
        "main_platform": pc.fill_null(column("main_platform"), ""),
        "active_shops": column("active_shops"),
        "households": column("households"),
        "household_share": _share_column(
            column("households_with_shop" if by_households else "active_shops"),
            column("households"),
        ),
        "eligible": column("eligible"),
        "eligibility_note": pc.fill_null(column("eligibility_reason"), ""),
        "stored_criteria": criteria_values_column(villages, rules),
        "labeled": column("labeled"),
    }


def _share_column(numerators: pa.ChunkedArray, households: pa.ChunkedArray) -> pa.ChunkedArray:
    """:func:`~taocun.labels.explaining.share_text` of every village at once (the same
    integer arithmetic, rounded half up, at most 6 decimals, no trailing zeros); null when
    the households are unknown or 0, or when the share is above ``MAX_STORED_MICRO``."""
    known = pc.fill_null(pc.greater(households, 0), False)
    denominators = pc.if_else(known, households, 1)
    micro = pc.divide(
        pc.add(pc.multiply(numerators, 2 * MICRO), denominators), pc.multiply(denominators, 2)
    )
    whole = pc.cast(pc.divide(micro, MICRO), pa.string())
    fraction = pc.subtract(micro, pc.multiply(pc.divide(micro, MICRO), MICRO))
    decimals = pc.utf8_rtrim(
        pc.utf8_lpad(pc.cast(fraction, pa.string()), width=6, padding="0"), characters="0"
    )
    text = pc.if_else(
        pc.equal(fraction, 0), whole, pc.binary_join_element_wise(whole, decimals, ".")
    )
    stored = pc.and_(known, pc.less_equal(micro, MAX_STORED_MICRO))
    return pc.if_else(stored, text, pa.scalar(None, pa.string()))


def _town_columns(towns: pa.Table) -> dict[str, pa.Array | pa.ChunkedArray]:
    column = towns.column
    return {
        "township": column("code"),
        "name": pc.utf8_slice_codeunits(column("name"), 0, 100),
        "county_code": pc.fill_null(column("county_code"), ""),
        "labeled_villages": column("labeled_villages"),
        "sales_fen": column("sales_fen"),
        "active_shops": column("active_shops"),
        "labeled": column("labeled"),
        "basis": column("basis"),
    }


def _rows_insert(
    cursor,
    *,
    model: type[models.Model],
    evaluation: Evaluation,
    columns: dict[str, pa.Array | pa.ChunkedArray],
) -> None:
    """Insert rows of ``model`` given column by column, with the evaluation's id, inside
    the caller's transaction: ``COPY`` of text built by Arrow on PostgreSQL (no Python
    object per value), ``executemany`` of tuples zipped from the columns on SQLite."""
    if not len(next(iter(columns.values()))):
        return
    fields = [model._meta.get_field(name) for name in ["evaluation", *columns]]
    names = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    table = connection.ops.quote_name(model._meta.db_table)
    if connection.vendor == "postgresql":
        with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            copy.write(_copy_text(str(evaluation.pk), columns.values()))
        return
    marks = ", ".join(["%s"] * len(fields))
    values = [column.to_pylist() for column in columns.values()]
    cursor.executemany(
        f"INSERT INTO {table} ({names}) VALUES ({marks})",
        zip(itertools.repeat(evaluation.pk), *values),
    )


def _copy_text(first: str, columns) -> memoryview:
    """Rows in ``COPY``'s text format: tab-separated, a line each, ``\\N`` for null,
    backslash, tab, newline and carriage return escaped; ``first`` is the first field of
    every row."""
    fields = [first, *(_copy_field(column) for column in columns)]
    lines = pc.binary_join_element_wise(pc.binary_join_element_wise(*fields, "\t"), "", "\n")
    lines = lines.combine_chunks() if isinstance(lines, pa.ChunkedArray) else lines
    _validity, offsets, data = lines.buffers()
    bounds = pa.Array.from_buffers(pa.int32(), len(lines) + 1, [None, offsets], offset=lines.offset)
    return memoryview(data)[bounds[0].as_py() : bounds[len(lines)].as_py()]


_COPY_ESCAPES = (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r"))


def _copy_field(column: pa.Array | pa.ChunkedArray) -> pa.ChunkedArray:
    if pa.types.is_boolean(column.type):
        text = pc.if_else(column, "t", "f")
    elif pa.types.is_string(column.type):
        text = column
        # One scan to see whether any escaping is needed (the criteria JSON seldom needs it)
        # before a pass per character.
        if pc.any(pc.match_substring_regex(text, r"[\\\t\n\r]")).as_py():
            for plain, escaped in _COPY_ESCAPES:
                text = pc.replace_substring(text, plain, escaped)
    else:
        text = pc.cast(column, pa.string())
    return pc.fill_null(text, "\\N")


def _insert_villages(*, evaluation: Evaluation, outcome: EvaluationOutcome, report) -> None:
    """Insert the village results by batches of ``STORE_BATCH`` villages (the memory of
    one batch at a time), inside the caller's transaction."""
    villages, total = outcome.villages, outcome.villages.num_rows
    platform_texts = {
        code: json.dumps(amounts, ensure_ascii=False)
        for code, amounts in outcome.platform_sales.items()
    }
    with connection.cursor() as cursor:
        for start in range(0, total, STORE_BATCH):
            batch = villages.slice(start, STORE_BATCH)
            columns = _village_columns(batch, rules=outcome.rules, platform_texts=platform_texts)
            _rows_insert(cursor, model=VillageResult, evaluation=evaluation, columns=columns)
            report(int(80 * (start + batch.num_rows) / total), "villages")


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
        with connection.cursor() as cursor:
            _rows_insert(
                cursor,
                model=TownResult,
                evaluation=evaluation,
                columns=_town_columns(outcome.towns),
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
        evaluation.criteria_layout = criteria_layout(outcome.villages, outcome.rules)
        evaluation.warnings = outcome.warnings
        evaluation.save(
            update_fields=[
                "warnings",
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
                "criteria_layout",
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
    evaluations_fail_stale()
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
