"""`tokenctl import` of CRM exports as they arrive: a CSV written by Excel (UTF-8 with a BOM,
CRLF, Chinese headers, quoted commas and newlines, extra columns), the same in GB18030, an .xlsx
workbook made with openpyxl at test time, and standard input; each imported with the column
flags through the real tokenctl, then every number looked up through nginx and the responder.
Files that cannot be read (.xls, .ods, a zip that is no workbook, a number cell that lost its
digits, a column the header lacks) are refused with a message, and the store is left as it was.

All imports go into one store served by one responder behind nginx, with --replace: each test's
tokens carry their own prefix, so a lookup can only pass if that test's import reached the store.
"""

from __future__ import annotations

import csv
import io
import json
import os
import pty
import re
import subprocess
import time
import zipfile
from pathlib import Path

import pytest

from udesk_it import FIXTURE_CSV, Nginx, Responder, bin_dir, run_tokenctl, udesk_body

openpyxl = pytest.importorskip("openpyxl", reason="pip install openpyxl (scripts/install-deps.sh --tests)")

HEADER = ["客户编号", "姓名", "手机号", "座机", "地址", "备注"]
# id, name, mobile, landline, address (quoted comma), note (quoted newline and quotes)
CUSTOMERS = [
    ("C0001", "张三", "13800138000", "021-62345678", "上海市徐汇区, 漕溪北路 1 号", "VIP\n老客户"),
    ("C0002", "李四", "13900139000", "", "北京市", ""),
    ("C0003", "王五", "", "0512-62345678", "苏州, 工业园区", '说"重要"'),
    ("C0004", "赵六", "13700137000", "010-62345678", "", "两个号码"),
    ("C0005", "钱七", "", "", "没有电话", ""),  # no number at all: left out, counted
]
# Each number as Udesk may send it, and the customer it belongs to.
LOOKUPS = [
    (13800138000, "C0001"), ("+86 138 0013 8000", "C0001"), ("02162345678", "C0001"),
    ("021-62345678", "C0001"), (13900139000, "C0002"), ("051262345678", "C0003"),
    ("0512 6234 5678", "C0003"), (13700137000, "C0004"), ("01062345678", "C0004"),
]
COLUMNS = ["--number-column", "手机号", "--number-column", "座机", "--token-column", "客户编号"]
REPLACE = ["--replace", "--max-remove", "100%"]


