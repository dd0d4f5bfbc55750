import os
import sqlite3
import subprocess
import sys


def _taocun(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "taocun", *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        env=env,
    )


def test_default_database_is_sqlite_in_wal_mode_under_var(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"} | {
        "TAOCUN_VAR_DIR": str(tmp_path)
    }
    _taocun("migrate", "--verbosity", "0", env=env)
    database = tmp_path / "taocun.sqlite3"
    assert database.exists()
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600
    with sqlite3.connect(database) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_console_script_lists_django_and_project_commands():
    result = _taocun("help")
    for command in ("migrate", "createsuperuser", "regions", "demo", "db_worker"):
        assert command in result.stdout
