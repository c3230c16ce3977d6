#!/usr/bin/env python3
"""Generate written forms of sample phone numbers with Google's libphonenumber.

Each sample number is formatted by the ``phonenumbers`` package the ways people and systems
write it (E.164, INTERNATIONAL, NATIONAL, RFC 3966, as dialled from China, and each of those
with its spaces and dashes removed). The rows printed are in the format of
``Tests/Fixtures/numbers.tsv`` (``input<TAB>expected<TAB>agree``), so the Swift normaliser
is checked against the same forms; ``test_numbers_libphonenumber.py`` checks that every form
parses back to the same E.164 number under libphonenumber.

Usage (needs ``pip install phonenumbers``)::

    python3 Tests/Integration/gen_number_forms.py              # rows for numbers.tsv
    python3 Tests/Integration/gen_number_forms.py --swift-tables
        # the country-code tables of Sources/TokenCore/PhoneNumberNormaliser.swift

The rows were pasted once into numbers.tsv (after the hand-written rows), and the rows of
the decorated forms (``DECORATIONS``: labels, ranges, pauses, full-width ``ｘ``) once more at
its end; re-run and paste again when the samples change. The output depends on libphonenumber's formatting metadata,
which is why the rows are copied rather than compared on every run.
"""

from __future__ import annotations

import sys

import phonenumbers
from phonenumbers import PhoneNumberFormat

#: Sample numbers in E.164, each valid under libphonenumber. Chinese ones cover mobiles of
#: several carriers and ranges, landlines with 2- and 3-digit area codes and 7- and 8-digit
#: subscriber numbers, and 400/800 numbers; foreign ones cover countries with and without
#: a trunk prefix 0 (Italy keeps its 0) and the regions nearest to China.
SAMPLES: tuple[str, ...] = (
    "+8613812345678",
    "+8615012345678",
    "+8618612345678",
    "+8619912345678",
    "+8617712345678",
    "+8616612345678",
    "+8614712345678",
    "+861012345678",
    "+862112345678",
    "+862087654321",
    "+862887654321",
    "+8675512345678",
    "+8657187654321",
    "+863517123456",
    "+868512345678",
    "+8645112345678",
    "+8676987654321",
    "+864001234567",
    "+868001234567",
    "+442079460958",
    "+14155552671",
    "+4930123456",
    "+33123456789",
    "+81312345678",
    "+82212345678",
    "+85221234567",
    "+85328212345",
    "+886221234567",
    "+6561234567",
    "+61212345678",
    "+390612345678",
    "+79123456789",
    "+919876543210",
)

#: A few of the samples again with an extension, to cover the extension syntax of each format.
SAMPLES_WITH_EXTENSION: tuple[tuple[str, str], ...] = (
    ("+861012345678", "8001"),
    ("+14155552671", "123"),
)

#: How CRM exports decorate the Chinese samples: a label in front, a range of lines, dialer
#: pauses or a full-width x before an extension. Each is (template, extension): the template
#: gets the NATIONAL form as {number} and its last digit plus one as {next}; the extension is
#: what libphonenumber must find (None: none; RANGE: the range end, which it reads as one).
RANGE = "range"
DECORATIONS: tuple[tuple[str, str | None], ...] = (
    ("手机：{number}", None),
    ("电话: {number}", None),
    ("Tel {number}", None),
    ("{number}～{next}", RANGE),
    ("{number}~{next}", RANGE),
    ("{number},,12", "12"),
    ("{number}ｘ801", "801"),
)

FORMATS = (
    PhoneNumberFormat.E164,
    PhoneNumberFormat.INTERNATIONAL,
    PhoneNumberFormat.NATIONAL,
    PhoneNumberFormat.RFC3966,
)


def forms_for(e164: str, extension: str | None = None) -> list[str]:
    """All distinct written forms of one number that should parse back to it from China.

    NATIONAL is only used for Chinese numbers: a foreign national form means something else
    when dialled in China. Foreign numbers get the form dialled from China (``00 44 …``).
    With an extension, E.164 is left out: it cannot carry one.
    """
    number = phonenumbers.parse(e164, None)
    if extension:
        number.extension = extension
    chinese = number.country_code == 86
    forms: list[str] = []
    for fmt in FORMATS:
        if fmt == PhoneNumberFormat.NATIONAL and not chinese:
            continue
        if fmt == PhoneNumberFormat.E164 and extension:
            continue  # E.164 has no room for an extension
        forms.append(phonenumbers.format_number(number, fmt))
    if not chinese:
        forms.append(phonenumbers.format_out_of_country_calling_number(number, "CN"))
    compact = [f.replace(" ", "").replace("-", "") for f in forms]
    unique: list[str] = []
    for form in forms + compact:
        if form not in unique:
            unique.append(form)
    return unique


def decorated_forms(e164: str) -> list[tuple[str, str | None]]:
    """(written form, extension libphonenumber must find) for each decoration of a Chinese
    sample; none for foreign samples."""
    number = phonenumbers.parse(e164, None)
    if number.country_code != 86:
        return []
    national = phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
    following = str((int(national[-1]) + 1) % 10)
    forms = []
    for template, extension in DECORATIONS:
        form = template.format(number=national, next=following)
        forms.append((form, following if extension == RANGE else extension))
    return forms


def rows() -> list[tuple[str, str]]:
    """Distinct (input, expected key) pairs for every sample and every form."""
    result: list[tuple[str, str]] = []
    pairs = [(e164, forms_for(e164)) for e164 in SAMPLES]
    pairs += [(e164, forms_for(e164, ext)) for e164, ext in SAMPLES_WITH_EXTENSION]
    pairs += [(e164, [form for form, _ in decorated_forms(e164)]) for e164 in SAMPLES]
    for e164, forms in pairs:
        for form in forms:
            if (form, e164) not in result:
                result.append((form, e164))
    return result


def swift_tables() -> str:
    """The bodies of isAssignedCountryCode and usesTrunkPrefixZero."""
    codes = sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)
    trunk_zero = []
    for code in codes:
        region = phonenumbers.COUNTRY_CODE_TO_REGION_CODE[code][0]
        if region == "001":
            metadata = phonenumbers.PhoneMetadata.metadata_for_nongeo_region(code)
        else:
            metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
        if metadata is not None and metadata.national_prefix == "0":
            trunk_zero.append(code)
    return (
        "// isAssignedCountryCode\ncase " + ", ".join(map(str, codes)) + ":\n"
        "// usesTrunkPrefixZero\ncase " + ", ".join(map(str, trunk_zero)) + ":\n"
    )


def main(argv: list[str]) -> int:
    if argv[1:] == ["--swift-tables"]:
        sys.stdout.write(swift_tables())
        return 0
    if argv[1:]:
        sys.stderr.write(__doc__ or "")
        return 2
    for form, e164 in rows():
        sys.stdout.write(f"{form}\t{e164}\tagree\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
