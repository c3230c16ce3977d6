"""The responder's view follows the files at the store path.

Ops engineers replace, remove and truncate store files while the responder serves: they
restore a backup with `mv`, clean up "stray" `-wal`/`-shm` files, or lose a disk. Whatever
happens to the files, no answer may mix two generations of files (another customer's token, a
404 for a known number): each worker checks, before it starts a snapshot, that the files at the
path are the ones it has open, and reopens the store when they are not -- no SIGHUP needed.
Where there is no usable store, the answer is the JSON 500 `store_unavailable`.

Each test runs a verifying load (kept FastCGI connections, as nginx's upstream pool) that checks
every answer against the tokens the number may have in that phase of the fault.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
import random
import sqlite3
import subprocess
import threading
import time
from collections import Counter

from udesk_it import FastCGIConnection, FastCGILoad, bin_dir, run_tokenctl, udesk_body, wait_until, write_csv

ROWS = 40_000
MAX_SECONDS = 60.0


def numbers(seed: int, count: int = ROWS) -> list[str]:
    rng = random.Random(seed)
    return list(dict.fromkeys(f"13{rng.randrange(10**9):09d}" for _ in range(count)))


def tokenctl(store, *args, check=True):
    return subprocess.run([str(bin_dir() / "tokenctl"), "--store", str(store), *args], check=check,
                          capture_output=True, timeout=MAX_SECONDS, env={"PATH": "/usr/bin:/bin"})


def old_and_new(tmp_path, seed):
    asked = numbers(seed)
    old = {n: f"old-{i}" for i, n in enumerate(asked)}
    new = {n: f"new-{i}" for i, n in enumerate(asked)}
    write_csv(tmp_path / "old.csv", old)
    write_csv(tmp_path / "new.csv", new)
    return asked, old, new


@contextmanager
def verified_load(responder, asked, old):
    """A FastCGILoad on `responder` that has answered from the `old` tokens before the body runs
    (the phase "before"); stopped afterwards, and every answer checked."""
    load = FastCGILoad(responder.socket_path, asked, {n: {old[n]} for n in asked}).start()
    try:
        wait_until(lambda: load.answered("before") > 200, timeout=20, what="answers before the fault")
        yield load
    finally:
        load.stop()
    load.assert_clean()


def test_removed_wal_and_shm_then_import_replace_never_mixes_files(tmp_path, start_responder):
    """`rm tokens.db-wal tokens.db-shm` while serving, then an import that changes every token:
    the import's writer no longer sees the responder's read locks, so without a reopen the
    responder read pages the import was rewriting (other numbers' tokens, false 404s)."""
    asked, old, new = old_and_new(tmp_path, 21)
    store = tmp_path / "tokens.db"
    tokenctl(store, "import", tmp_path / "old.csv")
    responder = start_responder(store_path=store)
    with verified_load(responder, asked, old) as load:
        load.set_phase("removed", {n: {old[n], new[n]} for n in asked})
        time.sleep(0.05)  # let requests asked in the previous phase finish first
        os.unlink(f"{store}-wal")
        os.unlink(f"{store}-shm")
        time.sleep(0.3)
        tokenctl(store, "import", "--replace", tmp_path / "new.csv")
        load.set_phase("importing", {n: {old[n], new[n]} for n in asked})
        time.sleep(0.5)
        load.set_phase("after", {n: {new[n]} for n in asked})
        time.sleep(0.5)
    assert load.answered("after") > 50, dict(load.counts)


def test_backup_moved_over_the_store_then_a_write_is_served_from_the_new_file(tmp_path, start_responder):
    """`mv other.db tokens.db` (restoring a backup), then a write before any SIGHUP: the
    responder must answer from the file now at the path, never from a mix of the two."""
    asked, old, new = old_and_new(tmp_path, 22)
    store = tmp_path / "tokens.db"
    other = tmp_path / "other.db"
    tokenctl(store, "import", tmp_path / "old.csv")
    tokenctl(other, "import", tmp_path / "new.csv")
    responder = start_responder(store_path=store)
    with verified_load(responder, asked, old) as load:
        load.set_phase("moved", {n: {old[n], new[n]} for n in asked})
        time.sleep(0.05)
        os.rename(other, store)
        tokenctl(store, "put", asked[0], "edited-after-restore")
        time.sleep(0.3)
        allowed = {n: {new[n]} for n in asked}
        allowed[asked[0]] = {"edited-after-restore"}
        load.set_phase("after", allowed)
        time.sleep(0.5)
    assert load.answered("after") > 50, dict(load.counts)


def test_truncated_or_deleted_store_answers_store_unavailable_then_recovers(tmp_path, start_responder):
    """A store truncated to nothing, or deleted with nothing in its place, is answered with the
    JSON 500 store_unavailable, never a 404 for a known number; a store put back at the path is
    served again without a SIGHUP."""
    asked, old, _ = old_and_new(tmp_path, 23)
    store = tmp_path / "tokens.db"
    tokenctl(store, "import", tmp_path / "old.csv")
    backup = tmp_path / "backup.db"
    tokenctl(store, "backup", backup)
    responder = start_responder(store_path=store)
    with verified_load(responder, asked, old) as load:
        load.set_phase("truncating", unavailable_ok=True)
        time.sleep(0.05)
        os.truncate(store, 0)
        time.sleep(0.2)
        load.set_phase("truncated", unavailable_ok=True)
        time.sleep(0.3)
        load.set_phase("deleting", unavailable_ok=True)
        for suffix in ("", "-wal", "-shm"):
            try:
                os.unlink(f"{store}{suffix}")
            except FileNotFoundError:
                pass
        time.sleep(0.2)
        load.set_phase("deleted", unavailable_ok=True)
        time.sleep(0.3)
        load.set_phase("restoring", unavailable_ok=True)
        subprocess.run(["cp", str(backup), f"{store}.tmp"], check=True)
        os.rename(f"{store}.tmp", store)
        time.sleep(0.2)
        load.set_phase("restored")
        time.sleep(0.5)
    for phase in ("truncated", "deleted"):
        assert load.answered(phase, "unavailable") > 10, dict(load.counts)
    assert load.answered("restored", "ok") > 50, dict(load.counts)


def test_minting_is_bounded_warns_once_and_leaves_the_log_empty(tmp_path, start_responder):
    """--unknown mint under load from unknown numbers: at most --mint-max-rows new rows, then
    404 unknown_number with one warning; the -wal file is emptied once the load stops. A mint
    key readable by every user is warned about at start-up."""
    store = tmp_path / "mint.db"
    run_tokenctl("put", "13800138000", "known-1", store=store)
    key = tmp_path / "mint.key"
    key.write_bytes(os.urandom(32))
    os.chmod(key, 0o644)
    limit = 300
    responder = start_responder("--unknown", "mint", "--mint-key-file", key, "--mint-max-rows", str(limit),
                                store_path=store)
    unknown = [f"139{n:08d}" for n in range(1, 601)]
    outcomes: Counter = Counter()
    lock = threading.Lock()

    def client(part):
        with FastCGIConnection(responder.socket_path, timeout=5) as conn:
            for number in part:
                answer = conn.request(udesk_body(number))
                body = answer.json()
                outcome = ("minted" if answer.status == 200 and body["customer_token"].startswith("mt1_")
                           else f"{answer.status} {body.get('error')}")
                with lock:
                    outcomes[outcome] += 1

    threads = [threading.Thread(target=client, args=(unknown[i::4],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    # A mint whose row could not be recorded in time (another writer held the lock) still
    # answers with the derived token, is logged, and does not count against the limit.
    wait_until(lambda: responder.log_path.read_text().count(" request\n") >= len(unknown), timeout=5,
               what="every request's log line")
    unrecorded = responder.log_path.read_text().count("minted token not recorded")
    assert unrecorded < 100, unrecorded
    assert outcomes == {"minted": limit + unrecorded, "404 unknown_number": len(unknown) - limit - unrecorded}, outcomes
    with FastCGIConnection(responder.socket_path) as conn:
        assert conn.request(udesk_body("13800138000")).json() == {"customer_token": "known-1"}
        assert conn.request(udesk_body(unknown[0])).status == 200  # minted before: still found
    wal = Path(f"{store}-wal")
    wait_until(lambda: wal.stat().st_size == 0, timeout=5, what="the -wal file emptied after minting")
    with sqlite3.connect(f"file:{store}?mode=ro", uri=True) as db:
        assert db.execute("SELECT count(*), sum(minted) FROM tokens").fetchone() == (1 + limit, limit)
    log = responder.log_path.read_text()
    assert log.count("minting stopped") == 1, log[-2000:]
    assert "mint key file" in log and "readable by every user" in log


def test_a_store_recreated_by_import_is_never_served_half_made(tmp_path, start_responder):
    """The store deleted, then created again by `tokenctl import` while the responder serves:
    until the import commits there is no token store at the path (500 store_unavailable); the
    schema never shows up before the rows, which answered known numbers with 404 (or, with
    --unknown mint, minted tokens in place of their real ones)."""
    asked, old, new = old_and_new(tmp_path, 24)
    store = tmp_path / "tokens.db"
    tokenctl(store, "import", tmp_path / "old.csv")
    responder = start_responder(store_path=store)
    with verified_load(responder, asked, old) as load:
        load.set_phase("deleted", unavailable_ok=True)
        time.sleep(0.05)
        for suffix in ("", "-wal", "-shm"):
            os.unlink(f"{store}{suffix}")
        time.sleep(0.2)
        load.set_phase("importing", {n: {new[n]} for n in asked}, unavailable_ok=True)
        tokenctl(store, "import", tmp_path / "new.csv")
        time.sleep(0.2)
        load.set_phase("after", {n: {new[n]} for n in asked})
        time.sleep(0.5)
    assert load.answered("importing", "unavailable") > 10, dict(load.counts)
    assert load.answered("after", "ok") > 50, dict(load.counts)
