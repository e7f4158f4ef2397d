"""Both catalogs are complete, clean and up to date with the code and templates.

Every string a person can read goes through gettext; the Chinese catalog must translate
each one (Chinese is the default language), neither catalog may carry fuzzy guesses, and
a string added to the code without running makemessages fails here rather than showing
up in English on a Chinese page.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "assura"
LOCALE = PACKAGE / "locale"
LANGUAGES = ("zh_Hans", "en")
PLACEHOLDER = re.compile(r"%\((\w+)\)[sdif]|\{(\w*)\}")


@dataclass
class Entry:
    msgid: str = ""
    msgid_plural: str | None = None
    msgctxt: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    obsolete: bool = False

    @property
    def key(self) -> tuple[str | None, str]:
        return (self.msgctxt, self.msgid)


def parse_po(path: Path) -> list[Entry]:
    """A small reader of gettext catalogs: enough for what makemessages writes."""
    entries: list[Entry] = []
    current = Entry()
    target: tuple[str, int] | None = None
    started = False

    def finish() -> None:
        nonlocal current, started, target
        if started:
            entries.append(current)
        current, started, target = Entry(), False, None

    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line:
            finish()
            continue
        if line.startswith("#~"):
            current.obsolete = True
            line = line[2:].strip()
            if not line or line.startswith("#"):
                continue
        elif line.startswith("#,"):
            current.flags.update(flag.strip() for flag in line[2:].split(","))
            continue
        elif line.startswith("#"):
            continue
        if line.startswith('"'):
            assert target is not None, f"{path}: continuation without a keyword: {raw!r}"
            _append(current, target, ast.literal_eval(line))
            continue
        keyword, _, value = line.partition(" ")
        text = ast.literal_eval(value)
        started = True
        plural_form = keyword.startswith("msgstr[")
        target = ("msgstr", int(keyword[7:-1])) if plural_form else (keyword, 0)
        _append(current, target, text, first=True)
    finish()
    return entries


def _append(entry: Entry, target: tuple[str, int], text: str, first: bool = False) -> None:
    keyword, index = target
    if keyword == "msgstr":
        entry.msgstr[index] = ("" if first else entry.msgstr.get(index, "")) + text
    else:
        previous = "" if first else getattr(entry, keyword) or ""
        setattr(entry, keyword, previous + text)


def catalog(language: str) -> list[Entry]:
    return parse_po(LOCALE / language / "LC_MESSAGES" / "django.po")


def messages(language: str) -> list[Entry]:
    """The catalog's entries that carry a message (not the header, not obsolete ones)."""
    return [entry for entry in catalog(language) if entry.msgid and not entry.obsolete]


def placeholders(text: str) -> set[str]:
    return {"".join(match) for match in PLACEHOLDER.findall(text)}


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_catalog_exists_and_has_messages(language: str) -> None:
    assert len(messages(language)) > 100


def test_every_chinese_message_is_translated() -> None:
    untranslated = []
    for entry in messages("zh_Hans"):
        forms = entry.msgstr.values() if entry.msgstr else [""]
        if not all(text.strip() for text in forms):
            untranslated.append(entry.msgid)
    assert untranslated == []


def test_chinese_plurals_fill_the_one_form_chinese_has() -> None:
    plurals = [entry for entry in messages("zh_Hans") if entry.msgid_plural is not None]
    assert plurals, "the catalog has no plural messages: was the parser broken?"
    for entry in plurals:
        assert set(entry.msgstr) == {0}, entry.msgid


def test_english_plurals_fill_both_forms() -> None:
    for entry in messages("en"):
        if entry.msgid_plural is not None:
            assert entry.msgstr == {0: entry.msgid, 1: entry.msgid_plural}


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_message_is_fuzzy(language: str) -> None:
    assert [entry.msgid for entry in catalog(language) if "fuzzy" in entry.flags] == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_translation_keeps_the_placeholders_of_its_message(language: str) -> None:
    for entry in messages(language):
        expected = placeholders(entry.msgid) | placeholders(entry.msgid_plural or "")
        for text in entry.msgstr.values():
            if text:
                assert placeholders(text) == expected, entry.msgid


def test_the_headers_name_the_plural_rules() -> None:
    header = {language: catalog(language)[0].msgstr[0] for language in LANGUAGES}
    assert "Plural-Forms: nplurals=1; plural=0;" in header["zh_Hans"]
    assert "Plural-Forms: nplurals=2; plural=(n != 1);" in header["en"]


@pytest.fixture(scope="module")
def fresh_catalog(tmp_path_factory: pytest.TempPathFactory) -> list[Entry]:
    """What makemessages extracts from the code and templates right now."""
    if shutil.which("xgettext") is None:
        pytest.fail("gettext is not installed (scripts/setup installs it)")
    copy = tmp_path_factory.mktemp("messages") / "assura"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__", "locale", "vendor"))
    (copy / "locale").mkdir()
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    subprocess.run(
        [sys.executable, "-m", "django", "makemessages", "-l", "zh_Hans", "--ignore=.venv"],
        cwd=copy,
        env=env,
        check=True,
        capture_output=True,
    )
    return [
        entry
        for entry in parse_po(copy / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po")
        if entry.msgid
    ]


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_catalog_is_up_to_date_with_the_code(language: str, fresh_catalog: list[Entry]) -> None:
    """Run `django-admin makemessages -l zh_Hans -l en` in src/assura when this fails."""
    extracted = {entry.key for entry in fresh_catalog}
    present = {entry.key for entry in messages(language)}
    assert sorted(extracted - present, key=str) == [], "strings missing from the catalog"
    assert sorted(present - extracted, key=str) == [], "strings no longer used"


def test_the_parser_reads_multiline_plural_and_flagged_entries(tmp_path: Path) -> None:
    sample = tmp_path / "sample.po"
    sample.write_text(
        'msgid ""\nmsgstr ""\n"Language: zh_Hans\\n"\n\n'
        '#, fuzzy, python-format\nmsgid ""\n"Two "\n"lines %(n)s"\nmsgstr "两行 %(n)s"\n\n'
        'msgid "one"\nmsgid_plural "many"\nmsgstr[0] "多个"\n\n'
        '#~ msgid "gone"\n#~ msgstr "没了"\n',
        encoding="utf-8",
    )
    header, multiline, plural, obsolete = parse_po(sample)
    assert header.msgstr[0] == "Language: zh_Hans\n"
    assert multiline.msgid == "Two lines %(n)s"
    assert multiline.flags == {"fuzzy", "python-format"}
    assert plural.msgid_plural == "many"
    assert plural.msgstr == {0: "多个"}
    assert obsolete.obsolete
    assert obsolete.msgid == "gone"
