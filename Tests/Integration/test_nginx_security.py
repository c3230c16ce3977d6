"""nginx hardening, end to end over HTTPS with the shipped config: security headers on every
answer (each exactly once), no version disclosure, TLS versions and ciphers, the address
allow-list, the localhost-only metrics location, and how the health/metrics answers are
selected (TOKEN_ENDPOINT, which a client cannot set).
"""

from __future__ import annotations

import json
import re
import socket
import ssl
import warnings
from pathlib import Path

import pytest

from contract import ERRORS, JSON_CONTENT_TYPE, NGINX_FORBIDDEN_MESSAGE, SECURITY_HEADERS, UNKNOWN_NUMBER
from udesk_it import ENDPOINT, REPO, UDESK_CONTENT_TYPE, Nginx, ScriptedBackend, udesk_body

NGINX_DIR = REPO / "nginx"
N = "13800138000"
OTHER = ("127.0.0.2", 0)  # another loopback source address: not 127.0.0.1


def raw(nginx: Nginx, method="POST", path=ENDPOINT, body=None, content_type=UDESK_CONTENT_TYPE,
        headers=None, source_address=None):
    """One HTTPS request; returns (status, http.client.HTTPMessage, body) so that repeated
    header lines stay visible."""
    conn = nginx.https_connection(source_address=source_address)
    try:
        hdrs = dict(headers or {})
        if content_type is not None:
            hdrs["Content-Type"] = content_type
        conn.request(method, path, body=body, headers=hdrs)
        resp = conn.getresponse()
        return resp.status, resp.msg, resp.read()
    finally:
        conn.close()


def assert_hardened(status, msg, body, want_status):
    assert status == want_status, f"expected {want_status}, got {status}: {body[:300]!r}"
    for name, value in SECURITY_HEADERS.items():
        got = msg.get_all(name) or []
        assert got == [value], f"{name}: expected exactly [{value!r}], got {got} (status {status})"
    assert (msg.get_all("cache-control") or []) == ["no-store"], msg.get_all("cache-control")
    assert msg.get_all("server") == ["nginx"], f"server_tokens off: {msg.get_all('server')}"


@pytest.fixture(scope="module")
def other_source():
    s = socket.socket()
    try:
        s.bind(OTHER)
    except OSError as e:
        pytest.skip(f"cannot bind {OTHER[0]} here ({e})")
    finally:
        s.close()
    return OTHER


# --------------------------------------------------------------------------------------------
# Headers

HEADER_CASES = [
    # (id, request kwargs, expected status) -- success, the responder's errors, nginx's own
    ("200", dict(body=udesk_body(N)), 200),
    ("404-unknown", dict(body=udesk_body(UNKNOWN_NUMBER)), ERRORS["unknown_number"][0]),
    ("405-GET", dict(method="GET", content_type=None), ERRORS["method_not_allowed"][0]),
    ("415", dict(body=udesk_body(N), content_type="text/plain"), ERRORS["unsupported_media_type"][0]),
    ("400", dict(body=b"{"), ERRORS["invalid_json"][0]),
    ("413-nginx", dict(body=b'{"number": "1", "pad": "' + b"x" * 20000 + b'"}'), ERRORS["nginx_body_too_large"][0]),
    ("404-nginx", dict(path="/elsewhere", method="GET", content_type=None), ERRORS["nginx_not_found"][0]),
    ("health", dict(path="/udesk/health", method="GET", content_type=None), 200),
    ("metrics", dict(path="/udesk/metrics", method="GET", content_type=None), 200),
]


@pytest.mark.parametrize("kwargs,want", [c[1:] for c in HEADER_CASES], ids=[c[0] for c in HEADER_CASES])
def test_security_headers_once_on_every_answer(nginx, kwargs, want):
    assert_hardened(*raw(nginx, **kwargs), want)


