"""The HTTP contract, end to end: HTTPS client -> real nginx (shipped config) -> token-responder.

Expected statuses and error codes live in ONE table, contract.ERRORS; the cases below only name
an error class from it.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time

import pytest

from contract import ALLOW_HEADER, APP_MAX_BODY, ERRORS, JSON_CONTENT_TYPE, NGINX_MAX_BODY, TOKENS, UNKNOWN_NUMBER
from udesk_it import (FIXTURE_CSV, ENDPOINT, UDESK_CONTENT_TYPE, Nginx, Responder, ResponderExited, ScriptedBackend,
                      run_tokenctl, udesk_body)


def assert_success(status, headers, body, token):
    assert status == 200, f"expected 200, got {status}: {body!r}"
    assert json.loads(body) == {"customer_token": token}
    assert headers.get("content-type") == JSON_CONTENT_TYPE
    assert headers.get("cache-control") == "no-store"
    assert headers.get("content-length") == str(len(body)), "Content-Length must be present and right"


def assert_error(status, headers, body, error_class, sent_number=None):
    want_status, want_code = ERRORS[error_class]
    assert status == want_status, f"expected {want_status} {want_code}, got {status}: {body!r}"
    assert headers.get("content-type") == JSON_CONTENT_TYPE, headers
    doc = json.loads(body)
    assert set(doc) == {"error", "message"}, doc
    assert doc["error"] == want_code, doc
    assert isinstance(doc["message"], str) and doc["message"], doc
    if sent_number:
        digits = "".join(c for c in str(sent_number) if c.isdigit())
        assert str(sent_number) not in body.decode("utf-8", "replace")
        if len(digits) >= 6:
            assert digits not in body.decode("utf-8", "replace"), "error body leaks the number sent"


# --------------------------------------------------------------------------------------------
# Success


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def nginx(request, nginx, pg_primary, tls, tmp_path_factory, nginx_binary):
    """The contract is the same whichever engine holds the store: every test taking `nginx` runs
    once against the session's SQLite responder and once against a responder on a PostgreSQL
    database holding the same fixture rows."""
    if request.param == "sqlite":
        yield nginx
        return
    folder = tmp_path_factory.mktemp("http-pg")
    database = "http_contract"
    pg_primary.create_database(database, owner="udesk")
    uri = pg_primary.uri(database)
    run_tokenctl("import", FIXTURE_CSV, store=uri)
    responder = Responder(uri, folder / "token.sock", folder / "responder.log").start()
    server = None
    try:
        server = Nginx(folder / "nginx", responder.socket_path, *tls).render().start()
        yield server
    finally:
        if server:
            server.stop()
        responder.stop()
        pg_primary.drop_database(database)


SUCCESS_FORMS = [
    # the number as Udesk sends it: a JSON integer ...
    (13800138000, "cust-0001"),
    (18888888888, "cust-udesk-example"),
    # ... or a JSON string, in any written form
    ("13800138000", "cust-0001"),
    ("+86 138 0013 8000", "cust-0001"),
    ("+8613800138000", "cust-0001"),
    ("+86-138-0013-8000", "cust-0001"),
    ("013800138000", "cust-0001"),
    ("138 0013 8000", "cust-0001"),
    ("138-0013-8000", "cust-0001"),
    ("(+86) 138 0013 8000", "cust-0001"),
    ("0086 138 0013 8000", "cust-0001"),
    ("8613800138000", "cust-0001"),
    (8613800138000, "cust-0001"),
    ("13900001111", "cust-0002"),            # stored as "+86 139 0000 1111"
    ("13712345678", "cust-0003"),            # stored as "+86-137-1234-5678"
    ("13612345678", "cust-0004"),            # stored as "013612345678"
    ("+86 135 0000 2222", "cust-0005"),      # stored as "135 0000 2222"
    ("01012345678", "cust-beijing-landline"),
    ("010 1234 5678", "cust-beijing-landline"),
    ("+86 10 1234 5678", "cust-beijing-landline"),
    ("010-12345678转8001", "cust-beijing-landline"),   # an extension does not change the customer
    ("010 1234 5678 ext. 8001", "cust-beijing-landline"),
    ("075586001234", "cust-shenzhen-landline"),
    ("+86 755 8600 1234", "cust-shenzhen-landline"),
    ("+14155552671", "cust-us-sf"),
    ("+1-415-555-2671", "cust-us-sf"),
    ("+1 (415) 555-2671", "cust-us-sf"),
]


@pytest.mark.parametrize("number,token", SUCCESS_FORMS, ids=[repr(n) for n, _ in SUCCESS_FORMS])
def test_success_written_forms(nginx, number, token):
    assert_success(*nginx.post(udesk_body(number)), token)


@pytest.mark.parametrize("written,token", list(TOKENS.items()), ids=list(TOKENS))
def test_every_fixture_row_as_stored(nginx, written, token):
    """Every row of the fixture, queried in the form it was imported in (incl. JSON escaping of
    quotes, backslashes and non-ASCII tokens)."""
    assert_success(*nginx.post(udesk_body(written)), token)


def test_success_exact_body_and_headers(nginx):
    status, headers, body = nginx.post(b'{"timestamp": 1501124998, "number": 13800138000}')
    assert status == 200
    assert body == b'{"customer_token":"cust-0001"}'
    assert headers["content-type"] == JSON_CONTENT_TYPE
    assert headers["cache-control"] == "no-store"
    assert headers["content-length"] == str(len(body))
    assert "transfer-encoding" not in headers


@pytest.mark.parametrize("content_type", [
    "application/json",
    "application/json;charset=utf8",
    "application/json; charset=UTF-8",
    "application/json; charset=utf-8",
    "Application/JSON",
])
def test_json_content_types_accepted(nginx, content_type):
    assert_success(*nginx.post(udesk_body(13800138000), content_type=content_type), "cust-0001")


def test_timestamp_optional_and_extra_members_ignored(nginx):
    assert_success(*nginx.post(b'{"number": "13800138000"}'), "cust-0001")
    assert_success(*nginx.post(b'{"number": 13800138000, "timestamp": "1501124998", "agent": {"id": [1, 2]}}'),
                   "cust-0001")


def test_query_string_is_ignored(nginx):
    assert_success(*nginx.post(udesk_body(13800138000), path=ENDPOINT + "?source=udesk&x=1"), "cust-0001")


def test_unknown_number_is_404(nginx):
    status, headers, body = nginx.post(udesk_body(UNKNOWN_NUMBER))
    assert_error(status, headers, body, "unknown_number", UNKNOWN_NUMBER)


def test_unknown_number_with_unknown_empty(nginx_unknown_empty):
    status, headers, body = nginx_unknown_empty.post(udesk_body(UNKNOWN_NUMBER))
    assert_success(status, headers, body, "")
    assert body == b'{"customer_token":""}'
    # known numbers are unaffected
    assert_success(*nginx_unknown_empty.post(udesk_body(13800138000)), "cust-0001")


# --------------------------------------------------------------------------------------------
# Errors: (id, error class from contract.ERRORS, request kwargs, number sent or None)

N = "13800138000"  # a known number, so an error can only come from what is wrong around it
DEEP = b'{"number": 13800138000, "x": ' + b"[" * 100 + b"]" * 100 + b"}"

ERROR_CASES = [
    ("GET", "method_not_allowed", dict(body=None, method="GET"), None),
    ("PUT", "method_not_allowed", dict(body=udesk_body(N), method="PUT"), N),
    ("DELETE", "method_not_allowed", dict(body=None, method="DELETE"), None),
    ("PATCH", "method_not_allowed", dict(body=udesk_body(N), method="PATCH"), N),
    ("OPTIONS", "method_not_allowed", dict(body=None, method="OPTIONS"), None),
    ("no-content-type", "unsupported_media_type", dict(body=udesk_body(N), content_type=None), N),
    ("text/plain", "unsupported_media_type", dict(body=udesk_body(N), content_type="text/plain"), N),
    ("form-urlencoded", "unsupported_media_type",
     dict(body=udesk_body(N), content_type="application/x-www-form-urlencoded"), N),
    ("application/jsonx", "unsupported_media_type", dict(body=udesk_body(N), content_type="application/jsonx"), N),
    ("app-cap+1", "body_too_large",
     dict(body=b'{"number": "13800138000", "pad": "' + b"x" * APP_MAX_BODY + b'"}'), N),
    ("empty", "empty_body", dict(body=b""), None),
    ("not-json", "invalid_json", dict(body=b"number=13800138000"), N),
    ("truncated", "invalid_json", dict(body=b'{"number": 13800138000'), N),
    ("trailing-bytes", "invalid_json", dict(body=b'{"number": 13800138000} x'), N),
    ("two-objects", "invalid_json", dict(body=b'{"number": 13800138000}{}'), N),
    ("invalid-utf8", "invalid_json", dict(body=b'{"number": "13800138000", "x": "\xff\xfe"}'), N),
    ("top-level-array", "invalid_json", dict(body=b"[13800138000]"), N),
    ("top-level-string", "invalid_json", dict(body=b'"13800138000"'), N),
    ("top-level-number", "invalid_json", dict(body=b"13800138000"), N),
    ("too-deep", "invalid_json", dict(body=DEEP), N),
    ("single-quotes", "invalid_json", dict(body=b"{'number': 13800138000}"), N),
    ("number-twice", "invalid_field", dict(body=b'{"number": 13800138000, "number": "13900001111"}'), N),
    ("no-number", "missing_number", dict(body=b'{"timestamp": 1501124998}'), None),
    ("empty-object", "missing_number", dict(body=b"{}"), None),
    ("number-true", "invalid_field", dict(body=b'{"timestamp": 1501124998, "number": true}'), None),
    ("number-float", "invalid_field", dict(body=b'{"timestamp": 1501124998, "number": 1.5}'), None),
    ("number-array", "invalid_field", dict(body=b'{"timestamp": 1501124998, "number": [13800138000]}'), N),
    ("number-object", "invalid_field", dict(body=b'{"number": {"n": 13800138000}}'), N),
    ("number-negative", "invalid_field", dict(body=b'{"number": -13800138000}'), N),
    ("timestamp-abc", "invalid_field", dict(body=b'{"timestamp": "abc", "number": 13800138000}'), N),
    ("timestamp-object", "invalid_field", dict(body=b'{"timestamp": {}, "number": 13800138000}'), N),
    ("timestamp-float", "invalid_field", dict(body=b'{"timestamp": 1.5, "number": 13800138000}'), N),
    ("number-empty-string", "invalid_number", dict(body=b'{"timestamp": 1501124998, "number": ""}'), None),
    ("number-letters", "invalid_number", dict(body=b'{"timestamp": 1501124998, "number": "call me"}'), None),
    ("number-letters-digits", "invalid_number", dict(body=b'{"number": "abc13800138000"}'), "abc13800138000"),
    ("number-too-short", "invalid_number", dict(body=udesk_body("138")), None),
    ("number-30-digits", "invalid_number", dict(body=udesk_body("1" * 30)), "1" * 30),
    ("number-30-digit-int", "invalid_number", dict(body=b'{"number": ' + b"2" * 30 + b"}"), "2" * 30),
]


@pytest.mark.parametrize("error_class,kwargs,sent", [c[1:] for c in ERROR_CASES], ids=[c[0] for c in ERROR_CASES])
def test_error_answers(nginx, error_class, kwargs, sent):
    status, headers, body = nginx.post(**kwargs)
    assert_error(status, headers, body, error_class, sent)
    assert headers.get("cache-control") == "no-store"
    assert headers.get("content-length") == str(len(body))


def test_405_has_allow_header(nginx):
    for method in ("GET", "PUT"):
        status, headers, body = nginx.post(udesk_body(N) if method == "PUT" else None, method=method)
        assert status == ERRORS["method_not_allowed"][0]
        assert headers.get("allow") == ALLOW_HEADER


def test_head_is_405_without_body(nginx):
    status, headers, body = nginx.post(None, method="HEAD")
    assert status == ERRORS["method_not_allowed"][0]
    assert headers.get("allow") == ALLOW_HEADER
    assert body == b""


def test_app_cap_boundary(nginx):
    """A body of exactly --max-body bytes is still read; one byte more is 413 from the app."""
    head = b'{"number": "13800138000", "pad": "'
    exact = head + b"x" * (APP_MAX_BODY - len(head) - 2) + b'"}'
    assert len(exact) == APP_MAX_BODY
    assert_success(*nginx.post(exact), "cust-0001")
    over = exact[:-2] + b'x"}'
    assert_error(*nginx.post(over), "body_too_large", N)


def test_nginx_own_413_is_json(nginx):
    """Bodies beyond nginx's client_max_body_size get nginx's 413, in the same JSON shape."""
    big = b'{"number": "13800138000", "pad": "' + b"x" * (64 * 1024) + b'"}'
    status, headers, body = nginx.post(big)
    assert_error(status, headers, body, "nginx_body_too_large", N)
    assert headers.get("cache-control") == "no-store"


NGINX_413_MESSAGE = "request body is too large"  # the literal in nginx/udesk-token-location.conf


def test_moderately_large_body_gets_the_apps_413(nginx):
    """Between the app's cap and nginx's client_max_body_size, the answer is the application's
    own 413 (nginx passes the body through); beyond nginx's limit, nginx's."""
    pad = b"x" * (NGINX_MAX_BODY - 200)
    status, headers, body = nginx.post(b'{"number": "13800138000", "pad": "' + pad + b'"}')
    assert_error(status, headers, body, "body_too_large", N)
    assert json.loads(body)["message"] != NGINX_413_MESSAGE, "nginx answered, not the application"
    pad = b"x" * (NGINX_MAX_BODY + 1)
    status, headers, body = nginx.post(b'{"number": "13800138000", "pad": "' + pad + b'"}')
    assert_error(status, headers, body, "nginx_body_too_large", N)
    assert json.loads(body)["message"] == NGINX_413_MESSAGE


def test_error_bodies_never_echo_the_number(nginx):
    """Each error class, with a distinctive number in the body, must not echo it back."""
    n = "13345678901"
    cases = [
        dict(body=udesk_body(n), method="PUT"),
        dict(body=udesk_body(n), content_type="text/plain"),
        dict(body=udesk_body(n) + b" trailing"),
        dict(body=b'{"number": "' + n.encode() + b'", "timestamp": "abc"}'),
        dict(body=udesk_body(n + "x")),
        dict(body=udesk_body(n)),  # unknown
        dict(body=udesk_body(n + "0" * 20)),
    ]
    for kwargs in cases:
        status, _, body = nginx.post(**kwargs)
        assert status >= 400, (kwargs, status, body)
        assert n.encode() not in body, f"error body echoes the number: {body!r} for {kwargs}"


# --------------------------------------------------------------------------------------------
# Transport


def test_chunked_request_body(nginx):
    """A Transfer-Encoding: chunked body (no Content-Length) is de-chunked by nginx and served."""
    parts = [b'{"timestamp": 1501124998, ', b'"number": ', b'"+86 138 0013 8000"}']
    conn = nginx.https_connection()
    try:
        conn.request("POST", ENDPOINT, body=iter(parts),
                     headers={"Content-Type": UDESK_CONTENT_TYPE, "Transfer-Encoding": "chunked"},
                     encode_chunked=True)
        resp = conn.getresponse()
        body = resp.read()
        headers = {k.lower(): v for k, v in resp.getheaders()}
    finally:
        conn.close()
    assert_success(resp.status, headers, body, "cust-0001")


def test_many_requests_on_one_keepalive_connection(nginx):
    conn = nginx.https_connection()
    conn.auto_open = 0  # fail instead of silently reconnecting
    try:
        conn.connect()
        first_sock = conn.sock
        numbers = list(TOKENS.items())
        for i in range(60):
            written, token = numbers[i % len(numbers)]
            assert_success(*nginx.post(udesk_body(written), conn=conn), token)
            if i % 10 == 5:  # errors must not break the connection either
                assert_error(*nginx.post(udesk_body(UNKNOWN_NUMBER), conn=conn), "unknown_number")
            assert conn.sock is first_sock, f"connection was re-opened after request {i}"
    finally:
        conn.close()


def test_latency_within_udesk_budget(nginx):
    """Each answer, over a kept-alive HTTPS connection, well inside Udesk's 500 ms budget."""
    conn = nginx.https_connection()
    try:
        nginx.post(udesk_body(13800138000), conn=conn)  # TLS handshake out of the way
        worst = 0.0
        for _ in range(30):
            t0 = time.monotonic()
            status, _, _ = nginx.post(udesk_body(13800138000), conn=conn)
            worst = max(worst, time.monotonic() - t0)
            assert status == 200
    finally:
        conn.close()
    assert worst < 0.25, f"slowest request took {worst * 1000:.0f} ms"


