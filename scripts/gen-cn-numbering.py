#!/usr/bin/env python3
"""Generate Sources/TokenCore/ChineseNumberingPlan.swift from libphonenumber's metadata for China.

The tables the phone-number normaliser checks Chinese numbers against are read out of the
metadata that Google's libphonenumber publishes, through its Python port ``phonenumbers``
(``pip install phonenumbers``); none is written by hand:

* area codes and the subscriber-number lengths each allows (7, 8 or both), from the
  ``fixed_line`` pattern: a length is allowed under an area code when numbers of that length
  starting 2-8 (the first digit of ordinary subscriber numbers) under it are fixed lines;
* the few ranges of such subscriber numbers that are not fixed lines after all (Beijing's and
  Shanghai's ``800…``, whose ``10800``/``21800`` are toll-free prefixes), found by splitting
  prefixes down to 5 digits with partial matching of the same pattern;
* allocated mobile prefixes, from the ``mobile`` pattern (11-digit numbers starting 1);
* service numbers without an area code (400, 800, 950…) and their lengths, from the
  ``toll_free`` and ``shared_cost`` patterns, for numbers of at most 11 digits that do not
  start 1 or 2 (those are mobiles and Beijing, Tianjin, Shanghai… landlines);
* the lengths of the nationwide ``95`` short numbers (``95588``), from the short-number
  metadata (``short_code``);
* the IP-dialing (carrier selection) prefixes, from the capturing group of CN's
  ``national_prefix_for_parsing`` (``1(?:[12]\\d|79)\\d\\d``).

Each table is found by trying digit prefixes against the metadata's regular expressions and
splitting a prefix further only while numbers under it disagree, down to a fixed depth; the
script fails if a prefix still disagrees there. It then checks the tables against
``phonenumbers.is_valid_number`` on random numbers of every kind.

Needs ``pip install phonenumbers regex`` (``regex`` for partial matching). Usage, from the
repository root::

    python3 scripts/gen-cn-numbering.py            # rewrite the Swift file
    python3 scripts/gen-cn-numbering.py --check    # exit 1 if the file is not what it would write

The Swift file names the metadata version it was made from; regenerate when ``phonenumbers``
is upgraded, then run the tests (``Tests/Integration/test_numbers_libphonenumber.py`` checks
that the committed file matches the installed metadata when the versions agree).
"""

from __future__ import annotations

import random
import re
import sys
from pathlib import Path

import phonenumbers
import regex  # partial matching: can a prefix still become a match?
from phonenumbers import PhoneMetadata, PhoneNumberType

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "Sources" / "TokenCore" / "ChineseNumberingPlan.swift"

CN = PhoneMetadata.metadata_for_region("CN")
CN_SHORT = PhoneMetadata.short_metadata_for_region("CN")

#: Samples tried under each prefix: all zeros, all nines, and random digits (fixed seed, so
#: the output is reproducible).
SAMPLES_PER_PREFIX = 24
#: The longest prefix the search splits to; the metadata's patterns are decided by then.
MAX_PREFIX_DIGITS = 7


def compile_full(pattern: str) -> re.Pattern[str]:
    return re.compile(f"(?:{pattern})")


def samples(prefix: str, length: int, rng: random.Random, first: str = "0123456789") -> list[str]:
    """Numbers of `length` digits starting with `prefix`."""
    rest = length - len(prefix)
    if rest <= 0:
        return [prefix[:length]]
    out = {prefix + "0" * rest, prefix + "9" * rest}
    while len(out) < min(SAMPLES_PER_PREFIX, len(first) * 10 ** (rest - 1)):
        out.add(prefix + rng.choice(first) + "".join(rng.choice("0123456789") for _ in range(rest - 1)))
    return sorted(out)


def prefix_set(pattern: str, root: str, length: int, rng: random.Random) -> list[str]:
    """The shortest prefixes under `root` such that a `length`-digit number matches `pattern`
    iff it starts with one of them, splitting prefixes whose samples disagree."""
    full = compile_full(pattern)
    partial = regex.compile(f"(?:{pattern})")

    def valid(number: str) -> bool:
        return full.fullmatch(number) is not None

    def classify(prefix: str) -> list[str] | None:
        """Prefixes under `prefix` that are valid, or None for none at all."""
        if partial.fullmatch(prefix, partial=True) is None:
            return None  # no number starting with prefix can match
        results = [valid(number) for number in samples(prefix, length, rng)]
        if all(results):
            return [prefix]
        if len(prefix) >= MAX_PREFIX_DIGITS or len(prefix) >= length:
            if any(results):
                raise SystemExit(f"prefix {prefix}: numbers still disagree at {len(prefix)} digits")
            return None
        found: list[str] = []
        children_all = True
        for digit in "0123456789":
            child = classify(prefix + digit)
            if child is None:
                children_all = False
                continue
            if child != [prefix + digit]:
                children_all = False
            found.extend(child)
        if children_all:
            return [prefix]
        return found or None

    return classify(root) or []