def ctl(*args, store, input: bytes | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOKEN_")}
    return subprocess.run([str(bin_dir() / "tokenctl"), "--store", str(store), *[str(a) for a in args]],
                          capture_output=True, timeout=timeout, env=env, input=input,
                          stdin=None if input is not None else subprocess.DEVNULL)


def excel_csv(prefix: str) -> str:
    """The CRM export as Excel writes "CSV UTF-8": CRLF, quotes only where needed."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(HEADER)
    for cid, *rest in CUSTOMERS:
        w.writerow([prefix + cid, *rest])
    return out.getvalue()


@pytest.fixture(scope="module")
def served(binaries, tls, nginx_binary, tmp_path_factory):
    """(store, nginx): a store seeded with the fixture CSV, served by a responder behind nginx."""
    folder = tmp_path_factory.mktemp("files")
    store = folder / "tokens.db"
    run_tokenctl("import", FIXTURE_CSV, store=store)
    responder = Responder(store, folder / "t.sock", folder / "responder.log").start()
    server = None
    try:
        server = Nginx(folder / "nginx", responder.socket_path, *tls).render().start()
        yield store, server
    finally:
        if server:
            server.stop()
        responder.stop()


def lookup(server, number):
    status, _, body = server.post(udesk_body(number))
    return status, json.loads(body)


def assert_served(server, prefix: str):
    for number, cid in LOOKUPS:
        status, body = lookup(server, number)
        assert (status, body) == (200, {"customer_token": prefix + cid}), number
    status, _ = lookup(server, 13800138000 + 1)  # in no file
    assert status == 404


def assert_report(cp, numbers: int = 6):
    """Imported: `numbers` numbers stored (the mobiles and landlines of four customers), the
    customer without a number counted."""
    assert cp.returncode == 0, cp.stderr.decode()
    out = cp.stdout.decode()
    m = re.match(r"imported: (\d+) added, (\d+) updated, (\d+) unchanged, \d+ removed, 0 skipped, "
                 r"1 row without a number\n$", out)
    assert m and sum(map(int, m.groups())) == numbers, out


def test_excel_csv_utf8_with_bom(served, tmp_path):
    store, server = served
    path = tmp_path / "客户导出.csv"
    path.write_bytes(b"\xef\xbb\xbf" + excel_csv("u8-").encode("utf-8"))
    cp = ctl("import", *REPLACE, *COLUMNS, path, store=store)
    assert_report(cp)
    assert b"GB18030" not in cp.stderr
    assert_served(server, "u8-")
    status, _ = lookup(server, 18888888888)  # the seed's rows went with --replace
    assert status == 404


def test_excel_csv_gb18030_detected(served, tmp_path):
    store, server = served
    path = tmp_path / "gbk.csv"
    path.write_bytes(excel_csv("gb-").encode("gb18030"))
    cp = ctl("import", *REPLACE, *COLUMNS, path, store=store)
    assert_report(cp)
    assert b"not valid UTF-8, reading it as GB18030" in cp.stderr, cp.stderr.decode()
    assert_served(server, "gb-")


def test_encoding_given(served, tmp_path):
    store, server = served
    path = tmp_path / "gbk.csv"
    path.write_bytes(excel_csv("gbx-").encode("gb18030"))
    # Told UTF-8, the GB18030 file is refused at the line of the first bad byte; nothing changes.
    before = ctl("export", store=store).stdout
    cp = ctl("import", *REPLACE, *COLUMNS, "--encoding", "utf-8", path, store=store)
    assert cp.returncode == 1
    err = cp.stderr.decode()
    assert "line 1: bytes not valid UTF-8 at byte 0 of the file; give --encoding gb18030" in err, err
    assert ctl("export", store=store).stdout == before
    # Told GB18030, it loads, and nothing is said about the encoding.
    cp = ctl("import", *REPLACE, *COLUMNS, "--encoding", "gb18030", path, store=store)
    assert_report(cp)
    assert b"GB18030" not in cp.stderr
    assert_served(server, "gbx-")
    # An unknown encoding is a usage error naming the choices.
    cp = ctl("import", "--encoding", "latin1", path, store=store)
    assert cp.returncode != 0 and b"utf-8" in cp.stderr and b"gb18030" in cp.stderr


def make_workbook(path: Path, prefix: str):
    """A workbook as a CRM writes it: a notes sheet first, then 客户 with numbers stored both as
    text and as numeric cells (an int, a float), and a numeric customer id."""
    wb = openpyxl.Workbook()
    notes = wb.active
    notes.title = "说明"
    notes.append(["导出时间", "2026-12-01"])
    sheet = wb.create_sheet("客户")
    sheet.append(HEADER)
    sheet.append([prefix + "C0001", "张三", 13800138000, "021-62345678", "上海市徐汇区, 漕溪北路", "VIP\n老客户"])
    sheet.append([prefix + "C0002", "李四", "13900139000", None, "北京市", None])
    sheet.append([prefix + "C0003", "王五", None, "0512-62345678", "苏州", None])
    sheet.append([prefix + "C0004", "赵六", 13700137000.0, "010-62345678", None, None])
    sheet.append([prefix + "C0005", "钱七", None, None, "没有电话", None])
    sheet.append([10006, "孙八", 13600136000, None, None, None])
    wb.save(path)


def test_xlsx_with_sheet(served, tmp_path):
    store, server = served
    path = tmp_path / "crm.xlsx"
    make_workbook(path, "x-")
    cp = ctl("import", *REPLACE, *COLUMNS, "--sheet", "客户", path, store=store)
    assert_report(cp, numbers=7)
    assert_served(server, "x-")
    assert lookup(server, 13600136000) == (200, {"customer_token": "10006"})  # a numeric id reads as digits
    # Without --sheet the first sheet is read: its header has no such columns.
    cp = ctl("import", *REPLACE, *COLUMNS, path, store=store)
    assert cp.returncode == 1
    assert "refused: no number column named '手机号': the header is: 1 导出时间, 2 2026-12-01" in cp.stderr.decode()
    cp = ctl("import", *COLUMNS, "--sheet", "Sheet9", path, store=store)
    assert cp.returncode == 1
    assert "no sheet named 'Sheet9' in the workbook: its sheets are '说明', '客户'" in cp.stderr.decode()
    assert_served(server, "x-")


def test_xlsx_inline_strings(served, tmp_path):
    """openpyxl's write-only mode writes inline strings and no shared strings part."""
    store, server = served
    path = tmp_path / "inline.xlsx"
    wb = openpyxl.Workbook(write_only=True)
    sheet = wb.create_sheet("客户")
    sheet.append(HEADER)
    for cid, name, mobile, landline, address, note in CUSTOMERS:
        sheet.append(["in-" + cid, name, int(mobile) if mobile.startswith("137") else mobile or None,
                      landline or None, address, note])
    wb.save(path)
    with zipfile.ZipFile(path) as z:
        assert "xl/sharedStrings.xml" not in z.namelist()
    assert_report(ctl("import", *REPLACE, *COLUMNS, path, store=store))
    assert_served(server, "in-")


def rewrite_sheet(path: Path, old: str, new: str):
    """Replaces text in the workbook's second sheet XML (a value openpyxl would not write)."""
    with zipfile.ZipFile(path) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    xml = parts["xl/worksheets/sheet2.xml"].decode()
    assert old in xml
    parts["xl/worksheets/sheet2.xml"] = xml.replace(old, new).encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)