def test_fresh_connection_within_budget(nginx):
    t0 = time.monotonic()
    assert_success(*nginx.post(udesk_body(13800138000)), "cust-0001")
    elapsed = time.monotonic() - t0
    assert elapsed < 0.5, f"new TLS connection + request took {elapsed * 1000:.0f} ms"


def test_http2_with_curl(nginx):
    """The HTTPS listener also speaks HTTP/2 (what curl and browsers negotiate)."""
    if shutil.which("curl") is None:
        pytest.skip("curl not installed")
    cp = subprocess.run(
        ["curl", "-sS", "--http2", "--max-time", "5", "--cacert", str(nginx.cert),
         "-o", "-", "-w", "\n%{http_version} %{http_code}",
         "-H", "Content-Type: " + UDESK_CONTENT_TYPE, "--data-binary", udesk_body(13800138000).decode(),
         f"https://127.0.0.1:{nginx.https_port}{ENDPOINT}"],
        capture_output=True, timeout=15, stdin=subprocess.DEVNULL)
    assert cp.returncode == 0, cp.stderr
    body, _, tail_line = cp.stdout.rpartition(b"\n")
    assert tail_line == b"2 200"
    assert body == b'{"customer_token":"cust-0001"}'


def test_plain_http_redirects_with_308(nginx):
    conn = nginx.http_connection()
    try:
        conn.request("POST", ENDPOINT + "?src=udesk&n=1", body=udesk_body(13800138000),
                     headers={"Content-Type": UDESK_CONTENT_TYPE})
        resp = conn.getresponse()
        resp.read()
    finally:
        conn.close()
    assert resp.status == 308
    location = resp.getheader("Location")
    assert location == f"https://127.0.0.1:{nginx.https_port}{ENDPOINT}?src=udesk&n=1"
    # following it (re-POSTing, as 308 requires) works
    path = location.split(str(nginx.https_port), 1)[1]
    assert_success(*nginx.post(udesk_body(13800138000), path=path), "cust-0001")