# ---------------------------------------------------------------- the tables


def landline_lengths(rng: random.Random) -> dict[str, list[int]]:
    """Area code -> allowed subscriber-number lengths."""
    fixed = compile_full(CN.fixed_line.national_number_pattern)
    candidates = ["10"] + [f"2{d}" for d in range(10)] + [str(n) for n in range(300, 1000)]
    table: dict[str, list[int]] = {}
    for area in candidates:
        lengths = []
        for local in (7, 8):
            results = [
                fixed.fullmatch(number) is not None
                for number in samples(area, len(area) + local, rng, first="2345678")
                if number[len(area)] in "2345678"
            ]
            if all(results):
                lengths.append(local)
            elif any(results):
                raise SystemExit(f"area {area}, {local} digits: fixed-line numbers disagree")
        if lengths:
            table[area] = lengths
    return table


def unassigned_landline_prefixes(areas: dict[str, list[int]], rng: random.Random) -> list[tuple[str, int]]:
    """(national prefix, national length) of subscriber ranges starting 2-8 that are not fixed
    lines, under area codes whose other numbers of that length are."""
    pattern = CN.fixed_line.national_number_pattern
    full = compile_full(pattern)
    partial = regex.compile(f"(?:{pattern})")
    found: list[tuple[str, int]] = []

    def walk(prefix: str, length: int) -> None:
        if partial.fullmatch(prefix, partial=True) is None:
            found.append((prefix, length))
            return
        results = [full.fullmatch(number) is not None for number in samples(prefix, length, rng)]
        if all(results) and len(prefix) >= 5:
            return
        if len(prefix) >= 8:
            raise SystemExit(f"landline prefix {prefix} ({length} digits): numbers still disagree")
        for digit in "0123456789":
            walk(prefix + digit, length)

    for area, lengths in areas.items():
        for local in lengths:
            for first in "2345678":
                walk(area + first, len(area) + local)
    return found


def mobile_prefixes(rng: random.Random) -> list[str]:
    return prefix_set(CN.mobile.national_number_pattern, "1", 11, rng)


def service_lengths(rng: random.Random, areas: dict[str, list[int]]) -> dict[str, list[int]]:
    """3-digit prefix (not 1…, 2… or an area code) -> lengths of toll-free/shared-cost numbers."""
    patterns = [
        compile_full(CN.toll_free.national_number_pattern),
        compile_full(CN.shared_cost.national_number_pattern),
    ]

    def valid(number: str) -> bool:
        return any(p.fullmatch(number) for p in patterns)

    table: dict[str, list[int]] = {}
    for prefix in (str(n) for n in range(300, 1000)):
        if prefix in areas:
            continue
        lengths = []
        for length in range(7, 12):
            results = [valid(number) for number in samples(prefix, length, rng)]
            if all(results):
                lengths.append(length)
            elif any(results):
                raise SystemExit(f"service prefix {prefix}, {length} digits: numbers disagree")
        if lengths:
            table[prefix] = lengths
    return table


def short_lengths(rng: random.Random) -> list[int]:
    """Lengths of the 95 short numbers."""
    short = compile_full(CN_SHORT.short_code.national_number_pattern)
    lengths = []
    for length in range(3, 12):
        results = [short.fullmatch(number) is not None for number in samples("95", length, rng)]
        if all(results):
            lengths.append(length)
        elif any(results):
            raise SystemExit(f"95 short numbers of {length} digits disagree")
    return lengths


def ip_dialing_ranges() -> list[tuple[int, int]]:
    """The 5-digit IP-dialing prefixes, as ranges, from national_prefix_for_parsing."""
    match = re.fullmatch(r"\((.*)\)\|0", CN.national_prefix_for_parsing)
    if not match or CN.national_prefix != "0":
        raise SystemExit(f"unexpected national_prefix_for_parsing {CN.national_prefix_for_parsing!r}")
    carrier = re.compile(match.group(1))
    values = [n for n in range(10000, 100000) if carrier.fullmatch(str(n))]
    return ranges(values)


