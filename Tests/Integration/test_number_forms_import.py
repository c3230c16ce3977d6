"""Number forms of CRM exports, end to end: `tokenctl import` of cells with labels, ranges,
dialer pauses and full-width extensions, and of numbers that cannot be dialled; then every
number looked up over HTTPS through nginx and the real responder (200, 404 or 422)."""

from __future__ import annotations

import json

import pytest

from udesk_it import Nginx, run_tokenctl, udesk_body

CRM_ROWS = [
    # (cell as the CRM wrote it, token, what Udesk sends for that customer)
    ("手机：13687654321", "cust-mobile", "13687654321"),
    ("电话: 021-62345678", "cust-shanghai", "+862162345678"),
    ("Tel 0571 8765 4321", "cust-hangzhou", "057187654321"),
    ("0512-6234 5678～9", "cust-suzhou", "051262345678"),
    ("010-6234 5670~9", "cust-beijing", "1062345670"),
    ("\"座机：0755-62345678,,801\"", "cust-shenzhen", "075562345678"),
    ("Mobile: 139 1234 5678ｘ12", "cust-mobile-2", "+86 139 1234 5678"),
    ("17969 0351 7123456", "cust-taiyuan", "03517123456"),
]
INVALID_ROWS = ["852 6234 5678", "(02) 2345-6789", "0755-6234567", "15412345678", "+86 26 6234 5678"]


