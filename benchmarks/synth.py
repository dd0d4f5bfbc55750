"""Generation speed and peak memory of ``taocun synth`` at several sizes.

Each size is one fresh ``taocun synth`` process under ``/usr/bin/time -v`` over all
villages of the national table (when ``../shared/data`` is there), one shop per 50 orders:
wall clock (start-up and reading the divisions included), orders per second, peak resident
memory and the size of the files written.

    .venv/bin/python benchmarks/synth.py [--orders 1000000,10000000] [--out DIR] [--keep]

``--keep`` leaves the last data set in ``DIR/synth-<orders>`` (for benchmarks/labels_duckdb.py);
otherwise everything is written under a temporary folder and removed. Asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TAOCUN = str(Path(sys.executable).with_name("taocun"))


def generate(orders: int, out: Path, *, seed: int, villages: str) -> dict:
    command = [TAOCUN, "synth", "--out", str(out), "--orders", str(orders), "--villages",
               villages, "--seed", str(seed), "--overwrite", "--no-progress"]  # fmt: skip
    completed = subprocess.run(
        ["/usr/bin/time", "-v", *command], capture_output=True, text=True, cwd=ROOT
    )
    if completed.returncode != 0:
        raise SystemExit(f"taocun synth failed:\n{completed.stdout}\n{completed.stderr[-3000:]}")
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", completed.stderr)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", completed.stderr)
    parts = [float(x) for x in wall.group(1).split(":")]
    seconds = sum(part * 60**power for power, part in enumerate(reversed(parts)))
    size = sum(path.stat().st_size for path in out.rglob("*") if path.is_file())
    return {
        "orders": orders,
        "seconds": round(seconds, 1),
        "orders_per_s": round(orders / seconds),
        "peak_mb": round(int(rss.group(1)) / 1024),
        "files_mb": round(size / 2**20),
        "bytes_per_order": round(size / max(orders, 1), 1),
        "summary": completed.stdout.strip().splitlines()[0],
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", default="1000000,10000000", help="comma-separated sizes")
    parser.add_argument("--villages", default="all")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, help="where to write (default: a temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the data sets")
    args = parser.parse_args(argv)
    base = args.out or Path(tempfile.mkdtemp(prefix="taocun-synth-bench-"))
    results = []
    try:
        for orders in [int(text.replace("_", "")) for text in args.orders.split(",")]:
            out = base / f"synth-{orders}"
            result = generate(orders, out, seed=args.seed, villages=args.villages)
            results.append(result)
            print(json.dumps(result, ensure_ascii=False), flush=True)
            if not args.keep:
                shutil.rmtree(out)
    finally:
        if not args.keep and args.out is None:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