def ranges(values: list[int]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for value in sorted(values):
        if out and out[-1][1] + 1 == value:
            out[-1] = (out[-1][0], value)
        else:
            out.append((value, value))
    return out


# ---------------------------------------------------------------- checking against is_valid_number


def check(tables: dict, count: int = 200000) -> None:
    """Compare the tables with phonenumbers.is_valid_number on random numbers of each kind."""
    rng = random.Random(86)
    areas, mobiles, services = tables["areas"], tables["mobiles"], tables["services"]
    unassigned = tables["unassigned"]

    def expected_valid(national: str) -> bool:
        if national.startswith("1") and len(national) == 11 and national[1] in "3456789":
            return any(national.startswith(p) for p in mobiles)
        area = national[:2] if national[0] in "12" else national[:3]
        if area in areas:
            if national[len(area)] not in "2345678":
                # Local service numbers (area + 95xxx, 96xxx, 100xx…): not kept by the tables.
                return None
            if any(national.startswith(p) and len(national) == n for p, n in unassigned):
                return False
            return len(national) - len(area) in areas[area]
        if national[:3] in services:
            return len(national) in services[national[:3]]
        return False

    mismatches = 0
    for _ in range(count):
        length = rng.choice((9, 10, 10, 11, 11, 11))
        head = rng.choice(["1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "13", "14", "15", "16", "17", "19"])
        national = head + "".join(rng.choice("0123456789") for _ in range(length - len(head)))
        ours = expected_valid(national)
        if ours is None:
            continue
        number = phonenumbers.parse("+86" + national, None)
        theirs = phonenumbers.is_valid_number(number) and phonenumbers.number_type(number) in (
            PhoneNumberType.MOBILE,
            PhoneNumberType.FIXED_LINE,
            PhoneNumberType.FIXED_LINE_OR_MOBILE,
            PhoneNumberType.TOLL_FREE,
            PhoneNumberType.SHARED_COST,
        )
        if ours != theirs:
            mismatches += 1
            if mismatches <= 10:
                sys.stderr.write(f"mismatch: +86{national}: tables {ours}, libphonenumber {theirs}\n")
    if mismatches:
        raise SystemExit(f"{mismatches} numbers disagree with phonenumbers.is_valid_number")


# ---------------------------------------------------------------- Swift output


def wrap(items: list[str], indent: str, width: int = 112) -> str:
    lines: list[str] = []
    line = ""
    for item in items:
        piece = item + ","
        if line and len(indent) + len(line) + 1 + len(piece) > width:
            lines.append(line)
            line = piece
        else:
            line = f"{line} {piece}" if line else piece
    lines.append(line)
    text = ("\n" + indent).join(lines)
    return text[:-1]  # no comma after the last item


def mask(lengths: list[int]) -> str:
    return " | ".join(f"1 << {n}" for n in lengths)


def swift_landline(areas: dict[str, list[int]]) -> str:
    groups: dict[tuple[int, ...], list[str]] = {}
    for area, lengths in areas.items():
        groups.setdefault(tuple(lengths), []).append(area)
    cases = []
    for lengths, codes in sorted(groups.items()):
        cases.append(f"        case {wrap(codes, ' ' * 12)}:\n            {mask(list(lengths))}")
    return "\n".join(cases)


def swift_mobile(prefixes: list[str]) -> str:
    """A switch on the first three digits; longer prefixes become range checks."""
    heads: dict[str, list[str]] = {}
    for prefix in prefixes:
        if len(prefix) <= 3:
            for n in range(int(prefix.ljust(3, "0")), int(prefix.ljust(3, "9")) + 1):
                heads.setdefault(str(n), []).append(str(n))
        else:
            heads.setdefault(prefix[:3], []).append(prefix)
    full = [head for head, items in heads.items() if items == [head]]
    lines = [f"        case {wrap(compress(full), ' ' * 12)}:\n            true"]
    for head, items in sorted(heads.items()):
        if items == [head]:
            continue
        checks = []
        for length in sorted({len(p) for p in items}):
            divisor = 10 ** (11 - length)
            for low, high in ranges([int(p) for p in items if len(p) == length]):
                if low == high:
                    checks.append(f"national / {divisor:_} == {low}")
                else:
                    checks.append(f"({low}...{high}).contains(national / {divisor:_})")
        lines.append(f"        case {head}:\n            " + " || ".join(checks))
    return "\n".join(lines)


def compress(codes: list[str]) -> list[str]:
    return [str(low) if low == high else f"{low}...{high}" for low, high in ranges([int(c) for c in codes])]


def swift_unassigned(unassigned: list[tuple[str, int]]) -> str:
    """A switch on the length; per length, checks of the prefixes."""
    by_length: dict[int, list[str]] = {}
    for prefix, length in unassigned:
        by_length.setdefault(length, []).append(prefix)
    cases = []
    for length, prefixes in sorted(by_length.items()):
        checks = [f"national / {10 ** (length - len(p)):_} == {p}" for p in sorted(prefixes)]
        cases.append(f"        case {length}:\n            " + " || ".join(checks))
    return "\n".join(cases)


def swift_services(services: dict[str, list[int]]) -> str:
    return "\n".join(f"        case {prefix}:\n            {mask(lengths)}" for prefix, lengths in services.items())


def swift_source(tables: dict) -> str:
    ip = " || ".join(
        f"({low}...{high}).contains(prefix)" if low != high else f"prefix == {low}" for low, high in tables["ip"]
    )
    version = phonenumbers.__version__
    return f"""// Generated by scripts/gen-cn-numbering.py from libphonenumber's metadata for China (CN),
// metadata version {version} (Python phonenumbers {version}). Do not edit by hand: run
// `python3 scripts/gen-cn-numbering.py` after upgrading phonenumbers.

/// China's numbering plan as libphonenumber describes it: which national significant numbers
/// (without the trunk `0`) can be dialled. Every table is a `switch` over constants, so looking
/// a number up costs a few comparisons and no allocation or start-up work.
enum ChineseNumberingPlan {{
    /// The version of libphonenumber's metadata the tables were generated from.
    static let metadataVersion = "{version}"

    /// The subscriber-number lengths allowed after `areaCode` (`10`, `2x` or `3xx`–`9xx`), as a
    /// bit mask (bit n set: n digits allowed), or 0 when no such area code exists.
    static func subscriberLengths(areaCode: UInt64) -> UInt16 {{
        switch areaCode {{
{swift_landline(tables["areas"])}
        default:
            0
        }}
    }}

    /// Whether `national`, `count` digits long and a landline by its area code and length, is in
    /// one of the few ranges of such numbers that are not fixed lines (Beijing's `800…`).
    static func isUnassignedLandline(_ national: UInt64, count: Int) -> Bool {{
        switch count {{
{swift_unassigned(tables["unassigned"])}
        default:
            false
        }}
    }}

    /// Whether the 11-digit number `national` (starting `1`) is in an allocated mobile range.
    static func isAllocatedMobile(_ national: UInt64) -> Bool {{
        switch national / 100_000_000 {{
{swift_mobile(tables["mobiles"])}
        default:
            false
        }}
    }}

    /// The lengths (bit mask, as above) of the toll-free and shared-cost service numbers that
    /// start with the three digits `prefix` and have no area code (`400`, `800`, …), or 0.
    static func serviceLengths(prefix: UInt64) -> UInt16 {{
        switch prefix {{
{swift_services(tables["services"])}
        default:
            0
        }}
    }}

    /// The lengths (bit mask) of the nationwide short numbers starting `95`, such as `95588`.
    static let shortNumberLengths: UInt16 = {mask(tables["short"])}

    /// Whether the five digits `prefix` are an IP-dialing (carrier selection) prefix that
    /// libphonenumber strips before a national number (`national_prefix_for_parsing`).
    static func isIPDialingPrefix(_ prefix: UInt64) -> Bool {{
        {ip}
    }}
}}
"""


def tables() -> dict:
    rng = random.Random(15)
    areas = landline_lengths(rng)
    result = {
        "areas": areas,
        "unassigned": unassigned_landline_prefixes(areas, rng),
        "mobiles": mobile_prefixes(rng),
        "services": service_lengths(rng, areas),
        "short": short_lengths(rng),
        "ip": ip_dialing_ranges(),
    }
    check(result)
    return result


def main(argv: list[str]) -> int:
    source = swift_source(tables())
    if argv[1:] == ["--check"]:
        if OUTPUT.read_text(encoding="utf-8") != source:
            sys.stderr.write(f"{OUTPUT.relative_to(ROOT)} is out of date: run scripts/gen-cn-numbering.py\n")
            return 1
        return 0
    if argv[1:]:
        sys.stderr.write(__doc__ or "")
        return 2
    OUTPUT.write_text(source, encoding="utf-8")
    print(f"wrote {OUTPUT.relative_to(ROOT)} (metadata {phonenumbers.__version__})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