def crm_file(path, invalid: bool) -> None:
    lines = ["number,customer_token"] + [f"{cell},{token}" for cell, token, _ in CRM_ROWS]
    if invalid:
        lines += [f"{cell},cust-bad-{i}" for i, cell in enumerate(INVALID_ROWS)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture
def crm_store(binaries, tmp_path):
    db = tmp_path / "crm.db"
    csv = tmp_path / "crm.csv"
    crm_file(csv, invalid=False)
    cp = run_tokenctl("import", csv, store=db)
    return db, cp


def test_import_reports_the_ranges(crm_store):
    _, cp = crm_store
    assert cp.stdout.decode().startswith(f"imported: {len(CRM_ROWS)} added,")
    assert "2 numbers were ranges (lines 5, 6): only the first number of each range is stored" in cp.stderr.decode()


def test_import_json_reports_the_ranges(binaries, tmp_path):
    csv = tmp_path / "crm.csv"
    crm_file(csv, invalid=False)
    cp = run_tokenctl("import", "--json", csv, store=tmp_path / "crm.db")
    report = json.loads(cp.stdout)
    assert (report["added"], report["ranges"], report["range_lines"]) == (len(CRM_ROWS), 2, [5, 6])
    assert cp.stderr == b""


def test_numbers_that_cannot_be_dialled_refuse_the_import_with_their_lines(binaries, tmp_path):
    csv = tmp_path / "crm.csv"
    crm_file(csv, invalid=True)
    db = tmp_path / "crm.db"
    cp = run_tokenctl("import", csv, store=db, check=False)
    assert cp.returncode == 1
    err = cp.stderr.decode()
    first = len(CRM_ROWS) + 2
    for line in range(first, first + len(INVALID_ROWS)):
        assert f"line {line}: invalid number: " in err
    for cell in INVALID_ROWS:
        assert cell not in err  # never repeated: personal data
    assert run_tokenctl("get", "13687654321", store=db, check=False).returncode == 1

    cp = run_tokenctl("import", "--json", "--skip-invalid", csv, store=db)
    report = json.loads(cp.stdout)
    assert (report["added"], report["skipped"], report["committed"]) == (len(CRM_ROWS), len(INVALID_ROWS), True)
    assert [p["line"] for p in report["problems"]] == list(range(first, first + len(INVALID_ROWS)))


@pytest.fixture
def crm_nginx(crm_store, start_responder, tls, tmp_path, nginx_binary):
    db, _ = crm_store
    responder = start_responder(store_path=db)
    n = Nginx(tmp_path / "nginx", responder.socket_path, *tls).render().start()
    yield n
    n.stop()


@pytest.mark.parametrize("sent,token", [(sent, token) for _, token, sent in CRM_ROWS])
def test_every_imported_number_reaches_its_customer_over_https(crm_nginx, sent, token):
    status, _, body = crm_nginx.post(udesk_body(sent))
    assert (status, json.loads(body)) == (200, {"customer_token": token})


@pytest.mark.parametrize("sent", ["051262345679", "13687654322", "0755-62345679", "+86 10 6234 5671"])
def test_valid_numbers_not_stored_are_404(crm_nginx, sent):
    status, _, body = crm_nginx.post(udesk_body(sent))
    assert (status, json.loads(body)["error"]) == (404, "unknown_number")


@pytest.mark.parametrize("sent", INVALID_ROWS + ["手机13687654321", "Fax: 021-62345678"])
def test_numbers_that_cannot_exist_are_422(crm_nginx, sent):
    status, _, body = crm_nginx.post(udesk_body(sent))
    assert (status, json.loads(body)["error"]) == (422, "invalid_number")


# ---------------------------------------------------------------- validity against libphonenumber


def random_chinese_numbers(count: int, seed: int) -> list[str]:
    """National numbers with their trunk 0, of the shapes the generated tables decide: mobiles
    (any 11 digits starting 1[3-9]), landlines (any area code, 6 to 9 subscriber digits
    starting 2-8) and service numbers (400, 800, 950 and others, 9 to 11 digits). Local service
    numbers under an area code (0951 95xxx) are left out: the normaliser does not take them."""
    import random

    rng = random.Random(seed)
    digits = "0123456789"
    numbers = set()
    while len(numbers) < count:
        kind = rng.randrange(3)
        if kind == 0:
            national = "1" + rng.choice("3456789") + "".join(rng.choice(digits) for _ in range(9))
        elif kind == 1:
            area = rng.choice(["10", f"2{rng.randrange(10)}", str(rng.randrange(300, 1000))])
            local = rng.choice("2345678") + "".join(rng.choice(digits) for _ in range(rng.randrange(5, 9)))
            national = area + local
        else:
            prefix = rng.choice(["400", "800", "950", "401", "801", "956", "958"])  # none an area code
            national = prefix + "".join(rng.choice(digits) for _ in range(rng.randrange(6, 9)))
        numbers.add("0" + national)
    return sorted(numbers)


def test_every_random_number_is_accepted_exactly_when_libphonenumber_holds_it_valid(binaries, tmp_path):
    """End to end through tokenctl: import random numbers with --skip-invalid, export what was
    stored, and compare with libphonenumber's is_valid_number on each."""
    phonenumbers = pytest.importorskip("phonenumbers", reason="pip install phonenumbers")
    numbers = random_chinese_numbers(20000, seed=15)
    csv = tmp_path / "random.csv"
    csv.write_text("number,customer_token\n" + "".join(f"{n},t{i}\n" for i, n in enumerate(numbers)))
    db = tmp_path / "random.db"
    run_tokenctl("import", "--skip-invalid", csv, store=db, timeout=120)
    exported = run_tokenctl("export", store=db, timeout=120).stdout.decode().splitlines()[1:]
    stored = {token: key for key, token in (line.split(",") for line in exported)}
    wrong = []
    for i, written in enumerate(numbers):
        parsed = phonenumbers.parse(written, "CN")
        expected = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
        valid = phonenumbers.is_valid_number(parsed)
        got = stored.get(f"t{i}")
        if (got == expected) != valid or (got is not None and got != expected):
            wrong.append(f"{written}: stored {got}, libphonenumber {'valid' if valid else 'invalid'}")
    assert not wrong, f"{len(wrong)} of {len(numbers)} differ, e.g. {wrong[:10]}"
    # Both outcomes are well represented.
    assert 3000 < len(stored) < len(numbers) - 3000
