"""tokenctl's admin subcommands, run as operators run them: import --json, export, put, delete,
stats, verify, backup; --help of each; one-line errors on stderr and non-zero exits.

Binaries from $TOKEN_BIN_DIR (the `binaries` fixture of conftest.py skips when missing).
Every subprocess has a timeout.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import stat
import subprocess
from pathlib import Path

import pytest

from udesk_it import FIXTURE_CSV, FastCGIConnection, bin_dir, udesk_body

SUBCOMMANDS = ["import", "export", "get", "put", "delete", "stats", "verify", "backup"]
ISO_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


def ctl(*args, store=None, timeout: float = 30, input: bytes | None = None, **kw) -> subprocess.CompletedProcess:
    """Runs tokenctl with a clean environment (no TOKEN_* from the caller)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOKEN_")}
    env.update(kw.pop("env", {}))
    cmd = [str(bin_dir() / "tokenctl")]
    if store is not None:
        cmd += ["--store", str(store)]
    cmd += [str(a) for a in args]
    return subprocess.run(cmd, capture_output=True, timeout=timeout, env=env, input=input,
                          stdin=None if input is not None else subprocess.DEVNULL, **kw)


def ok(*args, store=None, **kw) -> str:
    cp = ctl(*args, store=store, **kw)
    assert cp.returncode == 0, f"tokenctl {args} exited {cp.returncode}: {cp.stderr.decode()}"
    return cp.stdout.decode()


def assert_clean_failure(cp: subprocess.CompletedProcess, code: int | None = None):
    """A failure: non-zero exit, an explanation on stderr, no Swift crash."""
    assert cp.returncode != 0
    if code is not None:
        assert cp.returncode == code
    err = cp.stderr.decode()
    assert err.strip(), "no explanation on stderr"
    assert "Fatal error" not in err and "Stack dump" not in err and "Illegal instruction" not in err, err
    assert cp.returncode > 0, f"killed by signal {-cp.returncode}"


def store_for(request, tmp_path, name):
    """A SQLite path in `tmp_path`, or a fresh PostgreSQL database's URI, by `request.param`."""
    return tmp_path / name if request.param == "sqlite" else request.getfixturevalue("pg_db").uri


@pytest.fixture(params=["sqlite", "postgres"])
def db(request, binaries, tmp_path):
    """A fresh store holding the integration fixture rows: every test taking it runs against a
    SQLite file and against a PostgreSQL database."""
    store = store_for(request, tmp_path, "tokens.db")
    ok("import", FIXTURE_CSV, store=store)
    return store


@pytest.fixture
def sqlite_db(binaries, tmp_path) -> Path:
    """A fresh SQLite store holding the fixture rows, for tests that reach into its file."""
    path = tmp_path / "tokens.db"
    ok("import", FIXTURE_CSV, store=path)
    return path


# ------------------------------------------------------------------------------------------
# help


@pytest.mark.parametrize("sub", SUBCOMMANDS)
def test_help_has_examples(binaries, sub):
    cp = ctl(sub, "--help")
    assert cp.returncode == 0, cp.stderr
    out = cp.stdout.decode()
    assert "Examples:" in out
    assert re.search(rf"^\s+tokenctl .*\b{sub}\b", out, re.M), f"no example of `tokenctl {sub}` in:\n{out}"


def test_top_level_help_lists_every_subcommand(binaries):
    out = ok("--help")
    for sub in SUBCOMMANDS:
        assert re.search(rf"^\s+{sub}\b", out, re.M), f"{sub} missing from:\n{out}"


# ------------------------------------------------------------------------------------------
# put / get / delete


def test_put_get_delete_round_trip(binaries, tmp_path):
    store = tmp_path / "edit.db"
    assert ok("put", "13800138000", "cust-a", store=store) == "added\n"
    assert stat.S_IMODE(os.stat(store).st_mode) == 0o640
    assert ok("put", "+86 138 0013 8000", "cust-a", store=store) == "unchanged\n"
    assert ok("put", "013800138000", "cust-b", store=store) == "updated\n"
    assert ok("get", "13800138000", store=store) == "cust-b\n"
    assert ok("get", "--verbose", "138-0013-8000", store=store) == "key: +8613800138000\ntoken: cust-b\n"
    assert ok("delete", "+8613800138000", store=store) == "deleted\n"
    cp = ctl("delete", "13800138000", store=store)
    assert_clean_failure(cp, 1)
    assert cp.stdout == b""
    assert ctl("get", "13800138000", store=store).returncode == 1