def test_405_keeps_allow_header(nginx):
    status, msg, body = raw(nginx, method="PUT", body=udesk_body(N))
    assert_hardened(status, msg, body, 405)
    assert msg.get_all("allow") == ["POST"]
    assert json.loads(body)["error"] == "method_not_allowed", "limit_except would have made this a 403"


def test_security_headers_on_nginx_502(nginx_no_backend):
    status, msg, body = raw(nginx_no_backend, body=udesk_body(N))
    assert_hardened(status, msg, body, ERRORS["nginx_backend_unavailable"][0])
    assert json.loads(body)["error"] == "backend_unavailable"


def test_security_headers_on_nginx_403(nginx, other_source):
    status, msg, body = raw(nginx, method="GET", path="/udesk/metrics", content_type=None,
                            source_address=other_source)
    assert_hardened(status, msg, body, 403)
    assert json.loads(body) == {"error": "forbidden", "message": NGINX_FORBIDDEN_MESSAGE}


def test_security_headers_on_nginx_400_before_any_location(nginx):
    """A request nginx rejects before choosing a location gets the server-level headers."""
    ctx = ssl.create_default_context(cafile=str(nginx.cert))
    with socket.create_connection(("127.0.0.1", nginx.https_port), timeout=5) as s:
        with ctx.wrap_socket(s, server_hostname="localhost") as t:
            t.sendall(b"GET /udesk/health HTTP/1.1\r\n\r\n")  # HTTP/1.1 without Host: 400
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = t.recv(4096)
                if not chunk:
                    break
                data += chunk
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    assert head[0].startswith("HTTP/1.1 400 "), head
    fields = [tuple(x.strip() for x in line.split(":", 1)) for line in head[1:]]
    for name, value in SECURITY_HEADERS.items():
        assert [v for k, v in fields if k.lower() == name] == [value], (name, head)
    assert [v for k, v in fields if k.lower() == "server"] == ["nginx"], head


def test_plain_http_redirect_unchanged_and_anonymous(nginx):
    conn = nginx.http_connection()
    try:
        conn.request("POST", ENDPOINT, body=udesk_body(N), headers={"Content-Type": UDESK_CONTENT_TYPE})
        resp = conn.getresponse()
        resp.read()
    finally:
        conn.close()
    assert resp.status == 308
    assert resp.getheader("Location") == f"https://127.0.0.1:{nginx.https_port}{ENDPOINT}"
    assert resp.getheader("Server") == "nginx"
    assert resp.getheader("Strict-Transport-Security") is None, "HSTS over plain HTTP is meaningless"


# --------------------------------------------------------------------------------------------
# TLS


