"""token-responder as a plain CGI program: one request from the environment and stdin (which is
a pipe or a regular file, not a socket), the answer on stdout, exit status 0."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from contract import ERRORS, JSON_CONTENT_TYPE
from udesk_it import ENDPOINT, UDESK_CONTENT_TYPE, bin_dir, parse_cgi, udesk_body


def cgi_env(store, body: bytes | None, method="POST", content_type=UDESK_CONTENT_TYPE, query=""):
    """A clean CGI/1.1 environment, as a web server would set it (no TOKEN_* besides the store)."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "GATEWAY_INTERFACE": "CGI/1.1",
        "REQUEST_METHOD": method,
        "QUERY_STRING": query,
        "SCRIPT_NAME": ENDPOINT,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "443",
        "REMOTE_ADDR": "127.0.0.1",
        "TOKEN_STORE": str(store),
    }
    if content_type is not None:
        env["CONTENT_TYPE"] = content_type
    if body is not None:
        env["CONTENT_LENGTH"] = str(len(body))
    return env


def run_cgi(store, body: bytes | None, stdin_file=None, **env_kw):
    """Runs token-responder with no arguments; stdin is a pipe carrying `body` (or `stdin_file`).
    Returns (exit status, http status, headers, body, stderr)."""
    cmd = [str(bin_dir() / "token-responder")]
    env = cgi_env(store, body, **env_kw)
    if stdin_file is not None:
        cp = subprocess.run(cmd, env=env, stdin=stdin_file, capture_output=True, timeout=10)
    else:
        cp = subprocess.run(cmd, env=env, input=body or b"", capture_output=True, timeout=10)
    assert cp.stdout, f"no output; exit {cp.returncode}; stderr: {cp.stderr.decode(errors='replace')}"
    assert cp.stdout.startswith(b"Status: "), f"CGI output must start with a Status line: {cp.stdout[:200]!r}"
    status, headers, resp_body = parse_cgi(cp.stdout)
    return cp.returncode, status, headers, resp_body, cp.stderr


def check_error(result, error_class, number=None):
    code, status, headers, body, stderr = result
    want_status, want_code = ERRORS[error_class]
    assert code == 0, f"exit status {code}; stderr: {stderr!r}"
    assert status == want_status, (status, body)
    assert headers.get("content-type") == JSON_CONTENT_TYPE
    doc = json.loads(body)
    assert doc["error"] == want_code and doc["message"], doc
    if number:
        assert number.encode() not in body


@pytest.fixture
def cgi_store(binaries, store):
    return store


def test_cgi_success(cgi_store):
    code, status, headers, body, stderr = run_cgi(cgi_store, udesk_body(13800138000))
    assert code == 0, stderr
    assert status == 200
    assert body == b'{"customer_token":"cust-0001"}'
    assert headers["content-type"] == JSON_CONTENT_TYPE
    assert headers["cache-control"] == "no-store"
    assert headers.get("content-length") == str(len(body))


def test_cgi_status_line_format(cgi_store):
    cp = subprocess.run([str(bin_dir() / "token-responder")], env=cgi_env(cgi_store, udesk_body("13800138000")),
                        input=udesk_body("13800138000"), capture_output=True, timeout=10)
    assert cp.stdout.startswith(b"Status: 200 OK\r\n"), cp.stdout[:100]


def test_cgi_success_string_number(cgi_store):
    code, status, _, body, _ = run_cgi(cgi_store, udesk_body("+86 138 0013 8000"))
    assert (code, status, json.loads(body)) == (0, 200, {"customer_token": "cust-0001"})


def test_cgi_unknown(cgi_store):
    check_error(run_cgi(cgi_store, udesk_body("13912345678")), "unknown_number", "13912345678")


def test_cgi_405(cgi_store):
    result = run_cgi(cgi_store, None, method="GET", content_type=None)
    check_error(result, "method_not_allowed")
    assert result[2].get("allow") == "POST"


def test_cgi_415(cgi_store):
    check_error(run_cgi(cgi_store, udesk_body(13800138000), content_type="text/plain"),
                "unsupported_media_type", "13800138000")


def test_cgi_bad_json(cgi_store):
    check_error(run_cgi(cgi_store, b'{"number": 13800138000'), "invalid_json", "13800138000")


def test_cgi_empty_body(cgi_store):
    check_error(run_cgi(cgi_store, b""), "empty_body")


def test_cgi_store_missing_is_500(binaries, workdir):
    missing = workdir / "no-such-dir" / "tokens.db"
    check_error(run_cgi(missing, udesk_body(13800138000)), "store_unavailable", "13800138000")


def test_cgi_store_missing_is_not_created(binaries, workdir):
    """The request path must open the store read-only: a missing store is not created."""
    missing = workdir / "absent-store.db"
    run_cgi(missing, udesk_body(13800138000))
    assert not missing.exists(), "answering a request created an (empty) store file"


def test_cgi_store_garbage_is_500(binaries, workdir):
    garbage = workdir / "garbage.db"
    garbage.write_bytes(b"definitely not SQLite\n" * 100)
    check_error(run_cgi(garbage, udesk_body(13800138000)), "store_unavailable", "13800138000")


def test_cgi_stdin_regular_file(cgi_store, tmp_path):
    body = udesk_body("013800138000")
    f = tmp_path / "body.json"
    f.write_bytes(body)
    with open(f, "rb") as fh:
        code, status, headers, resp, stderr = run_cgi(cgi_store, body, stdin_file=fh)
    assert code == 0, stderr
    assert status == 200
    assert resp == b'{"customer_token":"cust-0001"}'


def test_cgi_reads_only_content_length_bytes(cgi_store):
    """CONTENT_LENGTH bounds the body even if stdin carries more (a CGI server may not send EOF)."""
    body = udesk_body(13800138000)
    cmd = [str(bin_dir() / "token-responder")]
    cp = subprocess.run(cmd, env=cgi_env(cgi_store, body), input=body + b"GARBAGE AFTER THE BODY",
                        capture_output=True, timeout=10)
    status, _, resp = parse_cgi(cp.stdout)
    assert (cp.returncode, status, resp) == (0, 200, b'{"customer_token":"cust-0001"}')


@pytest.mark.parametrize("setting", [
    {"TOKEN_COUNTRY_CODE": "eighty-six"}, {"TOKEN_UNKNOWN": "maybe"}, {"TOKEN_STORE": ""},
    {"TOKEN_UNKNOWN": "mint", "TOKEN_MINT_KEY_FILE": "/nonexistent/mint.key"},
], ids=lambda s: ",".join(f"{k}={v}" for k, v in s.items()))
def test_cgi_bad_setting_is_server_misconfigured(cgi_store, setting):
    """A bad TOKEN_* variable is the host's configuration, not the store: 500 server_misconfigured,
    with the reason on stderr (the web server's error log)."""
    body = udesk_body(13800138000)
    env = {**cgi_env(cgi_store, body), **setting}
    cp = subprocess.run([str(bin_dir() / "token-responder")], env=env, input=body, capture_output=True, timeout=10)
    result = (cp.returncode, *parse_cgi(cp.stdout), cp.stderr)
    check_error(result, "server_misconfigured", "13800138000")
    assert b"TOKEN_" in cp.stderr or b"mint" in cp.stderr, cp.stderr
