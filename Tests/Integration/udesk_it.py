"""Helpers for the end-to-end tests: process control, an HTTPS client, a minimal FastCGI client.

Standard library only.  Every wait in here is bounded, so a broken or hanging binary makes a
test fail with a message instead of hanging the suite.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import signal
import socket
import ssl
import struct
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# The small token set every end-to-end test imports (Tests/Fixtures).
FIXTURE_CSV = REPO / "Tests" / "Fixtures" / "integration-tokens.csv"
RENDER_SCRIPT = REPO / "nginx" / "render-local.sh"
NGINX = os.environ.get("NGINX", "/usr/sbin/nginx")
ENDPOINT = "/udesk/customer_token"
UDESK_CONTENT_TYPE = "application/json;charset=utf8"  # exactly what Udesk sends


def bin_dir() -> Path:
    return Path(os.environ.get("TOKEN_BIN_DIR", str(REPO / ".build" / "debug")))


def udesk_body(number, timestamp=1501124998) -> bytes:
    """The request body Udesk sends (number as given: int or str)."""
    return json.dumps({"timestamp": timestamp, "number": number}).encode()


# --------------------------------------------------------------------------------------------
# Waiting and processes


def wait_until(predicate, timeout: float, interval: float = 0.02, what: str = "condition"):
    """Polls predicate() until it returns a truthy value; raises TimeoutError after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def tail(path: Path, limit: int = 3000) -> str:
    try:
        data = Path(path).read_bytes()
    except OSError:
        return "(no log)"
    return data[-limit:].decode("utf-8", "replace")


def stop_process(proc: subprocess.Popen, sig=signal.SIGTERM, timeout: float = 5.0):
    """Sends `sig`, waits at most `timeout` s, then SIGKILLs. Returns the exit status."""
    if proc.poll() is None:
        try:
            proc.send_signal(sig)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
    return proc.returncode


def unix_connectable(path) -> bool:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(0.5)
    try:
        s.connect(str(path))
        return True
    except OSError:
        return False
    finally:
        s.close()


def tcp_address(text) -> tuple[str, int] | None:
    """("host", port) for "HOST:PORT" or "[V6]:PORT"; None for a Unix socket path."""
    text = str(text)
    if "/" in text or ":" not in text:
        return None
    host, _, port = text.rpartition(":")
    return host.strip("[]"), int(port)


def tcp_connectable(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_csv(path, tokens: dict):
    """Writes a `number,customer_token` import file with the `tokens` mapping's rows."""
    with open(path, "w") as f:
        f.write("number,customer_token\n")
        for number, token in tokens.items():
            f.write(f"{number},{token}\n")


def run_tokenctl(*args, store=None, timeout: float = 30, check: bool = True) -> subprocess.CompletedProcess:
    cmd = [str(bin_dir() / "tokenctl")]
    if store is not None:
        cmd += ["--store", str(store)]
    cmd += [str(a) for a in args]
    cp = subprocess.run(cmd, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)
    if check and cp.returncode != 0:
        raise AssertionError(
            f"{' '.join(cmd)} exited {cp.returncode}\nstdout: {cp.stdout!r}\nstderr: {cp.stderr!r}")
    return cp


class Responder:
    """A token-responder serving FastCGI on a Unix socket it creates (--socket).
    With flags=False, --store/--socket are not passed (configuration from `env` only)."""

    def __init__(self, store, socket_path, log_path, *extra_args, env=None, flags=True):
        self.flags = flags
        # A PostgreSQL URI stays as it is (Path would fold its '//').
        self.store = store if isinstance(store, str) and "://" in store else Path(store)
        self.socket_path = Path(socket_path)
        self.log_path = Path(log_path)
        self.args = [str(a) for a in extra_args]
        self.env = env
        self.proc: subprocess.Popen | None = None

    @property
    def command(self):
        if not self.flags:
            return [str(bin_dir() / "token-responder"), *self.args]
        return [str(bin_dir() / "token-responder"), "--store", str(self.store),
                "--socket", str(self.socket_path), *self.args]

    def start(self, timeout: float = 10.0) -> "Responder":
        if self.env is None:  # inherit the environment, minus anything that would configure us
            env = {k: v for k, v in os.environ.items() if not k.startswith("TOKEN_")}
        else:
            env = dict(self.env)
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.command, stdin=subprocess.DEVNULL, stdout=self._log,
                                     stderr=subprocess.STDOUT, env=env, start_new_session=True)
        try:
            tcp = tcp_address(self.socket_path)
            wait_until(lambda: self.proc.poll() is not None
                       or (tcp_connectable(tcp[1], tcp[0]) if tcp else unix_connectable(self.socket_path)),
                       timeout, what=f"token-responder to listen on {self.socket_path}")
        except TimeoutError:
            self.stop()
            raise AssertionError(f"token-responder did not listen within {timeout}s:\n{tail(self.log_path)}")
        if self.proc.poll() is not None:
            raise ResponderExited(self.proc.returncode, tail(self.log_path))
        return self

    def stop(self, sig=signal.SIGTERM, timeout: float = 5.0):
        if self.proc is not None:
            stop_process(self.proc, sig, timeout)
        if getattr(self, "_log", None):
            self._log.close()
        return self.proc.returncode if self.proc else None

    def log(self) -> str:
        return tail(self.log_path)