def test_plain_http_other_paths_redirect_too(nginx):
    conn = nginx.http_connection()
    try:
        conn.request("GET", "/anything?q=1")
        resp = conn.getresponse()
        resp.read()
    finally:
        conn.close()
    assert resp.status == 308
    assert resp.getheader("Location") == f"https://127.0.0.1:{nginx.https_port}/anything?q=1"


def test_other_https_paths_are_json_404(nginx):
    for path in ("/", "/udesk/customer_token/extra", "/udesk/customer_tokens", "/udesk/"):
        status, headers, body = nginx.post(udesk_body(N), path=path)
        assert_error(status, headers, body, "nginx_not_found", N)


def test_backend_down_is_json_502(nginx_no_backend):
    status, headers, body = nginx_no_backend.post(udesk_body(N))
    assert_error(status, headers, body, "nginx_backend_unavailable", N)


def test_backend_stalled_is_json_504(tls, workdir, nginx_binary, socket_path):
    """A backend that accepts but never answers: nginx gives up after fastcgi_read_timeout (2s)
    with a JSON 504, instead of holding Udesk's request."""
    stalled = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stalled.bind(str(socket_path))
    stalled.listen(16)  # connections queue in the backlog; nobody ever accepts or answers
    n = Nginx(workdir / "nginx-stalled", socket_path, *tls).render().start()
    try:
        t0 = time.monotonic()
        status, headers, body = n.post(udesk_body(N))
        elapsed = time.monotonic() - t0
    finally:
        n.stop()
        stalled.close()
    assert_error(status, headers, body, "nginx_backend_timeout", N)
    assert 1.5 < elapsed < 4.5, f"504 after {elapsed:.1f} s"