def test_put_refuses_what_import_refuses(binaries, tmp_path):
    store = tmp_path / "refuse.db"
    ok("put", "13800138000", "kept", store=store)
    for number, token in [("13800138000", ""), ("13800138000", "x" * 256), ("13800138000", "a\tb"),
                          ("not-a-number", "t"), ("12345", "t")]:
        cp = ctl("put", number, token, store=store)
        assert_clean_failure(cp)
        assert ok("get", "13800138000", store=store) == "kept\n"
    assert ok("put", "13800138000", "x" * 255, store=store) == "updated\n"
    assert json.loads(ok("stats", "--json", store=store))["rows"] == 1


def test_put_is_seen_by_a_running_responder(binaries, tmp_path, start_responder):
    store = tmp_path / "live.db"
    ok("put", "13800138000", "before", store=store)
    r = start_responder(store_path=store)
    with FastCGIConnection(r.socket_path) as conn:
        assert conn.request(udesk_body(13800138000)).json() == {"customer_token": "before"}
        ok("put", "13800138000", "after", store=store)
        assert conn.request(udesk_body(13800138000)).json() == {"customer_token": "after"}
        ok("delete", "13800138000", store=store)
        assert conn.request(udesk_body(13800138000)).status == 404


# ------------------------------------------------------------------------------------------
# export


def test_export_is_sorted_canonical_csv(db, tmp_path):
    out = ok("export", store=db)
    lines = out.splitlines()
    assert lines[0] == "number,customer_token"
    keys = [line.split(",", 1)[0] for line in lines[1:]]
    assert keys == sorted(keys)
    assert all(re.fullmatch(r"\+\d{8,15}", k) for k in keys), keys
    assert "+8613800138000,cust-0001" in lines
    assert len(lines) - 1 == json.loads(ok("stats", "--json", store=db))["rows"]


def test_export_to_file_is_atomic_output_with_mode_0640(db, tmp_path):
    target = tmp_path / "out" / "export.csv"
    target.parent.mkdir()
    target.write_text("old content\n")
    msg = ok("export", target, store=db)
    assert re.fullmatch(r"exported \d+ rows to .*export\.csv\n", msg), msg
    assert target.read_text() == ok("export", "-", store=db)
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o640
    assert sorted(p.name for p in target.parent.iterdir()) == ["export.csv"]


def test_export_into_a_missing_directory_fails_cleanly(db, tmp_path):
    assert_clean_failure(ctl("export", tmp_path / "nope" / "x.csv", store=db))


def test_export_quotes_only_where_needed_and_imports_back(binaries, tmp_path):
    store = tmp_path / "q.db"
    csv = tmp_path / "q.csv"
    csv.write_text('number,customer_token\n13800138000,"a,b"\n13900001111,"say ""hi"""\n'
                   '13700000000,plain token\n13600000000,客户-1\n')
    ok("import", csv, store=store)
    out = ok("export", store=store)
    assert out == ('number,customer_token\n+8613600000000,客户-1\n+8613700000000,plain token\n'
                   '+8613800138000,"a,b"\n+8613900001111,"say ""hi"""\n')
    copy = tmp_path / "copy.db"
    ok("import", "-", store=copy, input=out.encode())
    assert ok("get", "13900001111", store=copy) == 'say "hi"\n'
    assert ok("export", store=copy) == out


def test_import_replace_of_export_gives_identical_export(db, tmp_path):
    ok("put", "13912345678", "extra-put", store=db)
    first = tmp_path / "first.csv"
    ok("export", first, store=db)
    other = tmp_path / "other.db"
    ok("put", "13000000000", "to-be-removed", store=other)
    ok("put", "13800138000", "to-be-updated", store=other)
    report = json.loads(ok("import", "--replace", "--json", first, store=other))
    assert report["committed"] is True and report["removed"] == 1 and report["updated"] == 1
    second = tmp_path / "second.csv"
    ok("export", second, store=other)
    assert first.read_bytes() == second.read_bytes()
    # and re-importing onto itself changes nothing
    again = json.loads(ok("import", "--replace", "--json", first, store=db))
    assert (again["added"], again["updated"], again["removed"]) == (0, 0, 0)