class ResponderExited(AssertionError):
    def __init__(self, status, log):
        super().__init__(f"token-responder exited at start with status {status}:\n{log}")
        self.status = status
        self.log = log


class Nginx:
    """A real nginx running the shipped nginx/ files, rendered by nginx/render-local.sh.
    udesk_allow: addresses to activate nginx/udesk-token-allowlist.conf with (render-local.sh
    --udesk-allow), as an operator would; None keeps the shipped, inactive file."""

    def __init__(self, prefix, socket_path, cert, key, udesk_allow=None, backends=None, fastcgi_bind=None):
        """backends: TCP addresses of several responder nodes (render-local.sh --backends)
        instead of the one on `socket_path`."""
        self.prefix = Path(prefix)
        self.udesk_allow = udesk_allow
        self.backends = backends
        self.fastcgi_bind = fastcgi_bind
        self.socket_path = Path(socket_path)
        self.cert = Path(cert)
        self.key = Path(key)
        self.https_port = free_port()
        self.http_port = free_port()
        while self.http_port == self.https_port:
            self.http_port = free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def conf(self) -> Path:
        return self.prefix / "nginx.conf"

    def render(self):
        cp = subprocess.run(
            ["sh", str(RENDER_SCRIPT), "--out", str(self.prefix), "--socket", str(self.socket_path),
             "--cert", str(self.cert), "--key", str(self.key),
             "--https-listen", f"127.0.0.1:{self.https_port}", "--http-listen", f"127.0.0.1:{self.http_port}",
             "--server-name", "localhost", "--daemon", "off",
             *(["--udesk-allow", " ".join(self.udesk_allow)] if self.udesk_allow else []),
             *(["--backends", " ".join(self.backends)] if self.backends else []),
             *(["--fastcgi-bind", self.fastcgi_bind] if self.fastcgi_bind else [])],
            capture_output=True, timeout=30, stdin=subprocess.DEVNULL)
        assert cp.returncode == 0, f"render-local.sh failed: {cp.stderr.decode()}"
        return self

    def check(self) -> subprocess.CompletedProcess:
        return subprocess.run([NGINX, "-t", "-p", str(self.prefix), "-c", str(self.conf)],
                              capture_output=True, timeout=30, stdin=subprocess.DEVNULL)

    def start(self, timeout: float = 10.0) -> "Nginx":
        cp = self.check()
        assert cp.returncode == 0, f"nginx -t failed:\n{cp.stderr.decode()}"
        self._log = open(self.prefix / "logs" / "nginx.stderr", "ab")
        self.proc = subprocess.Popen([NGINX, "-p", str(self.prefix), "-c", str(self.conf)],
                                     stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        try:
            wait_until(lambda: self.proc.poll() is not None or
                       (tcp_connectable(self.https_port) and tcp_connectable(self.http_port)),
                       timeout, what="nginx to listen")
        except TimeoutError:
            self.stop()
            raise AssertionError(f"nginx did not listen within {timeout}s:\n{self.error_log()}")
        if self.proc.poll() is not None:
            raise AssertionError(f"nginx exited with {self.proc.returncode}:\n{self.error_log()}")
        return self

    def stop(self, timeout: float = 5.0):
        if self.proc is not None:
            stop_process(self.proc, signal.SIGTERM, timeout)
        if getattr(self, "_log", None):
            self._log.close()

    def error_log(self) -> str:
        return tail(self.prefix / "logs" / "nginx.stderr") + tail(self.prefix / "logs" / "error.log")

    # -- clients --------------------------------------------------------------------------

    def https_connection(self, timeout: float = 5.0, source_address=None) -> http.client.HTTPSConnection:
        """source_address=("127.0.0.2", 0) makes the request come from another loopback address."""
        ctx = ssl.create_default_context(cafile=str(self.cert))
        return http.client.HTTPSConnection("127.0.0.1", self.https_port, context=ctx, timeout=timeout,
                                           source_address=source_address)

    def http_connection(self, timeout: float = 5.0) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=timeout)

    def post(self, body: bytes | None, content_type: str | None = UDESK_CONTENT_TYPE, method: str = "POST",
             path: str = ENDPOINT, headers: dict | None = None, conn=None, **request_kw):
        """One request over HTTPS (verifying the generated cert). Returns (status, headers, body)
        with header names lower-cased. Reuses `conn` when given (keep-alive)."""
        own = conn is None
        conn = conn or self.https_connection()
        try:
            return request(conn, method, path, body, content_type, headers, **request_kw)
        finally:
            if own:
                conn.close()