SCRIPTED_OK = b'{"customer_token":"scripted"}'


def scripted_answer(status_line: bytes, payload: bytes) -> bytes:
    return (b"Status: " + status_line + b"\r\nContent-Type: application/json; charset=utf-8\r\n"
            b"Cache-Control: no-store\r\nContent-Length: %d\r\n\r\n%s" % (len(payload), payload))


@pytest.fixture
def scripted(tls, workdir, nginx_binary, socket_path):
    """nginx (shipped config) in front of a scripted FastCGI backend: (nginx, backend, make)."""
    made = []

    def make(answer: bytes):
        backend = ScriptedBackend(socket_path, answer)
        n = Nginx(workdir / f"nginx-{socket_path.stem}", socket_path, *tls).render().start()
        made.append((n, backend))
        return n, backend

    yield make
    for n, backend in made:
        n.stop()
        backend.close()


def test_backend_errors_pass_through_unchanged(scripted):
    """fastcgi_intercept_errors off: a backend's own 500 (e.g. store_unavailable) reaches the
    client exactly as sent, not replaced by nginx's error_page 500.  (Scripted backend: the
    real responder refuses to start on a broken store.)"""
    payload = b'{"error":"store_unavailable","message":"scripted answer"}'
    n, _ = scripted(scripted_answer(b"500 Internal Server Error", payload))
    status, headers, body = n.post(udesk_body(N))
    assert (status, body) == (500, payload)
    assert_error(status, headers, body, "store_unavailable", N)


