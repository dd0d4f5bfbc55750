"""Bulk imports into the sales ledger: shops, orders and currency rates.

Each file is CSV UTF-8, gzipped CSV or Parquet (recognised by its first bytes), checked row
by row, staged, checked again in SQL and upserted in one transaction: all or nothing,
idempotent on its key. The formats are public contracts, documented in
``docs/formats.md``.
"""

from pathlib import Path
from typing import Any

from taocun.sales.importing.orders import OrdersImport
from taocun.sales.importing.pipeline import ImportSummary, run_import
from taocun.sales.importing.rates import RatesImport
from taocun.sales.importing.shops import ShopsImport

__all__ = ["ImportSummary", "orders_import", "rates_import", "shops_import"]


def shops_import(
    *,
    path: str | Path,
    max_errors: int = 100,
    progress: bool = False,
    dry_run: bool = False,
    actor: Any | None = None,
) -> ImportSummary:
    """Import a shops file (upsert by ``(platform, shop_id)``); a changed village is
    recorded as a ShopMove. Raises ImportRejected listing every bad row; nothing is written
    then."""
    return run_import(
        ShopsImport,
        path=path,
        max_errors=max_errors,
        progress=progress,
        dry_run=dry_run,
        actor=actor,
    )


def orders_import(
    *,
    path: str | Path,
    max_errors: int = 100,
    progress: bool = False,
    dry_run: bool = False,
    actor: Any | None = None,
) -> ImportSummary:
    """Import an orders file (upsert by ``(platform, order_id)``) of shops already in the
    ledger, converting other currencies into CNY. All or nothing."""
    return run_import(
        OrdersImport,
        path=path,
        max_errors=max_errors,
        progress=progress,
        dry_run=dry_run,
        actor=actor,
    )


def rates_import(
    *,
    path: str | Path,
    max_errors: int = 100,
    progress: bool = False,
    dry_run: bool = False,
    actor: Any | None = None,
) -> ImportSummary:
    """Import currency rates (upsert by ``(currency, valid_from)``) and reconvert the orders
    whose rate changed. All or nothing."""
    return run_import(
        RatesImport,
        path=path,
        max_errors=max_errors,
        progress=progress,
        dry_run=dry_run,
        actor=actor,
    )