def request(conn, method, path, body, content_type=UDESK_CONTENT_TYPE, headers=None, **request_kw):
    hdrs = {} if headers is None else dict(headers)
    if content_type is not None:
        hdrs["Content-Type"] = content_type
    conn.request(method, path, body=body, headers=hdrs, **request_kw)
    resp = conn.getresponse()
    data = resp.read()
    return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data


# --------------------------------------------------------------------------------------------
# CGI response parsing


def parse_cgi(output: bytes):
    """Splits a CGI response (`Status: 200 OK` CRLF headers CRLF CRLF body) into
    (status, headers with lower-case names, body)."""
    head, sep, body = output.partition(b"\r\n\r\n")
    assert sep, f"no blank line after the CGI headers in {output[:300]!r}"
    headers = {}
    status = 200
    for line in head.split(b"\r\n"):
        name, colon, value = line.partition(b":")
        assert colon, f"malformed CGI header line {line!r}"
        name = name.decode("latin-1").strip().lower()
        value = value.decode("latin-1").strip()
        if name == "status":
            status = int(value.split()[0])
        headers[name] = value
    return status, headers, body


# --------------------------------------------------------------------------------------------
# A minimal FastCGI client (enough of FastCGI 1.0 to act like nginx)

FCGI_VERSION_1 = 1
FCGI_BEGIN_REQUEST, FCGI_ABORT_REQUEST, FCGI_END_REQUEST = 1, 2, 3
FCGI_PARAMS, FCGI_STDIN, FCGI_STDOUT, FCGI_STDERR = 4, 5, 6, 7
FCGI_RESPONDER = 1
FCGI_KEEP_CONN = 1


def fcgi_record(rtype: int, request_id: int, content: bytes = b"") -> bytes:
    assert len(content) <= 0xFFFF
    padding = (8 - len(content) % 8) % 8
    return struct.pack(">BBHHBx", FCGI_VERSION_1, rtype, request_id, len(content), padding) + content + b"\0" * padding


def fcgi_stream(rtype: int, request_id: int, data: bytes) -> bytes:
    """Records carrying `data` on a stream, WITHOUT the empty terminating record."""
    return b"".join(fcgi_record(rtype, request_id, data[i:i + 0xFFF8]) for i in range(0, len(data), 0xFFF8))


def fcgi_length(n: int) -> bytes:
    return bytes([n]) if n < 128 else struct.pack(">I", n | 0x80000000)


def fcgi_params(params: dict) -> bytes:
    out = b""
    for name, value in params.items():
        n, v = name.encode(), str(value).encode()
        out += fcgi_length(len(n)) + fcgi_length(len(v)) + n + v
    return out