def test_xlsx_float_that_lost_digits_is_refused(served, tmp_path):
    store, server = served
    good = tmp_path / "ok.xlsx"
    make_workbook(good, "lost-")
    assert ctl("import", *REPLACE, *COLUMNS, "--sheet", "客户", good, store=store).returncode == 0
    before = ctl("export", store=store).stdout
    # More than 15 significant digits: Excel has rounded it.
    wide = tmp_path / "wide.xlsx"
    make_workbook(wide, "lost-")
    rewrite_sheet(wide, "<v>13600136000</v>", "<v>8613600136000123</v>")
    # An exponent form that cannot hold all the digits (a CSV round trip through Excel).
    exp = tmp_path / "exp.xlsx"
    make_workbook(exp, "lost-")
    rewrite_sheet(exp, "<v>13600136000</v>", "<v>1.36001E+10</v>")
    for path, why in [(wide, "more than 15 digits"), (exp, "exponent form")]:
        cp = ctl("import", *REPLACE, *COLUMNS, "--sheet", "客户", path, store=store)
        assert cp.returncode == 1, path
        err = cp.stderr.decode()
        assert re.search(rf"line 7: 手机号: a number cell .*{why}.*format the column as text", err), err
        assert ctl("export", store=store).stdout == before
    assert_served(server, "lost-")
    # --skip-invalid leaves that row out and keeps the rest.
    cp = ctl("import", *REPLACE, *COLUMNS, "--sheet", "客户", "--skip-invalid", exp, store=store)
    assert cp.returncode == 0 and b"1 skipped" in cp.stdout, cp.stdout
    assert lookup(server, 13600136000)[0] == 404