def test_nginx_reuses_backend_connections(scripted):
    """upstream keepalive + fastcgi_keep_conn on: ten client connections, one after another,
    reach the backend over ONE kept FastCGI connection, each request flagged FCGI_KEEP_CONN."""
    n, backend = scripted(scripted_answer(b"200 OK", SCRIPTED_OK))
    for _ in range(10):
        status, _, body = n.post(udesk_body(N))
        assert (status, body) == (200, SCRIPTED_OK)
    assert len(backend.requests) == 10
    assert all(keep for keep, _, _ in backend.requests), "nginx did not set FCGI_KEEP_CONN"
    assert backend.connections == 1, f"{backend.connections} FastCGI connections for 10 requests"


def test_what_nginx_passes_to_the_backend(scripted):
    n, backend = scripted(scripted_answer(b"200 OK", SCRIPTED_OK))
    body = udesk_body(N)
    n.post(body, path=ENDPOINT + "?a=1&b=2", headers={"Proxy": "http://evil.example:3128"})
    _, params, stdin = backend.requests[-1]
    assert stdin == body
    assert params["REQUEST_METHOD"] == "POST"
    assert params["CONTENT_TYPE"] == UDESK_CONTENT_TYPE
    assert params["CONTENT_LENGTH"] == str(len(body))
    assert params["QUERY_STRING"] == "a=1&b=2"
    assert params["GATEWAY_INTERFACE"] == "CGI/1.1"
    assert params["HTTPS"] == "on"
    assert params.get("HTTP_PROXY", "") == "", "httpoxy: the client's Proxy header reached the backend"
    # a chunked body arrives de-chunked, complete, with a CONTENT_LENGTH
    conn = n.https_connection()
    try:
        conn.request("POST", ENDPOINT, body=iter([body[:10], body[10:]]),
                     headers={"Content-Type": UDESK_CONTENT_TYPE, "Transfer-Encoding": "chunked"},
                     encode_chunked=True)
        conn.getresponse().read()
    finally:
        conn.close()
    _, params, stdin = backend.requests[-1]
    assert stdin == body
    assert params["CONTENT_LENGTH"] == str(len(body))


