"""``taocun regions import|export`` through call_command and through the console script."""

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from taocun.regions.models import Division

SAMPLE = Path(__file__).parent / "data" / "divisions-sample.csv"


def run(*args: str, language: str = "en") -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    with translation.override(language):
        call_command("regions", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_import_prints_a_summary(db):
    out, _ = run("import", str(SAMPLE), "--no-progress")
    assert "12 rows read, 12 inserted, 0 updated, 0 unchanged" in out
    assert Division.objects.count() == 12


def test_dry_run_writes_nothing(db):
    out, _ = run("import", str(SAMPLE), "--no-progress", "--dry-run")
    assert "12 inserted" in out
    assert "dry run" in out
    assert not Division.objects.exists()


def test_a_bad_file_is_a_command_error_with_exit_code_2(db, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("code,name,level,parent_code\n330000000000,浙江省,county,\n")
    with pytest.raises(CommandError) as info:
        run("import", str(bad), "--no-progress")
    assert info.value.returncode == 2
    assert "line 2, field level" in str(info.value)


def test_export_to_stdout(db):
    run("import", str(SAMPLE), "--no-progress")
    out, err = run("export", "-", "--level", "province", "--no-progress")
    assert out.splitlines() == [
        "code,name,level,parent_code,lat,lon",
        "330000000000,浙江省,province,,30.266597,120.152585",
        "370000000000,山东省,province,,36.671156,117.019915",
    ]
    assert "2 rows" in err


def test_max_errors_must_be_positive(db):
    with pytest.raises(CommandError) as info:
        run("import", str(SAMPLE), "--max-errors", "0")
    assert "expected a whole number of at least 1, got '0'" in str(info.value)
    with pytest.raises(CommandError) as info:
        run("import", str(SAMPLE), "--max-errors", "0", language="zh-hans")
    assert "至少为 1 的整数" in str(info.value)


def test_summaries_speak_the_users_language(db):
    out, _ = run("import", str(SAMPLE), "--no-progress", "--dry-run", language="fr")
    assert "12 lignes lues, 12 insérées" in out and "simulation" in out
    out, _ = run("import", str(SAMPLE), "--no-progress", language="zh-hans")
    assert "读取 12 行，新增 12 行" in out
    _, err = run("export", "-", "--level", "province", "--no-progress", language="zh-hans")
    assert "标准输出：2 行" in err


@pytest.fixture(scope="module")
def console_env(tmp_path_factory) -> dict[str, str]:
    """The console script on its own migrated SQLite database (the test database of this
    process is not visible to a child process)."""
    home = tmp_path_factory.mktemp("cli")
    env = os.environ | {
        "DATABASE_URL": f"sqlite:///{home / 'cli.sqlite3'}",
        "TAOCUN_VAR_DIR": str(home),
    }
    subprocess.run([*taocun(), "migrate", "-v0"], env=env, check=True, timeout=120)
    return env


def taocun() -> list[str]:
    """The installed ``taocun`` console script next to this interpreter."""
    script = Path(sys.executable).parent / "taocun"
    return [str(script)] if script.exists() else [sys.executable, "-m", "taocun.cli"]


def test_console_script_rejects_a_bad_file_with_exit_code_2(console_env, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_bytes(
        "code,name,level,parent_code\n330000000000,浙江省,province,\n"
        "330700000000,金华市,prefecture,330000000000\n".encode("gbk")
    )
    done = subprocess.run(
        [*taocun(), "regions", "import", str(bad), "--no-progress"],
        env=console_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    # The CLI speaks the configured language (zh-hans by default), place and reason alike.
    assert "2 行有误，未导入任何数据" in done.stderr
    assert "第 3 行，字段 name：" in done.stderr
    assert "UTF-8" in done.stderr and "GBK" in done.stderr
    assert "Traceback" not in done.stderr


def test_console_script_imports_and_exports(console_env, tmp_path):
    done = subprocess.run(
        [*taocun(), "regions", "import", str(SAMPLE)],
        env=console_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "读取 12 行" in done.stdout
    assert "%" in done.stderr  # the progress bar
    target = tmp_path / "out.csv"
    done = subprocess.run(
        [*taocun(), "regions", "export", str(target), "--no-progress"],
        env=console_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert target.read_bytes() == SAMPLE.read_bytes()