def cgi_params(body: bytes | None, content_type: str | None = UDESK_CONTENT_TYPE, method: str = "POST",
               query: str = "") -> dict:
    """The CGI variables nginx's fastcgi_params would send for a request to the endpoint."""
    params = {
        "GATEWAY_INTERFACE": "CGI/1.1",
        "REQUEST_METHOD": method,
        "QUERY_STRING": query,
        "SCRIPT_NAME": ENDPOINT,
        "REQUEST_URI": ENDPOINT + ("?" + query if query else ""),
        "DOCUMENT_URI": ENDPOINT,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REQUEST_SCHEME": "https",
        "HTTPS": "on",
        "SERVER_SOFTWARE": "udesk-integration-tests",
        "REMOTE_ADDR": "127.0.0.1",
        "REMOTE_PORT": "50000",
        "SERVER_ADDR": "127.0.0.1",
        "SERVER_PORT": "443",
        "SERVER_NAME": "localhost",
        "HTTP_HOST": "localhost",
    }
    if content_type is not None:
        params["CONTENT_TYPE"] = content_type
    if body is not None:
        params["CONTENT_LENGTH"] = str(len(body))
    return params


class FastCGIResponse:
    def __init__(self, stdout: bytes, stderr: bytes, app_status: int, protocol_status: int):
        self.stdout, self.stderr = stdout, stderr
        self.app_status, self.protocol_status = app_status, protocol_status
        self.status, self.headers, self.body = parse_cgi(stdout)

    def json(self):
        return json.loads(self.body)


