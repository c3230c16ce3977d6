"""The responder keeps answering while `tokenctl import --replace` rewrites the whole store:
no failed request, and every answer is the number's old token or its new one, never another
customer's. Several client threads (each its own kept FastCGI connection, as nginx's upstream
pool) ask for random numbers in a bounded loop for as long as the import runs.
"""

from __future__ import annotations

import random
import subprocess
import threading
import time

from udesk_it import FastCGIConnection, bin_dir, run_tokenctl, udesk_body, wait_until, write_csv

ROWS = 60_000
CLIENTS = 6
MAX_SECONDS = 60.0


def test_answers_are_old_or_new_during_import_replace(tmp_path, start_responder):
    rng = random.Random(7)
    numbers = [f"13{rng.randrange(10**9):09d}" for _ in range(ROWS)]
    numbers = list(dict.fromkeys(numbers))
    old = {n: f"old-{i}" for i, n in enumerate(numbers)}
    # The new file drops the last tenth, changes every other token, and adds new numbers.
    keep = numbers[: len(numbers) * 9 // 10]
    new = {n: (f"new-{i}" if i % 2 else old[n]) for i, n in enumerate(keep)}
    added = [f"158{rng.randrange(10**8):08d}" for _ in range(ROWS // 10)]  # 154… is not allocated
    new.update({n: f"added-{i}" for i, n in enumerate(added) if n not in old})
    store = tmp_path / "live.db"
    write_csv(tmp_path / "old.csv", old)
    write_csv(tmp_path / "new.csv", new)
    env = {"PATH": "/usr/bin:/bin"}
    subprocess.run([str(bin_dir() / "tokenctl"), "--store", str(store), "import", str(tmp_path / "old.csv")],
                   check=True, capture_output=True, timeout=MAX_SECONDS, env=env)
    responder = start_responder(store_path=store)

    asked = numbers + added
    failures: list[str] = []
    counts = {"old": 0, "new": 0, "unknown": 0}
    lock = threading.Lock()
    importing = threading.Event()
    importing.set()
    deadline = time.monotonic() + MAX_SECONDS

    def client(seed: int):
        local = random.Random(seed)
        with FastCGIConnection(responder.socket_path, timeout=5) as conn:
            while importing.is_set() and time.monotonic() < deadline:
                number = local.choice(asked)
                answer = conn.request(udesk_body(number))
                token = answer.json().get("customer_token") if answer.status == 200 else None
                with lock:
                    if answer.status == 200 and token in (old.get(number), new.get(number)):
                        counts["old" if token == old.get(number) and token != new.get(number) else "new"] += 1
                    elif answer.status == 404 and (number not in old or number not in new):
                        counts["unknown"] += 1
                    else:
                        failures.append(f"{number}: {answer.status} {answer.body[:80]!r}")

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for t in threads:
        t.start()
    time.sleep(0.3)
    started = time.monotonic()
    result = subprocess.run([str(bin_dir() / "tokenctl"), "--store", str(store), "import", "--replace",
                             str(tmp_path / "new.csv")], capture_output=True, timeout=MAX_SECONDS, env=env)
    time.sleep(0.3)  # keep asking a moment after the commit
    importing.clear()
    for t in threads:
        t.join(timeout=10)
    assert result.returncode == 0, result.stderr.decode()
    assert not failures, f"{len(failures)} wrong answers during the import, e.g. {failures[:5]}"
    total = sum(counts.values())
    assert total > 200, f"only {total} requests were answered in {time.monotonic() - started:.1f}s"
    assert counts["old"] > 0 and counts["new"] > 0, counts  # the load spanned the commit
    # After the commit the responder answers from the new file only.
    with FastCGIConnection(responder.socket_path) as conn:
        for number in rng.sample(asked, 200):
            answer = conn.request(udesk_body(number))
            if number in new:
                assert answer.status == 200 and answer.json()["customer_token"] == new[number], number
            else:
                assert answer.status == 404, number


def test_a_put_is_answered_within_a_quarter_second_under_continuous_load(tmp_path, start_responder):
    """Busy workers share one store snapshot across back-to-back requests; it is renewed at least
    every 20 ms and dropped whenever a worker runs out of work, so an edit shows up promptly
    even when the responder never goes idle. Every request line still reaches the log."""
    store = tmp_path / "busy.db"
    number = "13800138000"
    run_tokenctl("put", number, "before", store=store)
    responder = start_responder(store_path=store)
    answers: list[tuple[float, int, str | None]] = []
    lock = threading.Lock()
    stop = threading.Event()
    deadline = time.monotonic() + 20

    def client():
        with FastCGIConnection(responder.socket_path, timeout=5) as conn:
            while not stop.is_set() and time.monotonic() < deadline:
                asked_at = time.monotonic()
                answer = conn.request(udesk_body(number))
                token = answer.json().get("customer_token") if answer.status == 200 else None
                with lock:
                    answers.append((asked_at, answer.status, token))

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    put_started = time.monotonic()
    run_tokenctl("put", number, "after", store=store)
    put_done = time.monotonic()
    time.sleep(1.0)
    stop.set()
    for t in threads:
        t.join(timeout=10)

    assert all(status == 200 for _, status, _ in answers), {s for _, s, _ in answers}
    before = [t for t in answers if t[0] < put_started]
    late = [t for t in answers if t[0] > put_done + 0.25]
    assert len(before) > 50 and len(late) > 50, (len(before), len(late))
    assert {token for _, _, token in before} == {"before"}
    stale = [t for t in late if t[2] != "after"]
    assert not stale, f"{len(stale)} answers asked over 0.25 s after the put still had the old token"
    wait_until(lambda: responder.log_path.read_text().count(" request\n") >= len(answers), timeout=5,
               what=f"{len(answers)} request lines in the log")


def test_imports_under_continuous_load_leave_no_write_ahead_log(tmp_path, start_responder):
    """While the responder answers back to back, some lookup is always on the snapshot before a
    commit, so SQLite's automatic checkpoint never finishes and the -wal file would grow by
    every import. tokenctl waits for the readers to move on and empties it after each write."""
    rng = random.Random(11)
    numbers = list(dict.fromkeys(f"13{rng.randrange(10**9):09d}" for _ in range(20_000)))
    store = tmp_path / "wal.db"
    files = []
    for round_ in range(3):
        path = tmp_path / f"round{round_}.csv"
        write_csv(path, {n: f"r{round_}-{i}" for i, n in enumerate(numbers)})
        files.append(path)
    run_tokenctl("import", files[0], store=store)
    responder = start_responder(store_path=store)
    stop = threading.Event()
    answered = [0]
    deadline = time.monotonic() + MAX_SECONDS

    def client(seed: int):
        local = random.Random(seed)
        with FastCGIConnection(responder.socket_path, timeout=5) as conn:
            while not stop.is_set() and time.monotonic() < deadline:
                assert conn.request(udesk_body(local.choice(numbers))).status == 200
                answered[0] += 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for t in threads:
        t.start()
    wal = tmp_path / "wal.db-wal"
    sizes = []
    try:
        for path in files[1:] + files[:1]:
            time.sleep(0.2)
            run_tokenctl("import", "--replace", path, store=store)
            sizes.append(wal.stat().st_size if wal.exists() else 0)
            run_tokenctl("put", numbers[0], "edited", store=store)
            sizes.append(wal.stat().st_size if wal.exists() else 0)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=10)
    assert answered[0] > 100
    assert sizes == [0] * len(sizes), f"-wal bytes after each import and put: {sizes}"