def test_export_minted(sqlite_db, tmp_path):
    with sqlite3.connect(sqlite_db) as conn:
        conn.execute("UPDATE tokens SET minted = 1, updated_at = 1714979289 WHERE number = '+8613800138000'")
    conn.close()
    out = ok("export", "--minted", store=sqlite_db)
    assert out == "number,customer_token,first_seen\n+8613800138000,cust-0001,2024-05-06T07:08:09Z\n"
    assert json.loads(ok("stats", "--json", store=sqlite_db))["minted_rows"] == 1
    assert "+8613800138000,cust-0001\n" in ok("export", store=sqlite_db)  # the full export has it too


# ------------------------------------------------------------------------------------------
# import --json and progress


def test_import_json(binaries, tmp_path):
    store = tmp_path / "j.db"
    good = tmp_path / "good.csv"
    good.write_text("number,customer_token\n13800138000,a\n13000000001,b\n")
    report = json.loads(ok("import", "--json", good, store=store))
    assert report == {"added": 2, "updated": 0, "unchanged": 0, "removed": 0, "skipped": 0,
                      "ranges": 0, "range_lines": [],
                      "committed": True, "dry_run": False, "refused": None, "problem_count": 0, "problems": []}
    dry = json.loads(ok("import", "--json", "--dry-run", "--replace", FIXTURE_CSV, store=store))
    assert dry["dry_run"] is True and dry["committed"] is False
    assert (dry["added"], dry["updated"], dry["removed"]) == (11, 1, 1)
    assert ok("get", "13000000001", store=store) == "b\n"  # a dry run changes nothing
    bad = tmp_path / "bad.csv"
    bad.write_text('number,customer_token\n13800138000,changed\nnot a number,x\n13700000000,\n')
    cp = ctl("import", "--json", bad, store=store)
    assert cp.returncode == 1
    report = json.loads(cp.stdout)
    assert report["committed"] is False
    assert [p["line"] for p in report["problems"]] == [3, 4]
    assert all(isinstance(p["reason"], str) and p["reason"] for p in report["problems"])
    assert ok("get", "13800138000", store=store) == "a\n"
    skipped = json.loads(ok("import", "--json", "--skip-invalid", bad, store=store))
    assert skipped["committed"] is True and skipped["skipped"] == 2 and skipped["updated"] == 1


def _rows_csv(path: Path, n: int, prefix: str = "13", tag: str = "t"):
    with open(path, "w") as f:
        f.write("number,customer_token\n")
        for i in range(n):
            f.write(f"{prefix}{i:09d},{tag}-{i}\n")


def test_import_progress_only_on_a_terminal(binaries, tmp_path):
    """Not on a pipe; on a terminal see test_import_files.py::test_progress_on_a_terminal."""
    csv = tmp_path / "70k.csv"
    _rows_csv(csv, 70_000)
    cp = ctl("import", csv, store=tmp_path / "pipe.db")
    assert cp.returncode == 0
    assert b"\r" not in cp.stderr and b"rows read" not in cp.stderr


# ------------------------------------------------------------------------------------------
# stats, verify, backup


def test_stats(db):
    out = ok("stats", store=db)
    assert re.search(r"^rows: 12$", out, re.M), out
    assert re.search(r"^schema version: 1$", out, re.M)
    assert re.search(r"^last import source: .*integration-tokens\.csv$", out, re.M)
    s = json.loads(ok("stats", "--json", store=db))
    assert s["rows"] == 12 and s["minted_rows"] == 0 and s["schema_version"] == 1
    assert s["size_bytes"] == s["db_bytes"] + s["wal_bytes"] > 0
    assert ISO_UTC.match(s["last_import_time"])
    assert s["last_import_source"].endswith("integration-tokens.csv")


def test_stats_of_a_store_never_imported(binaries, tmp_path):
    store = tmp_path / "s.db"
    ok("put", "13800138000", "a", store=store)
    s = json.loads(ok("stats", "--json", store=store))
    assert s["rows"] == 1 and s["last_import_time"] is None and s["last_import_source"] is None
    assert "last import: never" in ok("stats", store=store)


