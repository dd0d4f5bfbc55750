"""``taocun sales import …`` through call_command and through the console script."""

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from taocun.sales.models import SalesOrder, Shop
from taocun.sales.tests.conftest import ORDERS_HEADER, QIANCANG, SHOPS_HEADER


def run(*args: str) -> str:
    out = io.StringIO()
    with translation.override("en"):
        call_command("sales", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_import_shops_then_orders(tree, write):
    out = run(
        "import",
        "shops",
        str(write(SHOPS_HEADER + f"taobao,s,{QIANCANG},2015-01-01,,,\n")),
        "--no-progress",
    )
    assert "1 rows read, 1 inserted" in out and "0 shops moved" in out
    out = run(
        "import",
        "orders",
        str(write(ORDERS_HEADER + "taobao,1,s,1,2016-01-01,completed,,\n")),
        "--no-progress",
    )
    assert "1 rows read, 1 inserted" in out and "rows/s" in out
    assert (Shop.objects.count(), SalesOrder.objects.count()) == (1, 1)
    out = run(
        "import",
        "rates",
        str(write("currency,valid_from,cny_per_unit\nUSD,2016-01-01,6.5\n")),
        "--dry-run",
        "--no-progress",
    )
    assert "0 orders reconverted" in out and "dry run" in out


def test_a_bad_file_is_a_command_error_with_exit_code_2(tree, write):
    with pytest.raises(CommandError) as info:
        run(
            "import",
            "orders",
            str(write(ORDERS_HEADER + "taobao,1,s,1,2016-01-01,completed,,\n")),
            "--no-progress",
        )
    assert info.value.returncode == 2
    assert "line 2, field shop_id" in str(info.value)


def taocun() -> list[str]:
    script = Path(sys.executable).parent / "taocun"
    return [str(script)] if script.exists() else [sys.executable, "-m", "taocun.cli"]


def test_console_script_rejects_a_bad_file_with_exit_code_2(tmp_path):
    """The console script in a child process, on a database of its own (the test database is
    not visible to a child). A rates file is checked without reading any table, so that
    database needs no migrations, which keeps this test fast."""
    env = os.environ | {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}",
        "TAOCUN_VAR_DIR": str(tmp_path),
    }
    bad = tmp_path / "rates.csv"
    bad.write_bytes(
        "currency,valid_from,cny_per_unit\n"
        "USD,2016-01-01,6.5\n"
        "美元,2016-01-01,6.5\n"  # GBK bytes: reported as not UTF-8
        "USD,2016-02-01,6.123456789\n".encode("gbk")
    )

    done = subprocess.run(
        [*taocun(), "sales", "import", "rates", str(bad), "--no-progress"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    # The CLI speaks the site's language (zh-Hans by default); file and fields show as they are.
    assert f"{bad}" in done.stderr
    assert "2 行有误" in done.stderr  # "2 bad rows"
    assert "第 3 行，字段 currency" in done.stderr and "GBK" in done.stderr
    assert "第 4 行，字段 cny_per_unit" in done.stderr and "6.123456789" in done.stderr
