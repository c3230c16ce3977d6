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