def test_store_unavailable_is_500(store, start_responder, tls, workdir, nginx_binary):
    """A store file that is not a database: the responder either refuses to start (fail-fast,
    non-zero exit, message naming the store -- what it does today) or answers 500
    store_unavailable.  (The 500 itself is asserted for every request in test_cgi.py.)"""
    broken = workdir / "not-a-database.db"
    broken.write_bytes(b"this is not an SQLite database\n" * 200)
    try:
        r = start_responder(store_path=broken)
    except ResponderExited as e:
        assert e.status != 0
        assert str(broken) in e.log or broken.name in e.log, e.log
        return
    n = Nginx(workdir / "nginx-broken", r.socket_path, *tls).render().start()
    try:
        status, headers, body = n.post(udesk_body(N))
    finally:
        n.stop()
    assert_error(status, headers, body, "store_unavailable", N)


def test_responder_restart_behind_nginx(store, start_responder, tls, workdir, nginx_binary, socket_path):
    """nginx keeps upstream connections alive; after the responder restarts, the next request
    must not fail (nginx notices the closed idle connections)."""
    r = start_responder(socket=socket_path)
    n = Nginx(workdir / "nginx-restart", socket_path, *tls).render().start()
    try:
        conn = n.https_connection()
        for _ in range(3):
            assert_success(*n.post(udesk_body(N), conn=conn), "cust-0001")
        assert r.stop() == 0
        r2 = start_responder(socket=socket_path)
        assert r2.proc.pid != r.proc.pid
        time.sleep(0.1)
        for _ in range(3):
            assert_success(*n.post(udesk_body(N), conn=conn), "cust-0001")
        conn.close()
    finally:
        n.stop()


def test_access_log_has_no_query_string_or_number(nginx):
    """The endpoint's access log (format udesk_token) never records the query string (it may
    carry ?key=SECRET) nor anything from the body."""
    nginx.post(udesk_body("13800138000"), path=ENDPOINT + "?key=s3cr3t-in-url")
    nginx.post(udesk_body("13912345678") + b"x", path=ENDPOINT + "?key=s3cr3t-in-url")
    nginx.post(b'{"number": "13800138000", "pad": "' + b"x" * (64 * 1024) + b'"}', path=ENDPOINT + "?key=s3cr3t-in-url")
    log = (nginx.prefix / "logs" / "udesk-token.access.log").read_text()
    lines = [line for line in log.splitlines() if ENDPOINT in line]
    assert len(lines) >= 3, log
    assert "s3cr3t" not in log
    assert "13800138000" not in log and "13912345678" not in log
    assert any('" 413 ' in line for line in lines), "nginx's own 413 is not in the endpoint's log"


def test_nginx_t_passes_on_rendered_config(nginx):
    cp = nginx.check()
    assert cp.returncode == 0, cp.stderr.decode()
    assert b"syntax is ok" in cp.stderr