class FastCGIConnection:
    """One FastCGI connection to a Unix socket, like one of nginx's upstream connections."""

    def __init__(self, path, timeout: float = 5.0, source: str | None = None):
        """`path`: a Unix socket, or a TCP address as "HOST:PORT" / "[V6]:PORT" (connecting
        from `source` if given)."""
        tcp = tcp_address(path)
        if tcp:
            self.sock = socket.socket(socket.AF_INET6 if ":" in tcp[0] else socket.AF_INET, socket.SOCK_STREAM)
            if source:
                self.sock.bind((source, 0))
        else:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(tcp or str(path))
        self._buf = b""
        self._next_id = 1

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def settimeout(self, timeout: float):
        self.sock.settimeout(timeout)

    # -- sending -------------------------------------------------------------------------

    def begin(self, params: dict, keep_conn: bool = True, request_id: int | None = None) -> int:
        """Sends BEGIN_REQUEST and the complete PARAMS stream. Returns the request id."""
        if request_id is None:
            request_id = self._next_id
            self._next_id = self._next_id % 0xFFFF + 1
        begin = struct.pack(">HB5x", FCGI_RESPONDER, FCGI_KEEP_CONN if keep_conn else 0)
        self.sock.sendall(fcgi_record(FCGI_BEGIN_REQUEST, request_id, begin)
                          + fcgi_stream(FCGI_PARAMS, request_id, fcgi_params(params))
                          + fcgi_record(FCGI_PARAMS, request_id))
        return request_id

    def send_stdin(self, request_id: int, data: bytes, end: bool = False):
        out = fcgi_stream(FCGI_STDIN, request_id, data) if data else b""
        if end:
            out += fcgi_record(FCGI_STDIN, request_id)
        self.sock.sendall(out)

    # -- receiving -----------------------------------------------------------------------

    def _read_exact(self, n: int) -> bytes:
        while len(self._buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError(f"FastCGI connection closed by the responder "
                                      f"({len(self._buf)} of {n} bytes of a record received)")
            self._buf += chunk
        data, self._buf = self._buf[:n], self._buf[n:]
        return data

    def read_record(self):
        version, rtype, rid, clen, plen = struct.unpack(">BBHHBx", self._read_exact(8))
        assert version == FCGI_VERSION_1, f"bad FastCGI version {version}"
        content = self._read_exact(clen)
        self._read_exact(plen)
        return rtype, rid, content

    def read_response(self, request_id: int) -> FastCGIResponse:
        stdout, stderr = b"", b""
        while True:
            rtype, rid, content = self.read_record()
            assert rid == request_id, f"record for request {rid}, expected {request_id}"
            if rtype == FCGI_STDOUT:
                stdout += content
            elif rtype == FCGI_STDERR:
                stderr += content
            elif rtype == FCGI_END_REQUEST:
                app_status, protocol_status = struct.unpack(">IB3x", content)
                return FastCGIResponse(stdout, stderr, app_status, protocol_status)
            else:
                raise AssertionError(f"unexpected FastCGI record type {rtype}")

    def is_closed_by_peer(self, timeout: float = 1.0) -> bool:
        """True if the responder closes the connection within `timeout` s (no data expected)."""
        old = self.sock.gettimeout()
        self.sock.settimeout(timeout)
        try:
            return self.sock.recv(1) == b""
        except socket.timeout:
            return False
        except ConnectionResetError:
            return True
        finally:
            self.sock.settimeout(old)

    # -- all in one ----------------------------------------------------------------------

    def request(self, body: bytes | None, content_type: str | None = UDESK_CONTENT_TYPE,
                method: str = "POST", keep_conn: bool = True, params: dict | None = None) -> FastCGIResponse:
        rid = self.begin(params or cgi_params(body, content_type, method), keep_conn)
        self.send_stdin(rid, body or b"", end=True)
        return self.read_response(rid)


def parse_fcgi_params(data: bytes) -> dict:
    params, i = {}, 0

    def length():
        nonlocal i
        if data[i] < 128:
            i += 1
            return data[i - 1]
        value = struct.unpack(">I", data[i:i + 4])[0] & 0x7FFFFFFF
        i += 4
        return value

    while i < len(data):
        n, v = length(), length()
        params[data[i:i + n].decode("latin-1")] = data[i + n:i + n + v].decode("latin-1")
        i += n + v
    return params


class ScriptedBackend:
    """A FastCGI server in a thread that answers every request with `answer` (CGI bytes) and
    records what it saw: connections accepted, and per request (keep_conn flag, params, stdin).
    Lets the tests check what nginx sends and how it reuses connections, independently of
    token-responder."""

    def __init__(self, path, answer: bytes):
        import threading
        self.answer = answer
        self.connections = 0
        self.requests: list[tuple[bool, dict, bytes]] = []
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(str(path))
        self.listener.listen(64)
        self._threads = []
        self._closing = False
        self._accept_thread = threading.Thread(target=self._accept, daemon=True)
        self._accept_thread.start()

    def _accept(self):
        import threading
        while not self._closing:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            t = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            t.start()
            self._threads.append(t)

    def _serve(self, conn):
        fc = FastCGIConnection.__new__(FastCGIConnection)
        fc.sock, fc._buf = conn, b""
        conn.settimeout(10)
        try:
            while True:
                keep, params, stdin = False, b"", b""
                while True:
                    rtype, rid, content = fc.read_record()
                    if rtype == FCGI_BEGIN_REQUEST:
                        keep = bool(content[2] & FCGI_KEEP_CONN)
                    elif rtype == FCGI_PARAMS:
                        params += content
                    elif rtype == FCGI_STDIN:
                        if not content:
                            break
                        stdin += content
                self.requests.append((keep, parse_fcgi_params(params), stdin))
                conn.sendall(fcgi_stream(FCGI_STDOUT, rid, self.answer) + fcgi_record(FCGI_STDOUT, rid)
                             + fcgi_record(FCGI_END_REQUEST, rid, struct.pack(">IB3x", 0, 0)))
                if not keep:
                    break
        except (OSError, ConnectionError):
            pass
        finally:
            conn.close()

    def close(self):
        self._closing = True
        try:
            self.listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.listener.close()
        self._accept_thread.join(5)


class VerifyingLoad:
    """Client threads, each on its own kept connection, asking random numbers of `asked` until
    stopped (at most `max_seconds`), and judging every answer: `allowed[number]` is the set of
    tokens the number may get in the current phase (None in it: a 404 is right), and
    `unavailable_ok` whether a 500 store_unavailable is. Each answer is counted under the phase
    that was current when it was asked, as (phase, outcome); anything but "ok" and
    "unavailable" is also listed in `wrong`. Subclasses say how to connect and ask."""

    def __init__(self, asked, allowed: dict, clients: int = 6, max_seconds: float = 60.0):
        self.asked = list(asked)
        self.allowed = allowed
        self.unavailable_ok = False
        self.phase = "before"
        self.counts: Counter = Counter()
        self.wrong: list[str] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.deadline = time.monotonic() + max_seconds
        self.threads = [threading.Thread(target=self._client, args=(i,)) for i in range(clients)]

    def connect(self):
        raise NotImplementedError

    def ask(self, conn, number) -> tuple[int, dict]:
        """(HTTP status, JSON body) of one request on `conn`."""
        raise NotImplementedError

    def set_phase(self, phase, allowed=None, unavailable_ok=False):
        with self.lock:
            self.phase = phase
            if allowed is not None:
                self.allowed = allowed
            self.unavailable_ok = unavailable_ok

    def _client(self, seed):
        rng = random.Random(seed)
        conn = None
        while not self.stopping.is_set() and time.monotonic() < self.deadline:
            number = rng.choice(self.asked)
            with self.lock:
                phase, allowed, unavailable_ok = self.phase, self.allowed.get(number, {None}), self.unavailable_ok
            try:
                conn = conn or self.connect()
                status, body = self.ask(conn, number)
            except OSError as error:
                conn = None
                self._count(phase, "connection_error", f"{number}: {error!r}")
                continue
            if status == 200:
                token = body.get("customer_token")
                self._count(phase, "ok" if token in allowed else "wrong_token", f"{number}: got {token}, allowed {allowed}")
            elif status == 404:
                self._count(phase, "ok" if None in allowed else "false_404", f"{number}: 404")
            elif status == 500 and body.get("error") == "store_unavailable":
                self._count(phase, "unavailable" if unavailable_ok else "unexpected_500", f"{number}: 500")
            else:
                self._count(phase, f"status_{status}", f"{number}: {status} {body}")
        if conn:
            conn.close()

    def _count(self, phase, outcome, detail):
        with self.lock:
            self.counts[(phase, outcome)] += 1
            if outcome not in ("ok", "unavailable"):
                self.wrong.append(f"[{phase}] {detail}")

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def stop(self):
        self.stopping.set()
        for t in self.threads:
            t.join(timeout=10)
        return self

    def answered(self, phase=None, outcome=None) -> int:
        """Answers asked in `phase` (any, if None) with `outcome` (any, if None)."""
        with self.lock:
            return sum(n for (p, o), n in self.counts.items()
                       if (phase is None or p == phase) and (outcome is None or o == outcome))

    def assert_clean(self):
        print(f"\n{dict(sorted(self.counts.items()))}")
        assert not self.wrong, f"{len(self.wrong)} bad answers: {dict(self.counts)}; e.g. {self.wrong[:5]}"


class FastCGILoad(VerifyingLoad):
    """A VerifyingLoad straight on the responder's socket, as nginx's upstream pool."""

    def __init__(self, socket_path, asked, allowed: dict, **kw):
        self.socket_path = socket_path
        super().__init__(asked, allowed, **kw)

    def connect(self):
        return FastCGIConnection(self.socket_path, timeout=5)

    def ask(self, conn, number):
        answer = conn.request(udesk_body(number))
        return answer.status, answer.json()


class HTTPSLoad(VerifyingLoad):
    """A VerifyingLoad through nginx over HTTPS, each client on a kept connection; `slowest` is
    the longest any answer took (seconds)."""

    def __init__(self, nginx: "Nginx", asked, allowed: dict, **kw):
        self.nginx = nginx
        self.slowest = 0.0
        super().__init__(asked, allowed, **kw)

    def connect(self):
        return self.nginx.https_connection(timeout=5)

    def ask(self, conn, number):
        started = time.monotonic()
        try:
            return self._ask(conn, number)
        finally:
            took = time.monotonic() - started
            with self.lock:
                self.slowest = max(self.slowest, took)

    def _ask(self, conn, number):
        conn.request("POST", ENDPOINT, body=udesk_body(number), headers={"Content-Type": UDESK_CONTENT_TYPE})
        resp = conn.getresponse()
        body = resp.read()
        try:
            return resp.status, json.loads(body)
        except ValueError:
            return resp.status, {"raw": body[:100].decode(errors="replace")}
