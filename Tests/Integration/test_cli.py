"""Command-line surface used by operators and by the deployment: tokenctl import/get, the
responder's flags and their TOKEN_* environment fallbacks, live re-import."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import time
from pathlib import Path

import pytest

from contract import ERRORS, TOKENS
from udesk_it import REPO, FastCGIConnection, Responder, bin_dir, run_tokenctl, udesk_body, wait_until


def test_tokenctl_get_prints_token_alone(store):
    for written, token in list(TOKENS.items())[:6] + [("15900001234", TOKENS["15900001234"])]:
        cp = run_tokenctl("get", written, store=store)
        assert cp.stdout.decode().rstrip("\n") == token


def test_tokenctl_get_other_written_forms(store):
    assert run_tokenctl("get", "+86 138 0013 8000", store=store).stdout.strip() == b"cust-0001"
    assert run_tokenctl("get", "01012345678", store=store).stdout.strip() == b"cust-beijing-landline"


def test_tokenctl_get_absent_exits_1(store):
    cp = run_tokenctl("get", "13912345678", store=store, check=False)
    assert cp.returncode == 1
    assert cp.stdout == b""


def test_tokenctl_store_from_env(store):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOKEN_")}
    env["TOKEN_STORE"] = str(store)
    cp = subprocess.run([str(bin_dir() / "tokenctl"), "get", "13800138000"], env=env,
                        capture_output=True, timeout=30, stdin=subprocess.DEVNULL)
    assert (cp.returncode, cp.stdout.strip()) == (0, b"cust-0001"), cp.stderr


def test_import_is_seen_by_running_responder(binaries, tmp_path, start_responder):
    """tokenctl import while the responder serves: the next request sees the new rows."""
    db = tmp_path / "live.db"
    first = tmp_path / "first.csv"
    first.write_text("number,customer_token\n13800138000,before\n")
    run_tokenctl("import", first, store=db)
    r = start_responder(store_path=db)
    with FastCGIConnection(r.socket_path) as conn:
        assert conn.request(udesk_body(13800138000)).json() == {"customer_token": "before"}
        second = tmp_path / "second.csv"
        second.write_text("number,customer_token\n+86 138 0013 8000,after\n13700000001,new-row\n")
        run_tokenctl("import", second, store=db)
        assert conn.request(udesk_body(13800138000)).json() == {"customer_token": "after"}
        assert conn.request(udesk_body("13700000001")).json() == {"customer_token": "new-row"}


def test_import_with_a_bad_row_changes_nothing(binaries, tmp_path):
    db = tmp_path / "atomic.db"
    good = tmp_path / "good.csv"
    good.write_text("number,customer_token\n13800138000,kept\n")
    run_tokenctl("import", good, store=db)
    bad = tmp_path / "bad.csv"
    bad.write_text("number,customer_token\n13800138000,changed\nnot a number,x\n")
    cp = run_tokenctl("import", bad, store=db, check=False)
    assert cp.returncode != 0
    assert run_tokenctl("get", "13800138000", store=db).stdout.strip() == b"kept"


def test_max_body_flag(start_responder):
    r = start_responder("--max-body", "100")
    head = b'{"number": "13800138000", "x": "'
    exact = head + b"y" * (100 - len(head) - 2) + b'"}'
    with FastCGIConnection(r.socket_path) as conn:
        assert conn.request(exact).status == 200
        resp = conn.request(exact[:-2] + b'y"}')
        assert (resp.status, resp.json()["error"]) == ERRORS["body_too_large"]


def test_environment_fallbacks(binaries, store, workdir, socket_path):
    """TOKEN_STORE, TOKEN_SOCKET, TOKEN_SOCKET_MODE, TOKEN_THREADS, TOKEN_UNKNOWN, TOKEN_MAX_BODY."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOKEN_")}
    env.update(TOKEN_STORE=str(store), TOKEN_SOCKET=str(socket_path), TOKEN_SOCKET_MODE="0600",
               TOKEN_THREADS="3", TOKEN_UNKNOWN="empty", TOKEN_MAX_BODY="200")
    # nothing on the command line: everything from the environment
    r = Responder(store, socket_path, workdir / "responder-env.log", env=env, flags=False).start()
    code = None
    try:
        assert stat.S_IMODE(os.stat(socket_path).st_mode) == 0o600
        with FastCGIConnection(socket_path) as conn:
            assert conn.request(udesk_body(13800138000)).json() == {"customer_token": "cust-0001"}
            assert conn.request(udesk_body("13912345678")).json() == {"customer_token": ""}
            big = conn.request(b'{"number": "13800138000", "x": "' + b"z" * 200 + b'"}')
            assert big.status == ERRORS["body_too_large"][0]
    finally:
        code = r.stop()
    assert code == 0


def test_socket_mode_flag(start_responder, socket_path):
    r = start_responder("--socket-mode", "0640", socket=socket_path)
    assert stat.S_IMODE(os.stat(r.socket_path).st_mode) == 0o640


def test_default_socket_mode_is_0660(start_responder):
    r = start_responder()
    assert stat.S_IMODE(os.stat(r.socket_path).st_mode) == 0o660


