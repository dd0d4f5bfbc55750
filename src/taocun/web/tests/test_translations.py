"""Every user-visible string is translated into Chinese and French.

``makemessages`` adds new strings to the .po files with an empty ``msgstr``; this test fails
until someone translates them (and removes any ``fuzzy`` flag), and until the compiled .mo
files are up to date with the .po files. See docs/i18n.md.
"""

import ast
import gettext
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

PACKAGE_DIR = Path(__file__).resolve().parents[2]
LOCALE_DIR = PACKAGE_DIR / "locale"
# The site's catalogue and every app's own (``market/locale``, ``orders/locale`` …): the
# same rules hold for all of them.
CATALOGUES = [LOCALE_DIR, *sorted(PACKAGE_DIR.glob("*/locale"))]
TRANSLATED_LOCALES = ["zh_Hans", "fr"]
ALL_LOCALES = ["zh_Hans", "fr", "en"]


def _catalogue_cases(locales: list[str]) -> list:
    return [
        pytest.param(catalogue, locale, id=f"{catalogue.parent.name}-{locale}")
        for catalogue in CATALOGUES
        for locale in locales
    ]


@dataclass
class PoEntry:
    line: int
    msgid: str = ""
    msgid_plural: str | None = None
    msgctxt: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    obsolete: bool = False

    @property
    def untranslated(self) -> bool:
        return not self.msgstr or any(not text for text in self.msgstr.values())


def read_po(path: Path) -> list[PoEntry]:
    """A minimal .po reader: enough for the files makemessages writes (no polib here)."""
    entries: list[PoEntry] = []
    entry: PoEntry | None = None
    target: tuple[str, int | None] | None = None

    def start(line_number: int, *, context_ends: bool = True) -> PoEntry:
        """The entry a line belongs to: a new one unless the current one has only its
        comments so far (or, for its msgid, its msgctxt)."""
        nonlocal entry
        if (
            entry is None
            or entry.msgid
            or entry.msgstr
            or (context_ends and entry.msgctxt is not None)
        ):
            entry = PoEntry(line=line_number)
            entries.append(entry)
        return entry

    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line:
            entry, target = None, None
            continue
        if line.startswith("#~"):
            start(number).obsolete = True
            continue
        if line.startswith("#,"):
            start(number).flags.update(flag.strip() for flag in line[2:].split(","))
            continue
        if line.startswith("#"):
            start(number)
            continue
        keyword, _, rest = line.partition(" ")
        if line.startswith('"'):
            text = ast.literal_eval(line)
        else:
            text = ast.literal_eval(rest)
            if keyword == "msgctxt":
                current = start(number)
            elif keyword == "msgid":
                current = start(number, context_ends=False)
            else:
                current = entry
            assert current is not None, f"{path}:{number}: {keyword} outside an entry"
            if keyword.startswith("msgstr["):
                target = ("msgstr", int(keyword[7:-1]))
            elif keyword == "msgstr":
                target = ("msgstr", 0)
            else:
                target = (keyword, None)
            entry = current
        assert entry is not None and target is not None, f"{path}:{number}: stray string"
        name, index = target
        if name == "msgstr":
            entry.msgstr[index] = entry.msgstr.get(index, "") + text
        elif name == "msgid_plural":
            entry.msgid_plural = (entry.msgid_plural or "") + text
        else:
            setattr(entry, name, (getattr(entry, name) or "") + text)
    return [e for e in entries if not e.obsolete and e.msgid != ""]


def _po_path(locale: str, catalogue: Path = LOCALE_DIR) -> Path:
    return catalogue / locale / "LC_MESSAGES" / "django.po"


def test_every_app_catalogue_is_checked():
    assert len(CATALOGUES) >= 5 and all(_po_path("fr", c).exists() for c in CATALOGUES)


@pytest.mark.parametrize(("catalogue", "locale"), _catalogue_cases(TRANSLATED_LOCALES))
def test_every_string_is_translated(catalogue, locale):
    problems = [
        f"django.po:{entry.line}: {'fuzzy' if 'fuzzy' in entry.flags else 'untranslated'}"
        f" {entry.msgid!r}"
        for entry in read_po(_po_path(locale, catalogue))
        if entry.untranslated or "fuzzy" in entry.flags
    ]
    where = f"{catalogue} {locale}"
    assert not problems, f"{where}: translate these (see docs/i18n.md):\n" + "\n".join(problems)


@pytest.mark.parametrize(("catalogue", "locale"), _catalogue_cases(ALL_LOCALES))
def test_placeholders_are_kept(catalogue, locale):
    """A translation must use the same %(name)s placeholders as its source string."""
    pattern = re.compile(r"%\(\w+\)[sdr]")
    problems = []
    for entry in read_po(_po_path(locale, catalogue)):
        expected = set(pattern.findall(entry.msgid + (entry.msgid_plural or "")))
        for text in entry.msgstr.values():
            if text and set(pattern.findall(text)) - expected:
                problems.append(f"{entry.line}: {entry.msgid!r} -> {text!r}")
            if text and entry.msgid_plural is None and expected - set(pattern.findall(text)):
                problems.append(f"{entry.line}: {entry.msgid!r} -> {text!r}")
    assert not problems, f"{locale}:\n" + "\n".join(problems)


@pytest.mark.parametrize(("catalogue", "locale"), _catalogue_cases(ALL_LOCALES))
def test_compiled_catalogue_is_current(catalogue, locale):
    """The committed .mo file holds exactly what the .po file says (run compilemessages)."""
    msgfmt = shutil.which("msgfmt")
    if msgfmt is None:
        pytest.skip("msgfmt (gettext) is not installed")
    mo_path = _po_path(locale, catalogue).with_suffix(".mo")
    assert mo_path.exists(), f"{mo_path} is missing: run `taocun compilemessages`"
    with mo_path.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    stale = []
    for entry in read_po(_po_path(locale, catalogue)):
        if entry.untranslated or "fuzzy" in entry.flags:
            continue
        key = entry.msgid if entry.msgctxt is None else f"{entry.msgctxt}\x04{entry.msgid}"
        if entry.msgid_plural is None:
            got = compiled._catalog.get(key)
            if got != entry.msgstr[0]:
                stale.append(entry.msgid)
        elif compiled._catalog.get((key, 0)) != entry.msgstr[0]:
            stale.append(entry.msgid)
    assert not stale, f"{mo_path} is stale for: {stale[:10]} — run `taocun compilemessages`"
    result = subprocess.run(
        [msgfmt, "--check-format", "-o", "/dev/null", str(_po_path(locale, catalogue))],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