def tls_handshake(port: int, max_version=None, min_version=None, ciphers=None):
    """A handshake with no certificate check; returns (version, cipher) or raises ssl.SSLError."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # TLSVersion.TLSv1/TLSv1_1
        if ciphers:
            ctx.set_ciphers(ciphers)
        if min_version:
            ctx.minimum_version = min_version
        if max_version:
            ctx.maximum_version = max_version
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        with ctx.wrap_socket(s, server_hostname="localhost") as t:
            return t.version(), t.cipher()[0]


LOCAL_CANNOT_OFFER = ("NO_PROTOCOLS_AVAILABLE", "NO_CIPHERS_AVAILABLE", "NO_CIPHER_MATCH",
                      "UNSUPPORTED_PROTOCOL_VERSION")


def test_tls_1_1_refused(nginx):
    try:
        # SECLEVEL=0: OpenSSL 3 would otherwise refuse to offer TLS < 1.2 itself
        result = tls_handshake(nginx.https_port, max_version=ssl.TLSVersion.TLSv1_1,
                               min_version=ssl.TLSVersion.TLSv1, ciphers="DEFAULT:@SECLEVEL=0")
    except ssl.SSLError as e:
        if e.reason in LOCAL_CANNOT_OFFER and "alert" not in str(e).lower():
            pytest.skip(f"this OpenSSL cannot offer TLS 1.1 at all ({e.reason})")
        assert "alert protocol version" in str(e).lower() or e.reason in ("TLSV1_ALERT_PROTOCOL_VERSION",
                                                                          "UNSUPPORTED_PROTOCOL"), e
        return
    except ValueError as e:  # the ssl module itself cannot set these versions
        pytest.skip(f"cannot build a TLS 1.1 client here ({e})")
    pytest.fail(f"TLS 1.1 handshake succeeded: {result}")


def test_tls_1_2_and_1_3_accepted(nginx):
    assert tls_handshake(nginx.https_port, max_version=ssl.TLSVersion.TLSv1_2)[0] == "TLSv1.2"
    assert tls_handshake(nginx.https_port, min_version=ssl.TLSVersion.TLSv1_3)[0] == "TLSv1.3"
    version, cipher = tls_handshake(nginx.https_port, max_version=ssl.TLSVersion.TLSv1_2)
    assert cipher.startswith("ECDHE-") and ("GCM" in cipher or "CHACHA20" in cipher), cipher


@pytest.mark.parametrize("cipher", ["ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA384", "AES128-GCM-SHA256"])
def test_tls_1_2_weak_suites_refused(nginx, cipher):
    """CBC suites and suites without forward secrecy are not in the intermediate list."""
    try:
        got = tls_handshake(nginx.https_port, max_version=ssl.TLSVersion.TLSv1_2, ciphers=cipher)
    except ssl.SSLError as e:
        if e.reason == "NO_CIPHER_MATCH":
            pytest.skip(f"this OpenSSL does not know {cipher}")
        return
    pytest.fail(f"handshake with {cipher} succeeded: {got}")


# --------------------------------------------------------------------------------------------
# Which answer a location selects (TOKEN_ENDPOINT)


@pytest.fixture
def scripted_nginx(tls, workdir, nginx_binary, socket_path):
    backend = ScriptedBackend(socket_path, b"Status: 200 OK\r\nContent-Type: application/json; charset=utf-8\r\n"
                              b"Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n"
                              b"Content-Length: 2\r\n\r\n{}")
    n = Nginx(workdir / f"nginx-{socket_path.stem}", socket_path, *tls).render().start()
    try:
        yield n, backend
    finally:
        n.stop()
        backend.close()


def test_token_endpoint_param_is_set_by_location_only(scripted_nginx):
    n, backend = scripted_nginx
    spoof = {"Token-Endpoint": "metrics", "X-Token-Endpoint": "metrics"}
    status, msg, _ = raw(n, body=udesk_body(N), path=ENDPOINT + "?TOKEN_ENDPOINT=metrics&endpoint=metrics",
                         headers=spoof)
    assert status == 200
    assert msg.get_all("x-content-type-options") == ["nosniff"], "the backend's copy must be hidden"
    _, params, _ = backend.requests[-1]
    assert params.get("TOKEN_ENDPOINT") == "", params.get("TOKEN_ENDPOINT")
    assert params["HTTP_TOKEN_ENDPOINT"] == "metrics"  # a different name, which the responder ignores
    raw(n, method="GET", path="/udesk/health", content_type=None, headers=spoof)
    assert backend.requests[-1][1]["TOKEN_ENDPOINT"] == "health"
    raw(n, method="GET", path="/udesk/metrics", content_type=None)
    assert backend.requests[-1][1]["TOKEN_ENDPOINT"] == "metrics"


def test_spoofed_endpoint_gets_the_token_answer(nginx):
    status, _, body = raw(nginx, body=udesk_body(N), path=ENDPOINT + "?TOKEN_ENDPOINT=metrics",
                          headers={"Token-Endpoint": "metrics"})
    assert (status, json.loads(body)) == (200, {"customer_token": "cust-0001"})


# --------------------------------------------------------------------------------------------
# Address allow-list (nginx/udesk-token-allowlist.conf)


def active_lines(path: Path) -> list[str]:
    return [line.split("#", 1)[0].strip() for line in path.read_text().splitlines()
            if line.split("#", 1)[0].strip()]


def test_shipped_allowlist_is_inactive_and_ends_with_deny():
    path = NGINX_DIR / "udesk-token-allowlist.conf"
    assert active_lines(path) == [], "the shipped allow-list must not restrict anyone"
    commented = [line for line in path.read_text().splitlines() if re.match(r"^#(allow|deny) ", line)]
    assert commented and commented[-1] == "#deny all;", commented
    assert all(line.startswith("#allow ") for line in commented[:-1])


def test_shipped_allowlist_lets_everyone_in(nginx, other_source):
    status, _, body = raw(nginx, body=udesk_body(N), source_address=other_source)
    assert (status, json.loads(body)) == (200, {"customer_token": "cust-0001"})


@pytest.fixture(scope="module")
def nginx_allowlisted(responder, tls, workdir, nginx_binary):
    """The main responder behind an nginx whose allow-list is activated for 127.0.0.1 only."""
    n = Nginx(workdir / "nginx-allowlist", responder.socket_path, *tls, udesk_allow=["127.0.0.1"]).render().start()
    yield n
    n.stop()


def test_allowlist_when_activated(nginx_allowlisted, other_source):
    rendered = nginx_allowlisted.prefix / "snippets" / "udesk-token-allowlist.conf"
    assert active_lines(rendered) == ["allow 127.0.0.1;", "deny all;"]
    status, msg, body = raw(nginx_allowlisted, body=udesk_body(N), source_address=other_source)
    assert_hardened(status, msg, body, 403)
    assert msg.get_all("content-type") == [JSON_CONTENT_TYPE]
    assert json.loads(body) == {"error": "forbidden", "message": NGINX_FORBIDDEN_MESSAGE}
    status, _, body = raw(nginx_allowlisted, body=udesk_body(N))
    assert (status, json.loads(body)) == (200, {"customer_token": "cust-0001"})
    # the refusal is in the endpoint's access log
    log = (nginx_allowlisted.prefix / "logs" / "udesk-token.access.log").read_text()
    assert any(line.startswith("127.0.0.2 ") and '" 403 ' in line for line in log.splitlines()), log


# --------------------------------------------------------------------------------------------
# Shipped files


def test_every_shipped_conf_is_rendered_and_nginx_t_passes(nginx, nginx_allowlisted):
    shipped = sorted(p.name for p in NGINX_DIR.glob("*.conf"))
    assert {"udesk-token-upstream.conf", "udesk-token-location.conf", "udesk-token-https.conf",
            "udesk-token-headers.conf", "udesk-token-allowlist.conf"} <= set(shipped)
    for n in (nginx, nginx_allowlisted):
        rendered = sorted(p.name for p in n.prefix.glob("*/*.conf"))
        assert set(shipped) <= set(rendered), f"not rendered by render-local.sh: {set(shipped) - set(rendered)}"
        cp = n.check()
        assert cp.returncode == 0 and b"syntax is ok" in cp.stderr, cp.stderr.decode()


def test_no_limit_except_on_the_endpoint():
    """Methods are limited by the responder (405 + Allow, JSON), not by nginx (it would be 403)."""
    for path in NGINX_DIR.glob("*.conf"):
        assert not any(line.startswith("limit_except") for line in active_lines(path)), path.name


def test_a_key_in_the_query_string_reaches_no_access_log(nginx):
    """The example server logs every request in the udesk_token format ($uri, no query string),
    instead of the http-level access_log, whose "combined" format would keep ?key=... ."""
    secret = "S3cr3tQueryKey"
    for path in (f"{ENDPOINT}?key={secret}", f"/elsewhere?key={secret}"):
        status, _, _ = raw(nginx, path=path, body=udesk_body(N))
        assert status in (200, 403, 404)
    logs = nginx.prefix / "logs"
    endpoint_log = (logs / "udesk-token.access.log").read_text()
    assert "/elsewhere" in endpoint_log
    general = logs / "access.log"
    assert not general.exists() or secret not in general.read_text()
    assert secret not in endpoint_log