@pytest.mark.parametrize("args", [
    ["--threads", "0"], ["--unknown", "maybe"], ["--max-body", "-1"], ["--socket-mode", "999"],
    ["--scheduling", "fast"],
], ids=lambda a: " ".join(a))
def test_invalid_flags_exit_nonzero_quickly(binaries, store, socket_path, args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOKEN_")}
    cp = subprocess.run([str(bin_dir() / "token-responder"), "--store", str(store), "--socket", str(socket_path),
                         *args], env=env, capture_output=True, timeout=10, stdin=subprocess.DEVNULL)
    assert cp.returncode != 0
    assert cp.stderr, "no explanation on stderr"
    assert not socket_path.exists()


@pytest.mark.parametrize("variable,value,message", [
    ("TOKEN_THREADS", "0", "--threads / TOKEN_THREADS must be from 1 to 1024, got '0'"),
    ("TOKEN_UNKNOWN", "maybe", "--unknown / TOKEN_UNKNOWN must be one of not-found, empty, mint, got 'maybe'"),
    ("TOKEN_SCHEDULING", "fast", "--scheduling / TOKEN_SCHEDULING must be one of batch, normal, got 'fast'"),
    ("TOKEN_LOG_LEVEL", "loud", "--log-level / TOKEN_LOG_LEVEL must be one of trace, debug, info, notice, warning, error, critical, got 'loud'"),
    ("TOKEN_COUNTRY_CODE", "1000", "--country-code / TOKEN_COUNTRY_CODE must be a calling code like 86, got '1000'"),
])
def test_invalid_environment_values_name_the_option_and_the_variable(binaries, store, socket_path, variable, value, message):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOKEN_")}
    env[variable] = value
    cp = subprocess.run([str(bin_dir() / "token-responder"), "--store", str(store), "--socket", str(socket_path)],
                        env=env, capture_output=True, timeout=10, stdin=subprocess.DEVNULL)
    assert cp.returncode != 0
    assert message in cp.stderr.decode(), cp.stderr
    assert not socket_path.exists()


def test_tokenctl_country_code_from_environment_is_checked(store):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOKEN_")}
    cp = subprocess.run([str(bin_dir() / "tokenctl"), "--store", str(store), "get", "13800138000"],
                        env={**env, "TOKEN_COUNTRY_CODE": "x"}, capture_output=True, timeout=10)
    assert cp.returncode != 0 and cp.returncode != 1
    assert "--country-code / TOKEN_COUNTRY_CODE must be a calling code like 86, got 'x'" in cp.stderr.decode()


def test_both_executables_report_one_version():
    versions = [subprocess.run([str(bin_dir() / name), "--version"], capture_output=True, timeout=10)
                for name in ("token-responder", "tokenctl")]
    assert all(v.returncode == 0 for v in versions)
    texts = {v.stdout.decode().strip() for v in versions}
    assert len(texts) == 1 and re.fullmatch(r"\d+\.\d+\.\d+\S*", texts.pop())


SCHED_OTHER, SCHED_BATCH = 0, 3


def thread_policies(pid: int) -> list[int]:
    """The scheduling policy of each of the process's threads (field 41 of /proc/PID/task/TID/stat,
    what `ps -L -o cls` shows as TS or B)."""
    policies = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        fields = task.joinpath("stat").read_text().rsplit(")", 1)[1].split()
        policies.append(int(fields[38]))  # field 41 counts pid and comm, cut off above
    return policies


def test_workers_run_under_sched_batch_by_default(start_responder):
    r = start_responder("--threads", "3")
    policies = wait_until(lambda: (p := thread_policies(r.proc.pid)).count(SCHED_BATCH) == 3 and p,
                          5, what="three SCHED_BATCH worker threads")
    # the main, signal and log threads keep the default
    assert policies.count(SCHED_OTHER) == len(policies) - 3 >= 1
    with FastCGIConnection(r.socket_path) as conn:
        assert conn.request(udesk_body(13800138000)).json() == {"customer_token": "cust-0001"}


@pytest.mark.parametrize("how", ["flag", "env"])
def test_scheduling_normal_leaves_every_thread_default(start_responder, how):
    if how == "flag":
        r = start_responder("--threads", "3", "--scheduling", "normal")
    else:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TOKEN_")}
        r = start_responder("--threads", "3", env={**env, "TOKEN_SCHEDULING": "normal"})
    with FastCGIConnection(r.socket_path) as conn:
        assert conn.request(udesk_body(13800138000)).json() == {"customer_token": "cust-0001"}
    # main, log writer, three workers, signal thread; give the workers time to have switched
    wait_until(lambda: len(thread_policies(r.proc.pid)) == 6, 5, what="all six threads")
    time.sleep(0.3)
    assert thread_policies(r.proc.pid) == [SCHED_OTHER] * 6


def test_environment_variables_are_documented_where_operators_look(binaries):
    """Every TOKEN_* variable --help names is in the README's list, and the settings file the
    packages install names no variable the responder does not read."""
    cp = subprocess.run([str(bin_dir() / "token-responder"), "--help"], capture_output=True, timeout=10)
    in_help = set(re.findall(r"env:\s+(TOKEN_[A-Z_]+)", cp.stdout.decode()))
    assert {"TOKEN_STORE", "TOKEN_SCHEDULING", "TOKEN_MINT_KEY_FILE"} <= in_help
    readme = (REPO / "README.md").read_text()
    paragraph = readme[readme.index("Every option has an environment fallback"):]
    paragraph = paragraph[:paragraph.index("\n\n")]
    assert set(re.findall(r"`(TOKEN_[A-Z_]+)`", paragraph)) == in_help
    settings = (REPO / "deploy" / "default" / "token-responder").read_text()
    assert set(re.findall(r"^#?(TOKEN_[A-Z_]+)=", settings, re.M)) <= in_help
