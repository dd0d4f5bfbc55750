"""The one backend fixture of the engine tests: ``evaluate(rules, cutoff)`` runs the engine
on the test scenario (``scenario.py``) in each backend — the platform database (SQLite, or
PostgreSQL when ``DATABASE_URL`` says so), DuckDB over typed Parquet, DuckDB over text
columns, and PySpark in local mode — so every engine test runs, unchanged, on each.

Each backend evaluates each (rules, cut-off) once per test session; the Spark session starts
once per test session (about 10 s) and its tests carry the ``spark`` marker
(``-m "not spark"`` skips them).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from taocun.labels.evaluating import EvaluationOutcome, evaluation_compute
from taocun.labels.rulesets import RuleSet, rule_set_load
from taocun.labels.sources import source_opened
from taocun.labels.tests import scenario as world

RULES_DIR = Path(__file__).parent / "data" / "rules"
DB_ID = (
    "postgres-db"
    if os.environ.get("DATABASE_URL", "").startswith(("postgres:", "postgresql:"))
    else "sqlite-db"
)


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "spark: runs PySpark in local mode (a JVM; the session starts once)"
    )


def rules_named(name: str) -> RuleSet:
    """A test rule set from ``data/rules`` or a shipped one."""
    path = RULES_DIR / f"{name}.toml"
    return rule_set_load(path if path.exists() else name)


@dataclass
class Evaluated:
    """An outcome with lookups by code, for assertions."""

    backend: str
    outcome: EvaluationOutcome

    def village(self, code: str) -> dict:
        rows = [row for row in self.outcome.village_rows() if row["code"] == code]
        assert rows, f"no village {code}"
        return rows[0]

    def town(self, code: str) -> dict:
        rows = [row for row in self.outcome.town_rows() if row["code"] == code]
        assert rows, f"no town {code}"
        return rows[0]

    def labeled(self) -> set[str]:
        return {row["code"] for row in self.outcome.village_rows() if row["labeled"]}

    def clusters(self) -> list[tuple[str, tuple[str, ...]]]:
        return [(c.size_class, c.village_codes) for c in self.outcome.clusters]


@pytest.fixture(scope="session")
def scenario() -> world.Scenario:
    return world.build()


@pytest.fixture(scope="session")
def scenario_folders(tmp_path_factory, scenario) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("scenario")
    return {
        "parquet": world.write_files(scenario, base / "typed"),
        "parquet-text": world.write_files(scenario, base / "text", text=True),
    }


@pytest.fixture(scope="session")
def spark():
    """One local Spark session for the test session, tuned to start fast on tiny data
    (C1-only JIT, 2 shuffle partitions); the sources' ``spark_session()`` then reuses it."""
    pytest.importorskip("pyspark")
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("taocun-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.driver.extraJavaOptions", "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC")
        .getOrCreate()
    )
    yield session
    session.stop()


_SESSION_RESULTS: dict[tuple, EvaluationOutcome] = {}


@pytest.fixture
def reference(scenario_folders):
    """``reference(rules_name) -> Evaluated``: the scenario on DuckDB over typed Parquet."""

    def run(rules: str, cutoff=None) -> Evaluated:
        key = ("parquet", rules, cutoff)
        if key not in _SESSION_RESULTS:
            with source_opened(f"parquet:{scenario_folders['parquet']}") as source:
                _SESSION_RESULTS[key] = evaluation_compute(
                    source=source, rules=rules_named(rules), cutoff=cutoff
                )
        return Evaluated("parquet", _SESSION_RESULTS[key])

    return run


@pytest.fixture(
    params=[
        pytest.param("db", id=DB_ID),
        pytest.param("parquet", id="duckdb-parquet"),
        pytest.param("parquet-text", id="duckdb-text"),
        pytest.param("spark", id="spark", marks=pytest.mark.spark),
    ]
)
def evaluate(request, scenario, db):
    """``evaluate(rules_name, cutoff=None) -> Evaluated`` on this test's backend.

    (Every parameter takes ``db``: pytest-django does not set up the test database for a
    ``db`` requested dynamically from a parametrised fixture.)
    """
    backend = request.param
    if backend == "db":
        spec = "db"
    else:
        if backend == "spark":
            request.getfixturevalue("spark")
        folders = request.getfixturevalue("scenario_folders")
        if backend == "spark":
            spec = f"spark:{folders['parquet']}"
        else:
            spec = f"parquet:{folders[backend]}"

    loaded = []

    def run(rules: str, cutoff=None) -> Evaluated:
        # The scenario is the same in every test, so each backend evaluates each (rules,
        # cut-off) once per session; the database gets the scenario only when it must.
        key = (backend, rules, cutoff)
        if key not in _SESSION_RESULTS:
            if backend == "db" and not loaded:
                world.load_into_database(scenario)
                loaded.append(True)
            with source_opened(spec) as source:
                _SESSION_RESULTS[key] = evaluation_compute(
                    source=source, rules=rules_named(rules), cutoff=cutoff
                )
        return Evaluated(backend, _SESSION_RESULTS[key])

    run.backend = backend
    return run
