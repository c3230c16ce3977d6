"""Cross-check the phone-number table against Google's libphonenumber.

``Tests/Fixtures/numbers.tsv`` is the specification of ``PhoneNumberNormaliser`` (the Swift
test ``PhoneNumberNormaliserTests`` runs every row through it). Its third column says whether
libphonenumber, through the Python port ``phonenumbers`` with ``parse(input, "CN")`` then
E.164 formatting, must give the same answer:

* ``agree`` on a key: libphonenumber formats the input to exactly that key, and for a Chinese
  key also holds it valid (``is_valid_number``, or ``is_valid_short_number`` for ``95…``):
  the normaliser accepts no Chinese number that libphonenumber's metadata says cannot exist;
* ``agree`` on an error: libphonenumber rejects the input too: ``parse`` raises, or the number
  is not possible (``is_possible_number``), or not valid (``is_valid_number``);
* ``skip: reason``: the two legitimately differ, for the reason given; this test checks that
  they still do, so that the table never calls a difference that has gone away a difference.

It also checks that every written form of the sample numbers in ``gen_number_forms.py``
(decorated ones too: labels, ranges, pauses) resolves to one number under libphonenumber,
that those samples are in the table, that the country-code tables in
``PhoneNumberNormaliser.swift`` are a faithful copy of libphonenumber's metadata, and that
``ChineseNumberingPlan.swift`` is what ``scripts/gen-cn-numbering.py`` generates from the
installed metadata (when its version is the one the file names).

Run from the repository root: ``pip install phonenumbers pytest`` then
``python3 -m pytest Tests/Integration/test_numbers_libphonenumber.py``. Without the
``phonenumbers`` package the whole module is skipped.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import pytest

phonenumbers = pytest.importorskip(
    "phonenumbers",
    reason="the 'phonenumbers' package (libphonenumber for Python) is not installed: "
    "pip install phonenumbers",
)

HERE = Path(__file__).resolve().parent
TESTS = HERE.parent
TABLE = TESTS / "Fixtures" / "numbers.tsv"
SWIFT_SOURCE = TESTS.parent / "Sources" / "TokenCore" / "PhoneNumberNormaliser.swift"
PLAN_SOURCE = TESTS.parent / "Sources" / "TokenCore" / "ChineseNumberingPlan.swift"
PLAN_SCRIPT = TESTS.parent / "scripts" / "gen-cn-numbering.py"
HEADER = "input\texpected\tlibphonenumber"
ERRORS = {"empty", "invalidCharacters", "tooShort", "tooLong", "notANumber"}

sys.path.insert(0, str(HERE))
import gen_number_forms  # noqa: E402  (needs the path above)


class Row(NamedTuple):
    """One row of numbers.tsv."""

    line: int
    input: str
    expected: str
    libphonenumber: str

    @property
    def error(self) -> str | None:
        """The error name of an ``error:<name>`` row, else None."""
        return self.expected[len("error:"):] if self.expected.startswith("error:") else None


def read_lines() -> list[str]:
    # newline="" keeps \r characters in the data as they are; fields are never stripped.
    with TABLE.open(encoding="utf-8", newline="") as file:
        return file.read().split("\n")[:-1]


def read_rows() -> list[Row]:
    rows = []
    for number, line in enumerate(read_lines()[1:], start=2):
        fields = line.split("\t")
        fields += [""] * (3 - len(fields))
        rows.append(Row(number, fields[0], fields[1], "\t".join(fields[2:])))
    return rows


ROWS = read_rows()
AGREE = [row for row in ROWS if row.libphonenumber == "agree"]
SKIP = [row for row in ROWS if row.libphonenumber.startswith("skip: ")]


def row_id(row: Row) -> str:
    return f"line{row.line}:{row.input!r}"


def libphonenumber(text: str) -> tuple[str | None, bool]:
    """(E.164 formatting or None if parse raised, whether libphonenumber accepts the number)."""
    try:
        number = phonenumbers.parse(text, "CN")
    except phonenumbers.NumberParseException:
        return None, False
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    accepted = phonenumbers.is_possible_number(number) and phonenumbers.is_valid_number(number)
    return e164, accepted


def agrees(row: Row) -> bool:
    e164, accepted = libphonenumber(row.input)
    if row.error is not None:
        return not accepted
    return e164 == row.expected


# ---------------------------------------------------------------- the table itself


def test_table_is_well_formed() -> None:
    lines = read_lines()
    assert lines and lines[0] == HEADER
    assert len(ROWS) >= 80
    inputs = set()
    for row, line in zip(ROWS, lines[1:]):
        assert line.count("\t") == 2, f"line {row.line}: expected 3 tab-separated fields"
        assert row.input not in inputs, f"line {row.line}: input repeated"
        inputs.add(row.input)
        if row.error is not None:
            assert row.error in ERRORS, f"line {row.line}: unknown error {row.error!r}"
        else:
            assert re.fullmatch(r"\+[1-9][0-9]{6,14}", row.expected), f"line {row.line}: bad key"
        assert row.libphonenumber == "agree" or (
            row.libphonenumber.startswith("skip: ") and len(row.libphonenumber) > len("skip: ") + 4
        ), f"line {row.line}: third column must be 'agree' or 'skip: reason'"
    # Each kind of outcome is covered.
    assert {row.error for row in ROWS} >= ERRORS | {None}


# ---------------------------------------------------------------- rows against libphonenumber


def valid_chinese_key(key: str) -> bool:
    """Whether libphonenumber holds the +86 key valid: a number, or a short number (95…)."""
    number = phonenumbers.parse(key, None)
    return phonenumbers.is_valid_number(number) or phonenumbers.shortnumberinfo.is_valid_short_number(number)


@pytest.mark.parametrize("row", AGREE, ids=row_id)
def test_agree_rows_match_libphonenumber(row: Row) -> None:
    e164, accepted = libphonenumber(row.input)
    if row.error is not None:
        assert not accepted, f"libphonenumber accepts it as {e164}, the table says error:{row.error}"
    else:
        assert e164 == row.expected


@pytest.mark.parametrize("row", [row for row in ROWS if row.expected.startswith("+86")], ids=row_id)
def test_every_chinese_key_is_valid_under_libphonenumber(row: Row) -> None:
    assert valid_chinese_key(row.expected), "libphonenumber's metadata says this number cannot exist"


@pytest.mark.parametrize("row", SKIP, ids=row_id)
def test_skip_rows_still_differ(row: Row) -> None:
    assert not agrees(row), "libphonenumber now agrees: mark this row 'agree'"


# ---------------------------------------------------------------- generated forms


ALL_SAMPLES = [(e164, None) for e164 in gen_number_forms.SAMPLES] + list(
    gen_number_forms.SAMPLES_WITH_EXTENSION
)


@pytest.mark.parametrize("e164,extension", ALL_SAMPLES, ids=lambda value: str(value))
def test_every_form_resolves_to_the_same_number(e164: str, extension: str | None) -> None:
    number = phonenumbers.parse(e164, None)
    assert phonenumbers.is_valid_number(number), "samples must be valid numbers"
    forms = gen_number_forms.forms_for(e164, extension)
    assert len(forms) >= 4
    for form in forms:
        parsed = phonenumbers.parse(form, "CN")
        assert phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164) == e164, form
        assert parsed.extension == extension, form


CHINESE_SAMPLES = [e164 for e164 in gen_number_forms.SAMPLES if e164.startswith("+86")]


@pytest.mark.parametrize("e164", CHINESE_SAMPLES)
def test_every_decorated_form_resolves_to_the_same_number(e164: str) -> None:
    forms = gen_number_forms.decorated_forms(e164)
    assert len(forms) == len(gen_number_forms.DECORATIONS)
    keyed = {row.input: row for row in AGREE}
    for form, extension in forms:
        parsed = phonenumbers.parse(form, "CN")
        assert phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164) == e164, form
        assert parsed.extension == extension, form
        assert form in keyed and keyed[form].expected == e164, f"{form!r}: add the row to numbers.tsv"


@pytest.mark.parametrize("e164", gen_number_forms.SAMPLES)
def test_samples_are_in_the_table(e164: str) -> None:
    forms = [row for row in AGREE if row.expected == e164]
    assert len(forms) >= 4, "run gen_number_forms.py and add its rows to numbers.tsv"


# ---------------------------------------------------------------- Swift country-code tables


def swift_case_list(function: str) -> list[int]:
    source = SWIFT_SOURCE.read_text(encoding="utf-8")
    match = re.search(rf"func {function}\(.*?case (.*?):\s*\n\s*true", source, re.DOTALL)
    assert match, f"cannot find the case list of {function} in {SWIFT_SOURCE.name}"
    return [int(code) for code in re.findall(r"\d+", match.group(1))]


@pytest.mark.skipif(not SWIFT_SOURCE.exists(), reason="PhoneNumberNormaliser.swift not found")
def test_swift_country_code_tables_match_libphonenumber() -> None:
    hint = "regenerate with: python3 Tests/Integration/gen_number_forms.py --swift-tables"
    expected = gen_number_forms.swift_tables().splitlines()
    assigned = [int(code) for code in re.findall(r"\d+", expected[1])]
    trunk_zero = [int(code) for code in re.findall(r"\d+", expected[3])]
    assert swift_case_list("isAssignedCountryCode") == assigned, hint
    assert swift_case_list("usesTrunkPrefixZero") == trunk_zero, hint


# ---------------------------------------------------------------- generated Chinese numbering plan


def plan_version() -> str | None:
    match = re.search(r"metadata version (\S+) ", PLAN_SOURCE.read_text(encoding="utf-8"))
    return match.group(1) if match else None


@pytest.mark.skipif(not PLAN_SOURCE.exists(), reason="ChineseNumberingPlan.swift not found")
def test_chinese_numbering_plan_names_its_metadata_version() -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+", plan_version() or "")


@pytest.mark.skipif(not PLAN_SOURCE.exists(), reason="ChineseNumberingPlan.swift not found")
def test_chinese_numbering_plan_is_generated_from_the_metadata() -> None:
    if phonenumbers.__version__ != plan_version():
        pytest.skip(f"phonenumbers {phonenumbers.__version__} installed, the tables are from {plan_version()}")
    pytest.importorskip("regex", reason="scripts/gen-cn-numbering.py needs 'regex': pip install regex")
    cp = subprocess.run([sys.executable, str(PLAN_SCRIPT), "--check"], capture_output=True, text=True, timeout=300)
    assert cp.returncode == 0, cp.stderr