def test_verify_ok_and_problems(sqlite_db):
    assert ok("verify", store=sqlite_db) == "ok\n"
    with sqlite3.connect(sqlite_db) as conn:
        conn.execute("INSERT INTO tokens(number, token, updated_at) VALUES('13812345678', 'x', 0)")
        conn.execute("INSERT INTO tokens(number, token, updated_at) VALUES('+8613812345679', 'a' || char(7), 0)")
        conn.execute("INSERT INTO tokens(number, token, updated_at) VALUES('+8613812345670', '', 0)")
    conn.close()
    cp = ctl("verify", store=sqlite_db)
    assert cp.returncode == 1
    out = cp.stdout.decode()
    assert re.search(r"^key 138\*{6}78: not canonical", out, re.M), out
    assert re.search(r"^token \+86138\*+79: token contains control characters$", out, re.M), out
    assert re.search(r"^token \+86138\*+70: empty token$", out, re.M), out
    assert out.endswith("3 problems\n")
    assert b"13812345678" not in cp.stdout + cp.stderr  # masked by default
    assert b"key 13812345678:" in ctl("verify", "--show-keys", store=sqlite_db).stdout


def test_verify_reports_a_newer_schema(sqlite_db):
    with sqlite3.connect(sqlite_db) as conn:
        conn.execute("PRAGMA user_version = 9")
    conn.close()
    cp = ctl("verify", store=sqlite_db)
    assert cp.returncode == 1
    assert cp.stdout.decode().startswith("schema: schema version 9, this binary knows 1")
    # and writers refuse it, with a clear message
    assert_clean_failure(ctl("put", "13800138000", "x", store=sqlite_db))
    assert_clean_failure(ctl("export", store=sqlite_db))


def test_backup(sqlite_db, tmp_path, start_responder):
    r = start_responder(store_path=sqlite_db)
    dest = tmp_path / "backups" / "tokens-copy.sqlite_db"
    dest.parent.mkdir()
    with FastCGIConnection(r.socket_path) as conn:
        out = ok("backup", dest, store=sqlite_db)
        assert conn.request(udesk_body(13800138000)).json() == {"customer_token": "cust-0001"}
    size = os.stat(dest).st_size
    assert out == f"{dest}: {size} bytes\n"
    assert stat.S_IMODE(os.stat(dest).st_mode) == 0o640
    assert sorted(p.name for p in dest.parent.iterdir()) == ["tokens-copy.sqlite_db"]
    assert ok("export", store=dest) == ok("export", store=sqlite_db)
    assert ok("verify", store=dest) == "ok\n"
    assert ok("get", "13800138000", store=dest) == "cust-0001\n"

    ok("put", "13800138000", "changed", store=sqlite_db)
    cp = ctl("backup", dest, store=sqlite_db)
    assert_clean_failure(cp)
    assert b"--force" in cp.stderr
    assert ok("get", "13800138000", store=dest) == "cust-0001\n"  # untouched
    ok("backup", "--force", dest, store=sqlite_db)
    assert ok("get", "13800138000", store=dest) == "changed\n"
    assert stat.S_IMODE(os.stat(dest).st_mode) == 0o640
    assert_clean_failure(ctl("backup", "--force", sqlite_db, store=sqlite_db))  # never onto the store itself
    assert ok("verify", store=sqlite_db) == "ok\n"


# ------------------------------------------------------------------------------------------
# errors


@pytest.mark.parametrize("args", [["export"], ["stats"], ["verify"], ["backup", "copy.sqlite_db"],
                                  ["delete", "13800138000"], ["get", "13800138000"]],
                         ids=lambda a: a[0])
def test_missing_store_is_a_clean_error_and_is_not_created(binaries, tmp_path, args):
    store = tmp_path / "missing.db"
    cp = ctl(*args, store=store, cwd=tmp_path)
    assert_clean_failure(cp)
    assert len(cp.stderr.decode().strip().splitlines()) == 1, cp.stderr
    assert not store.exists()
    assert not (tmp_path / "copy.db").exists()


def test_not_a_database_is_a_clean_error(binaries, tmp_path):
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not an SQLite file at all" * 200)
    for args in (["export"], ["stats"], ["verify"], ["backup", tmp_path / "b.db"], ["put", "13800138000", "x"]):
        assert_clean_failure(ctl(*args, store=junk))


def test_no_store_given_is_a_usage_error(binaries):
    cp = ctl("stats")
    assert_clean_failure(cp)
    assert b"TOKEN_STORE" in cp.stderr


def test_store_from_environment(db):
    assert ok("stats", "--json", env={"TOKEN_STORE": str(db)}) == ok("stats", "--json", store=db)


# ------------------------------------------------------------------------------------------
# import guards: no import wipes the store by accident

def _count(store) -> int:
    return json.loads(ok("stats", "--json", store=store))["rows"]


