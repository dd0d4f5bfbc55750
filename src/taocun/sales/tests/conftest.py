"""Fixtures of the ledger tests: files to import, and the check that a rejected file
leaves the ledger exactly as it was."""

import itertools
from pathlib import Path

import pytest
from django.utils import translation

from taocun.core.errors import ImportRejected
from taocun.core.models import AuditEntry
from taocun.sales.models import CurrencyRate, SalesOrder, Shop, ShopMove

# Real villages of the small tree (regions.tests.factories.small_tree).
QIANCANG = "330782003210"  # 前仓村委会, Choujiang, Yiwu (1,500 households)
LIZU = "330782005219"  # 李祖村委会, Houzhai, Yiwu
DINGLOU = "371721121227"  # 丁楼村民委员会, Daji, Cao county
CHOUJIANG = "330782003000"  # 稠江街道, a township

SHOPS_HEADER = "platform,shop_id,village_code,opened_at,kind,household_id,closed_at\n"
ORDERS_HEADER = "platform,order_id,shop_id,amount,paid_at,status,currency,refunded_amount\n"


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.fixture
def write(tmp_path):
    """Write text (or bytes) to a file in tmp_path and return its path."""
    counter = itertools.count()

    def make(content: str | bytes, name: str | None = None) -> Path:
        path = tmp_path / (name or f"file-{next(counter)}.csv")
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        return path

    return make


def ledger_snapshot() -> list:
    return [
        list(model.objects.order_by("pk").values_list())
        for model in (Shop, SalesOrder, ShopMove, CurrencyRate, AuditEntry)
    ]


@pytest.fixture
def rejected():
    """``rejected(importer, path, **kwargs)``: the ImportRejected it raises, after checking
    that nothing in the ledger (nor the audit log) changed."""

    def check(importer, path: Path, **kwargs) -> ImportRejected:
        before = ledger_snapshot()
        with pytest.raises(ImportRejected) as info:
            importer(path=path, **kwargs)
        assert ledger_snapshot() == before, "a rejected file must change nothing"
        return info.value

    return check


def where(error: ImportRejected) -> list[tuple[int, str]]:
    return [(row.line, row.field) for row in error.errors]
