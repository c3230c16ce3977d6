"""tokenctl under stress: `import --replace` killed with SIGKILL at random moments leaves the
store exactly as before or exactly as after, never in between; concurrent writers (two imports,
a put during an import) wait for each other instead of failing with "database is locked".

Binaries from $TOKEN_BIN_DIR. Every wait is bounded; the module runs in well under a minute.
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from udesk_it import bin_dir

BIG_ROWS = 300_000
KILL_TRIALS = 5
PROCESS_TIMEOUT = 60.0


def _env():
    return {k: v for k, v in os.environ.items() if not k.startswith("TOKEN_")}


def _command(store: Path, *args) -> list[str]:
    return [str(bin_dir() / "tokenctl"), "--store", str(store), *[str(a) for a in args]]


def ctl(store: Path, *args, timeout: float = PROCESS_TIMEOUT) -> subprocess.CompletedProcess:
    return subprocess.run(_command(store, *args), capture_output=True, timeout=timeout, env=_env(),
                          stdin=subprocess.DEVNULL)


def ok(store: Path, *args, timeout: float = PROCESS_TIMEOUT) -> bytes:
    cp = ctl(store, *args, timeout=timeout)
    assert cp.returncode == 0, f"tokenctl {args} exited {cp.returncode}: {cp.stderr.decode()}"
    assert b"locked" not in cp.stderr, cp.stderr
    return cp.stdout


def start(store: Path, *args, stdout=subprocess.DEVNULL) -> subprocess.Popen:
    return subprocess.Popen(_command(store, *args), stdin=subprocess.DEVNULL, stdout=stdout,
                            stderr=subprocess.PIPE, env=_env())


def finish(proc: subprocess.Popen, timeout: float = PROCESS_TIMEOUT) -> tuple[int, bytes]:
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate(timeout=5)
        raise AssertionError(f"tokenctl did not finish within {timeout}s")
    return proc.returncode, err


def export_digest(store: Path) -> str:
    return hashlib.sha256(ok(store, "export")).hexdigest()


def write_rows(path: Path, rows):
    with open(path, "w") as f:
        f.write("number,customer_token\n")
        for number, token in rows:
            f.write(f"{number},{token}\n")


def copy_store(src: Path, dst: Path):
    """Copies a store that no process has open (its WAL was checkpointed away on close)."""
    for suffix in ("", "-wal", "-shm"):
        p = Path(str(dst) + suffix)
        if p.exists():
            p.unlink()
    assert not Path(str(src) + "-wal").exists() or os.path.getsize(str(src) + "-wal") == 0
    shutil.copyfile(src, dst)


@pytest.fixture(scope="module")
def big_import(binaries, tmp_path_factory):
    """A known old store, a large replacement file, and the exports of both states.
    -> dict(old=store path, csv=file, old_digest, new_digest, duration)"""
    d = tmp_path_factory.mktemp("tokenctl-crash")
    old_csv = d / "old.csv"
    # 20k rows: half of them also in the new file with other tokens, half only here (removed by --replace)
    write_rows(old_csv, [(f"13{i:09d}", f"old-{i}") for i in range(0, 20_000)] +
               [(f"15{i:09d}", f"gone-{i}") for i in range(0, 20_000, 2)])
    old = d / "old.db"
    ok(old, "import", old_csv)
    new_csv = d / "new.csv"
    write_rows(new_csv, [(f"13{i:09d}", f"new-{i}") for i in range(BIG_ROWS)])

    after = d / "after.db"
    copy_store(old, after)
    t0 = time.monotonic()
    ok(after, "import", "--replace", new_csv)
    duration = time.monotonic() - t0
    info = dict(dir=d, old=old, csv=new_csv, old_digest=export_digest(old), new_digest=export_digest(after),
                duration=duration)
    assert info["old_digest"] != info["new_digest"]
    return info


def test_import_replace_killed_leaves_old_or_new_state(big_import):
    seed = int(os.environ.get("TOKENCTL_KILL_SEED", random.randrange(1 << 30)))
    rng = random.Random(seed)
    duration = big_import["duration"]
    outcomes = []
    for trial in range(KILL_TRIALS):
        store = big_import["dir"] / f"trial-{trial}.db"
        copy_store(big_import["old"], store)
        # one kill moment in each fifth of the import's duration
        delay = duration * (trial + rng.random()) / KILL_TRIALS
        proc = start(store, "import", "--replace", big_import["csv"])
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        code, err = finish(proc, timeout=10)
        assert code in (-signal.SIGKILL, 0), f"import exited {code}: {err.decode()}"

        verify = ctl(store, "verify")
        assert verify.returncode == 0 and verify.stdout == b"ok\n", \
            f"seed {seed} trial {trial}: verify after kill at {delay:.2f}s: {verify.stdout!r} {verify.stderr!r}"
        digest = export_digest(store)
        state = {big_import["old_digest"]: "old", big_import["new_digest"]: "new"}.get(digest)
        assert state is not None, (f"seed {seed} trial {trial}: store after SIGKILL at {delay:.2f}s "
                                   f"(import takes {duration:.2f}s) is neither the old nor the new state")
        if code == 0:
            assert state == "new"
        outcomes.append((round(delay, 2), "finished" if code == 0 else "killed", state))
    print(f"seed {seed}, import {duration:.2f}s, outcomes {outcomes}")
    assert any(o[1] == "killed" and o[2] == "old" for o in outcomes), \
        f"no kill landed inside the import's transaction: {outcomes} (seed {seed})"


def _wal_size(store: Path) -> int:
    try:
        return os.path.getsize(str(store) + "-wal")
    except FileNotFoundError:
        return -1


@pytest.mark.parametrize("moment", ["while-the-commit-writes-the-wal", "after-the-wal-stopped-growing"])
def test_import_replace_killed_during_commit(big_import, moment):
    """The commit itself is the dangerous moment: the transaction's pages go to the WAL in the
    last few tens of milliseconds (random kills rarely land there). Watch the WAL and kill while
    it grows, or once it has stopped growing (commit record written, checkpoint running)."""
    store = big_import["dir"] / f"commit-{moment}.db"
    copy_store(big_import["old"], store)
    proc = start(store, "import", "--replace", big_import["csv"])
    deadline = time.monotonic() + PROCESS_TIMEOUT
    sizes = []
    killed = False
    while proc.poll() is None and time.monotonic() < deadline:
        size = _wal_size(store)
        sizes.append(size)
        if moment.startswith("while") and size >= 2 << 20:
            killed = True
        elif moment.startswith("after") and size >= 2 << 20 and sizes[-3:] == [size] * 3:
            killed = True
        if killed:
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.0005)
    code, err = finish(proc, timeout=10)
    assert code in (-signal.SIGKILL, 0), err.decode()
    verify = ctl(store, "verify")
    assert (verify.returncode, verify.stdout) == (0, b"ok\n"), verify.stdout + verify.stderr
    state = {big_import["old_digest"]: "old", big_import["new_digest"]: "new"}.get(export_digest(store))
    assert state is not None, f"killed {moment} (WAL at {sizes[-1] if sizes else '?'} bytes): neither old nor new state"
    if code == 0:
        assert state == "new"
    print(f"{moment}: {'killed' if code else 'finished'} with the WAL at {sizes[-1] if sizes else '?'} bytes -> {state}")


def test_two_imports_at_once_both_commit(big_import):
    d = big_import["dir"]
    store = d / "concurrent.db"
    copy_store(big_import["old"], store)
    a, b = d / "a.csv", d / "b.csv"
    write_rows(a, [(f"17{i:09d}", f"a-{i}") for i in range(100_000)])
    write_rows(b, [(f"18{i:09d}", f"b-{i}") for i in range(100_000)])
    first = start(store, "import", a, stdout=subprocess.PIPE)
    second = start(store, "import", b, stdout=subprocess.PIPE)
    (code_a, err_a), (code_b, err_b) = finish(first), finish(second)
    assert (code_a, code_b) == (0, 0), f"{err_a.decode()}\n{err_b.decode()}"
    assert b"locked" not in err_a + err_b
    exported = ok(store, "export").decode().splitlines()
    rows = set(exported[1:])
    assert len(rows) == len(exported) - 1
    assert {f"+8617{i:09d},a-{i}" for i in range(100_000)} <= rows
    assert {f"+8618{i:09d},b-{i}" for i in range(100_000)} <= rows
    assert f"+8613{0:09d},old-0" in rows  # a merge keeps what was there
    assert len(rows) == 30_000 + 200_000
    assert ok(store, "verify") == b"ok\n"


def test_put_during_an_import_waits_and_succeeds(big_import):
    d = big_import["dir"]
    store = d / "put-during.db"
    copy_store(big_import["old"], store)
    importer = start(store, "import", big_import["csv"])
    # well inside the import's transaction (it holds the write lock from its first rows to commit)
    time.sleep(big_import["duration"] * 0.4)
    assert importer.poll() is None, "the import finished before the put could start: make the file larger"
    t0 = time.monotonic()
    put = ctl(store, "put", "19912345678", "put-during-import", timeout=PROCESS_TIMEOUT)
    waited = time.monotonic() - t0
    # The put committed after the import did, so the import's rows are already visible now.
    imported_row = ctl(store, "get", f"13{BIG_ROWS - 1:09d}")
    code, err = finish(importer)
    assert code == 0, err.decode()
    assert put.returncode == 0, put.stderr.decode()
    assert b"locked" not in put.stderr
    assert put.stdout == b"added\n"
    assert imported_row.stdout == f"new-{BIG_ROWS - 1}\n".encode(), \
        f"put returned after {waited:.2f}s without waiting for the running import"
    assert ok(store, "get", "19912345678") == b"put-during-import\n"
    assert ok(store, "get", "13000000005") == b"new-5\n"