@pytest.fixture(params=["sqlite", "postgres"])
def big(request, binaries, tmp_path):
    path = store_for(request, tmp_path, "big.db")
    _rows_csv(tmp_path / "big.csv", 20_000)
    ok("import", tmp_path / "big.csv", store=path)
    return path


def test_replace_with_a_header_only_file_is_refused(big, tmp_path):
    header = tmp_path / "header.csv"
    header.write_text("number,customer_token\n")
    for extra in ([], ["--max-remove", "100%"], ["--skip-invalid"]):
        cp = ctl("import", "--replace", *extra, header, store=big)
        assert_clean_failure(cp, 1)
        assert "no data rows" in cp.stderr.decode() and "20000" in cp.stderr.decode()
        assert _count(big) == 20_000


def test_a_syntax_error_refuses_the_import_even_with_skip_invalid(big, tmp_path):
    lines = (tmp_path / "big.csv").read_text().splitlines()
    lines[101] += '"'  # one stray quote on line 102
    broken = tmp_path / "broken.csv"
    broken.write_text("\n".join(lines) + "\n")
    cp = ctl("import", "--replace", "--skip-invalid", broken, store=big)
    assert_clean_failure(cp, 1)
    assert "line 102" in cp.stderr.decode()
    assert "refused, nothing changed" in cp.stdout.decode()
    assert _count(big) == 20_000
    doc = json.loads(ctl("import", "--replace", "--skip-invalid", "--json", broken, store=big).stdout)
    assert doc["committed"] is False and "line 102" in doc["refused"]


def test_replace_removing_more_than_max_remove_is_refused_and_can_be_allowed(big, tmp_path):
    _rows_csv(tmp_path / "few.csv", 5_000)  # keeps 5000 of 20000: removes 75%
    dry = ctl("import", "--replace", "--dry-run", tmp_path / "few.csv", store=big)
    assert_clean_failure(dry, 1)
    assert "15000 of the store's 20000 rows" in dry.stderr.decode() and "--max-remove" in dry.stderr.decode()
    assert "would be refused" in dry.stdout.decode()
    cp = ctl("import", "--replace", tmp_path / "few.csv", store=big)
    assert_clean_failure(cp, 1)
    assert _count(big) == 20_000
    doc = json.loads(ctl("import", "--replace", "--json", tmp_path / "few.csv", store=big).stdout)
    assert doc["committed"] is False and doc["removed"] == 15_000 and "--max-remove" in doc["refused"]
    assert_clean_failure(ctl("import", "--replace", "--max-remove", "14999", tmp_path / "few.csv", store=big), 1)
    assert "15000 removed" in ok("import", "--replace", "--max-remove", "15000", tmp_path / "few.csv", store=big)
    assert _count(big) == 5_000
    assert_clean_failure(ctl("import", "--replace", "--max-remove", "half", tmp_path / "few.csv", store=big))


def test_the_problem_list_is_capped(binaries, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("number,customer_token\n" + "".join(f"not-a-number-{i},t\n" for i in range(5_000)))
    cp = ctl("import", bad, store=tmp_path / "s.db")
    assert_clean_failure(cp, 1)
    lines = cp.stderr.decode().splitlines()
    assert len(lines) == 21, lines[:3]
    assert lines[-1].endswith("… and 4980 more")
    doc = json.loads(ctl("import", "--json", bad, store=tmp_path / "s.db").stdout)
    assert doc["problem_count"] == 5_000 and len(doc["problems"]) == 20


@pytest.mark.parametrize("subcommand,offered", [
    ("backup", False), ("stats", False), ("export", False),
    ("import", True), ("get", True), ("put", True), ("delete", True), ("verify", True),
])
def test_country_code_is_offered_only_where_numbers_are_read(binaries, subcommand, offered):
    cp = subprocess.run([str(binaries / "tokenctl"), subcommand, "--help"], capture_output=True, timeout=30,
                        stdin=subprocess.DEVNULL)
    assert cp.returncode == 0, cp
    assert (b"--country-code" in cp.stdout) == offered, cp.stdout.decode()


def test_country_code_on_backup_is_refused(binaries, tmp_path):
    cp = subprocess.run([str(binaries / "tokenctl"), "--store", str(tmp_path / "t.db"), "backup", "--country-code",
                         "1", str(tmp_path / "copy.db")], capture_output=True, timeout=30, stdin=subprocess.DEVNULL)
    assert cp.returncode == 64, cp
    assert b"--country-code" in cp.stderr
    assert not (tmp_path / "copy.db").exists()
