"""``taocun labels rules|evaluate|explain|compare`` through call_command and the console
script."""

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from taocun.labels.models import Evaluation, EvaluationStatus, VillageResult
from taocun.labels.tests import scenario as world
from taocun.labels.tests.conftest import RULES_DIR

TINY = str(RULES_DIR / "tiny-2019.toml")


def labels(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("labels", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def platform(db, scenario):
    world.load_into_database(scenario)


def test_rules_lists_the_shipped_rule_sets_with_their_sources():
    out, _ = labels("rules", "--language", "en")
    for name in (
        "aliresearch-2016",
        "aliresearch-2019",
        "aliresearch-2020",
        "aliresearch-2022",
        "seed-article",
    ):
        assert name in out
    assert "中国淘宝村研究报告（2016）" in out
    assert "round 2022, 12 months to 2022-06-30" in out


def test_rules_shows_one_in_full():
    out, _ = labels("rules", "aliresearch-2019", "--language", "en")
    assert "window: 2018-07-01 to 2019-06-30; active shops from 2019-04-01" in out
    assert "village sales ≥ ¥10,000,000.00" in out
    assert "counted platforms: taobao, tmall, 1688" in out
    out, _ = labels("rules", TINY, "--language", "en")
    assert "tiny-2019 (t1)" in out


def read(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def test_evaluate_stores_and_writes_the_csv_files(platform, tmp_path):
    out, _ = labels(
        "evaluate", "--rules", TINY, "--out", str(tmp_path), "--no-progress", "--language", "en"
    )
    evaluation = Evaluation.objects.get()
    assert evaluation.status == EvaluationStatus.DONE
    assert f"stored as evaluation {evaluation.pk}" in out
    assert "28 villages evaluated: 23 labelled; 5 towns labelled; 4 clusters" in out
    assert VillageResult.objects.filter(evaluation=evaluation).count() == 28

    villages = read(tmp_path / "villages.csv")
    assert villages[0] == (
        "code,name,township_code,county_code,sales,active_shops,households,labeled,failed_criteria"
    )
    assert len(villages) == 29
    assert "330782001201,整数村,330782001000,330782000000,1000.00,3,100,true," in villages
    assert "330782001202,差一村,330782001000,330782000000,999.99,3,30,false,sales" in villages
    assert (
        "330782001204,无户村,330782001000,330782000000,3000.00,2,,false,"
        "active_shops;household_share:unknown"
    ) in villages
    assert (
        "330782001105,某社区居委会,330782001000,330782000000,7500.00,5,50,false,eligibility"
    ) in villages
    towns = read(tmp_path / "towns.csv")
    assert towns[0] == "code,name,labeled_villages,sales,active_shops,labeled,basis"
    assert "330782001000,甲镇,2,18499.99,17,true,sales_shops" in towns
    assert "330782004000,丁镇,1,5000.00,6,false," in towns
    clusters = read(tmp_path / "clusters.csv")
    assert clusters[0] == "cluster_id,villages,sales,size_class,village_codes"
    assert clusters[3] == "3,3,5400.00,cluster,330782005201;330782005202;330782005203"
    assert (tmp_path / "villages.csv").read_bytes().endswith(b"\r\n")


def test_every_source_writes_the_same_files(platform, scenario_folders, tmp_path):
    labels("evaluate", "--rules", TINY, "--out", str(tmp_path / "db"), "--no-progress")
    for flavour in ("parquet", "parquet-text"):
        labels(
            "evaluate",
            "--rules",
            TINY,
            "--source",
            f"parquet:{scenario_folders[flavour]}",
            "--out",
            str(tmp_path / flavour),
            "--no-progress",
        )
        for name in ("villages.csv", "towns.csv", "clusters.csv"):
            assert (tmp_path / flavour / name).read_bytes() == (tmp_path / "db" / name).read_bytes()
    assert Evaluation.objects.count() == 1  # only the platform database's run is stored


def test_no_store(platform):
    out, _ = labels("evaluate", "--rules", TINY, "--no-store", "--no-progress", "--language", "en")
    assert "stored" not in out and not Evaluation.objects.exists()


def test_a_window_with_no_sales_is_stored_with_a_warning(platform, client):
    out, err = labels(
        "evaluate", "--rules", TINY, "--cutoff", "2010-06-30", "--no-progress", "--language", "en"
    )
    assert "0 labelled" in out
    assert err.startswith("Warning: No sales at all from 2009-07-01 to 2010-06-30")
    evaluation = Evaluation.objects.get()
    assert evaluation.status == EvaluationStatus.DONE
    assert evaluation.warnings == [err.removeprefix("Warning: ").strip()]
    body = client.get(f"/api/v1/labels/evaluations/{evaluation.pk}").json()
    assert body["warnings"] == evaluation.warnings
    page = client.get(f"/labels/evaluations/{evaluation.pk}/").content.decode()
    assert 'class="alert alert-warning"' in page
    # A window with sales has nothing to warn about.
    _out, err = labels("evaluate", "--rules", TINY, "--no-progress", "--language", "en")
    assert err == "" and Evaluation.objects.latest("pk").warnings == []


@pytest.mark.parametrize(
    "args",
    [
        ("evaluate", "--rules", "aliresearch-2018"),
        ("evaluate", "--rules", TINY, "--source", "mysql"),
        ("evaluate", "--rules", TINY, "--source", "parquet:/nowhere/at/all"),
        ("explain", "33078200220"),
        ("compare", "1", "2"),
    ],
)
def test_bad_input_is_a_clean_error_with_exit_code_2(platform, args):
    with pytest.raises(CommandError) as info:
        labels(*args, "--language", "en")
    assert info.value.returncode == 2


def test_explain_from_the_latest_evaluation_and_computed(platform):
    labels("evaluate", "--rules", TINY, "--no-progress")
    evaluation = Evaluation.objects.get()
    out, _ = labels("explain", "330782002201", "--language", "en")
    lines = out.splitlines()
    assert lines[0] == "新店村 (330782002201): labelled"
    assert lines[1] == f"rule set tiny-2019 t1, cut-off 2019-06-30 (evaluation {evaluation.pk})"
    assert "  sales: pass — ¥3,560.00 ≥ ¥1,000.00" in lines
    assert "  active shops: pass — 6 ≥ 3" in lines
    assert (
        "  household share: fail — 6 active shops for 200 households: 3 % ≥ 10 % — "
        "needs 14 more active shops" in lines
    )

    out, _ = labels(
        "explain", "330782001202", "--evaluation", str(evaluation.pk), "--language", "en"
    )
    assert out.splitlines()[-1] == "needs ¥0.01 more sales"
    out, _ = labels("explain", "330782001204", "--rules", "aliresearch-2019", "--language", "en")
    assert "(computed now)" in out
    assert (
        "  household share: unknown — unknown: the village's households are not recorded "
        "(needs 10 %)" in out.splitlines()
    )
    assert out.splitlines()[-1] == "needs ¥9,997,000.00 more sales and 98 more active shops"
    out, _ = labels("explain", "330782001105", "--language", "fr")
    assert "330782001105" in out


def test_compare(platform):
    labels("evaluate", "--rules", TINY, "--no-progress")
    labels("evaluate", "--rules", str(RULES_DIR / "tiny-2020.toml"), "--no-progress")
    before, after = Evaluation.objects.order_by("created_at", "pk")
    out, _ = labels("compare", str(before.pk), str(after.pk), "--language", "en")
    assert "villages: 0 new, 21 kept, 2 lost" in out
    assert "towns: 0 new, 5 kept, 0 lost" in out
    assert "  330782002205 城镇村: ¥1,800.00 → ¥1,800.00" in out.splitlines()
    out, _ = labels("compare", str(before.pk), str(after.pk), "--limit", "1", "--language", "en")
    assert "… and 1 more" in out


def taocun() -> list[str]:
    script = Path(sys.executable).parent / "taocun"
    return [str(script)] if script.exists() else [sys.executable, "-m", "taocun.cli"]


def test_console_script_evaluates_a_parquet_folder_with_a_progress_bar(scenario_folders, tmp_path):
    env = os.environ | {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite3'}",
        "TAOCUN_VAR_DIR": str(tmp_path),
    }
    done = subprocess.run(
        [
            *taocun(),
            "labels",
            "evaluate",
            "--rules",
            TINY,
            "--language",
            "en",
            "--source",
            f"parquet:{scenario_folders['parquet']}",
            "--out",
            str(tmp_path / "out"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "28 villages evaluated: 23 labelled" in done.stdout
    assert "100%" in done.stderr  # the progress bar
    assert len(read(tmp_path / "out" / "villages.csv")) == 29