def test_other_formats_are_refused_by_name(served, tmp_path):
    store, _ = served
    before = ctl("export", store=store).stdout
    xls = tmp_path / "old.xls"
    xls.write_bytes(bytes.fromhex("d0cf11e0a1b11ae1") + b"\0" * 504)
    ods = tmp_path / "crm.ods"
    with zipfile.ZipFile(ods, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        z.writestr("content.xml", "<office:document-content/>")
    other = tmp_path / "backup.zip"
    with zipfile.ZipFile(other, "w") as z:
        z.writestr("crm.csv", excel_csv("z-"))
    utf16 = tmp_path / "unicode.txt"
    utf16.write_bytes(excel_csv("w-").replace(",", "\t").encode("utf-16"))
    for path, name in [(xls, "Excel 97-2003 workbook (.xls"), (ods, "OpenDocument spreadsheet (.ods)"),
                       (other, "a zip archive that is not an Excel workbook"), (utf16, "UTF-16 text")]:
        cp = ctl("import", *COLUMNS, path, store=store)
        assert cp.returncode == 1, path
        err = cp.stderr.decode()
        assert f"{path}: cannot import " in err and name in err, err
        assert "save it from Excel (or WPS) as" in err or "unpack it" in err, err
    assert ctl("export", store=store).stdout == before


def test_missing_column_lists_the_header(served, tmp_path):
    store, _ = served
    before = ctl("export", store=store).stdout
    path = tmp_path / "crm.csv"
    path.write_bytes(b"\xef\xbb\xbf" + excel_csv("m-").encode())
    cp = ctl("import", *REPLACE, "--number-column", "手机", "--token-column", "客户编号", path, store=store)
    assert cp.returncode == 1
    assert (f"{path}: refused: no number column named '手机': the header is: "
            "1 客户编号, 2 姓名, 3 手机号, 4 座机, 5 地址, 6 备注") in cp.stderr.decode()
    cp = ctl("import", "--json", "--number-column", "3", "--token-column", "9", path, store=store)
    assert cp.returncode == 1
    report = json.loads(cp.stdout)
    assert report["committed"] is False and report["refused"].startswith("token column 9 does not exist")
    assert ctl("export", store=store).stdout == before
    # Without column flags the export is refused line by line, with a hint at the flags.
    cp = ctl("import", path, store=store)
    assert cp.returncode == 1
    assert "line 1: expected 2 columns, found 6 (pick them with --number-column and --token-column)" in cp.stderr.decode()


def test_stdin(served, tmp_path):
    store, server = served
    data = b"\xef\xbb\xbf" + excel_csv("in-").encode()
    cp = ctl("import", *REPLACE, *COLUMNS, "-", store=store, input=data)
    assert_report(cp)
    assert_served(server, "in-")
    stats = ctl("stats", "--json", store=store)
    assert json.loads(stats.stdout)["last_import_source"] == "-", stats.stdout
    # psql's \copy … csv header: no BOM, LF, only the two columns.
    psql = b"phone,customer_token\n13800138000,psql-1\n"
    cp = ctl("import", *REPLACE, "--number-column", "phone", "-", store=store, input=psql)
    assert cp.returncode == 0, cp.stderr
    assert lookup(server, 13800138000) == (200, {"customer_token": "psql-1"})
    # A workbook cannot come through a pipe: it is refused, asking for its file name.
    path = tmp_path / "crm.xlsx"
    make_workbook(path, "p-")
    cp = ctl("import", *COLUMNS, "-", store=store, input=path.read_bytes())
    assert cp.returncode == 1 and b"give its name instead of -" in cp.stderr


def read_pty(master: int) -> bytes:
    seen = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO once the child side is closed
            break
        if not chunk:
            break
        seen += chunk
    return seen


def slow_import(tmp_path, *flags):
    """Runs an import whose standard input arrives in two halves 1.5 s apart, standard error on
    a terminal: (returncode, stdout, what the terminal showed)."""
    master, slave = pty.openpty()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOKEN_")}
    proc = subprocess.Popen([str(bin_dir() / "tokenctl"), "--store", str(tmp_path / "p.db"), "import", *flags, "-"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=slave, env=env)
    os.close(slave)
    try:
        proc.stdin.write(b"number,customer_token\n" + b"".join(b"13%09d,t-%d\n" % (i, i) for i in range(5000)))
        proc.stdin.flush()
        time.sleep(1.5)
        proc.stdin.write(b"".join(b"13%09d,t-%d\n" % (i, i) for i in range(5000, 10000)))
        proc.stdin.close()
        out = proc.stdout.read()
        proc.wait(timeout=60)
        seen = read_pty(master)
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
    return proc.returncode, out, seen


def test_progress_on_a_terminal(binaries, tmp_path):
    code, out, seen = slow_import(tmp_path)
    assert code == 0 and out.startswith(b"imported: 10000 added"), out
    assert re.search(rb"\r\d+ rows read, \d+ rows/s\x1b\[K", seen), seen
    assert seen.endswith(b"\r\x1b[K"), seen  # cleared before the report
    # --json keeps the terminal quiet until the report.
    code, out, seen = slow_import(tmp_path, "--json")
    assert code == 0 and json.loads(out)["unchanged"] == 10000
    assert b"rows read" not in seen, seen


def test_psql_copy_piped_into_import(served, pg_db):
    """The README's pipeline: psql -c "\\copy (…) to stdout csv header" | tokenctl import -."""
    from udesk_pg import PG_BIN, clean_env

    store, server = served
    pg_db.psql("CREATE TABLE customers (id text, name text, mobile text, landline text);"
               "INSERT INTO customers VALUES ('pg-C0001', '张三', '13800138000', '021-62345678'),"
               "('pg-C0002', '李四, 北京', '13900139000', NULL), ('pg-C0003', '王五', NULL, '0512-62345678'),"
               "('pg-C0004', E'赵六\\n第二行', '13700137000', '010-62345678'), ('pg-C0005', '钱七', NULL, NULL);")
    psql = subprocess.Popen([str(PG_BIN / "psql"), "-XAtqw", "-d", pg_db.uri, "-c",
                             "\\copy (SELECT id, name, mobile, landline FROM customers ORDER BY id) to stdout csv header"],
                            stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, env=clean_env(None))
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOKEN_")}
    cp = subprocess.run([str(bin_dir() / "tokenctl"), "--store", str(store), "import", *REPLACE,
                         "--number-column", "mobile", "--number-column", "landline", "--token-column", "id", "-"],
                        stdin=psql.stdout, capture_output=True, timeout=60, env=env)
    psql.stdout.close()
    assert psql.wait(timeout=30) == 0
    assert_report(cp)
    assert_served(server, "pg-")


def test_import_into_postgres_with_columns(pg_db, tmp_path):
    """The same rules whichever engine holds the store: the GB18030 export into PostgreSQL."""
    path = tmp_path / "gbk.csv"
    path.write_bytes(excel_csv("pgs-").encode("gb18030"))
    cp = ctl("import", *COLUMNS, path, store=pg_db.uri)
    assert_report(cp)
    for number, cid in LOOKUPS:
        got = ctl("get", number, store=pg_db.uri)
        assert (got.returncode, got.stdout.decode()) == (0, f"pgs-{cid}\n"), number


def test_progress_shows_the_percent_of_a_file(binaries, tmp_path):
    """A file whose size is known: the line has its percent. The file grows until the import
    lasts past the first second (at most four tries, 3.2M rows)."""
    rows, seen = 200_000, b""
    for _ in range(4):
        path = tmp_path / "big.csv"
        with open(path, "w") as f:
            f.write("number,customer_token\n")
            f.writelines(f"13{i:09d},t-{i}\n" for i in range(rows))
        master, slave = pty.openpty()
        env = {k: v for k, v in os.environ.items() if not k.startswith("TOKEN_")}
        try:
            proc = subprocess.run([str(bin_dir() / "tokenctl"), "--store", str(tmp_path / f"{rows}.db"), "import",
                                   str(path)], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave,
                                  env=env, timeout=300)
            os.close(slave)
            slave = -1
            seen = read_pty(master)
        finally:
            if slave >= 0:
                os.close(slave)
            os.close(master)
        assert proc.returncode == 0 and proc.stdout.startswith(b"imported: %d added" % rows), proc.stdout
        if b"rows read" in seen:
            break
        rows *= 2
    assert re.search(rb"\r\d+ rows read, \d{1,3}% of the file, \d+ rows/s\x1b\[K", seen), seen
