"""Build taocun's wheel and check that it holds every file the package needs.

The tests run from the source tree (an editable install), so a data file that the wheel
leaves out — a rule set, a demo file, a template — would pass them and break every real
install. This builds the wheel as pip would (``pip wheel``, isolated build) and compares it
with the files under ``src/taocun`` that git tracks, leaving out tests and their data.

    .venv/bin/python tools/check_wheel.py     # exit 1 and the missing files when any
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def needed_files() -> set[str]:
    """Tracked files of the package, as paths inside the wheel, tests left out."""
    listed = subprocess.run(
        ["git", "ls-files", "src/taocun"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    needed = set()
    for name in listed:
        path = Path(name).relative_to("src")
        if "tests" in path.parts or path.suffix == ".pyc":
            continue
        needed.add(path.as_posix())
    return needed


def tracked_copy(into: Path) -> Path:
    """The files git tracks, as they are in the working tree, copied into ``into``: a build
    from the checkout itself would also find the ``egg-info`` an editable install left
    there, whose file list hides what the package data misses."""
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            target = into / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return into


def wheel_files(into: Path) -> set[str]:
    source = tracked_copy(into / "source")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "-q", "-w", str(into)],
        check=True,
    )
    (wheel,) = into.glob("taocun-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


def main() -> int:
    with tempfile.TemporaryDirectory() as folder:
        built = wheel_files(Path(folder))
    missing = sorted(needed_files() - built)
    if missing:
        print(f"The wheel leaves out {len(missing)} file(s) of src/taocun:", file=sys.stderr)
        for name in missing:
            print(f"  {name}", file=sys.stderr)
        print("Add them to [tool.setuptools.package-data] in pyproject.toml.", file=sys.stderr)
        return 1
    print(f"The wheel holds all {len(needed_files())} files of src/taocun (tests left out).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
