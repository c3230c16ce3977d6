"""The deployment kit in deploy/: systemd units, spawn-fcgi.sh, the CGI hosting examples and
install.sh, each run for real where this machine allows it.

- units: static checks against nginx/udesk-token-upstream.conf, `systemd-analyze verify` and
  `systemd-analyze security --offline` (skipped without systemd-analyze);
- the sandbox the service unit sets up, approximated without systemd as PID 1: the responder
  under Linux's PR_SET_MDWE (what MemoryDenyWriteExecute=yes enforces) and its system calls
  under strace checked against the unit's SystemCallFilter= (skipped without strace);
- deploy/spawn-fcgi.sh started for real and queried with libfcgi's cgi-fcgi;
- deploy/cgi/: fcgiwrap behind a real nginx, and Apache (ScriptAlias, .htaccess, wrapper);
- deploy/install.sh into a temporary DESTDIR, twice: the second run must change nothing.

Binaries come from $TOKEN_BIN_DIR (default <repo>/.build/debug).  As root, the responder runs
as `nobody` and sockets get group www-data, as in production; files for other users live in a
world-traversable folder under /tmp (pytest's own are 0700).  Every wait is bounded.
"""

from __future__ import annotations

import ctypes
import grp
import hashlib
import http.client
import json
import os
import pwd
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from udesk_it import (ENDPOINT, FIXTURE_CSV, NGINX, REPO, UDESK_CONTENT_TYPE, FastCGIConnection, free_port,
                      parse_cgi, stop_process, tail, tcp_connectable, udesk_body, unix_connectable,
                      wait_until)

DEPLOY = REPO / "deploy"
UNITS = DEPLOY / "systemd"
SPAWN_SCRIPT = DEPLOY / "spawn-fcgi.sh"
INSTALL_SCRIPT = DEPLOY / "install.sh"
APACHE = os.environ.get("APACHE", "/usr/sbin/apache2")

BODY = udesk_body(13800138000)
TOKEN = b'{"customer_token":"cust-0001"}'
UNKNOWN_BODY = udesk_body("13912345678")

IS_ROOT = os.geteuid() == 0


def user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def group_exists(name: str) -> bool:
    try:
        grp.getgrnam(name)
        return True
    except KeyError:
        return False


# As root, run things as in production: the responder as an unprivileged user that is neither
# the socket's group nor root, nginx's side as www-data, and a third user that must be refused.
SERVICE_USER = "nobody" if IS_ROOT and user_exists("nobody") else None
SOCKET_GROUP = "www-data" if IS_ROOT and group_exists("www-data") else None
OUTSIDER = "daemon" if IS_ROOT and user_exists("daemon") else None


def clean_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOKEN_")}
    env.update({k: str(v) for k, v in extra.items()})
    return env


def run(cmd, timeout: float = 60, **kw) -> subprocess.CompletedProcess:
    kw.setdefault("stdin", subprocess.DEVNULL)
    return subprocess.run([str(c) for c in cmd], capture_output=True, timeout=timeout, **kw)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie (exited, not yet reaped by its parent) counts as gone
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (OSError, IndexError):
        return False


def children_of(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(") ", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(fields[1]) == pid:
                out.append(int(entry.name))
    return out


def as_user_kw(name: str | None) -> dict:
    """subprocess keyword arguments that run the child as `name` with exactly that user's groups
    (root only)."""
    if name is None:
        return {}
    pw = pwd.getpwnam(name)
    return {"user": pw.pw_uid, "group": pw.pw_gid,
            "extra_groups": [g.gr_gid for g in grp.getgrall() if name in g.gr_mem]}


def cgi_fcgi(sock: Path, body: bytes, as_user: str | None = None, timeout: float = 10):
    """One request with libfcgi's cgi-fcgi client, as nginx would send it. Returns the
    CompletedProcess (stdout is the CGI response)."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "GATEWAY_INTERFACE": "CGI/1.1",
           "REQUEST_METHOD": "POST", "CONTENT_TYPE": UDESK_CONTENT_TYPE,
           "CONTENT_LENGTH": str(len(body)), "SCRIPT_NAME": ENDPOINT, "QUERY_STRING": ""}
    return subprocess.run(["cgi-fcgi", "-bind", "-connect", str(sock)], input=body, env=env,
                          capture_output=True, timeout=timeout, **as_user_kw(as_user))


# ----------------------------------------------------------------------------------------
# Unit files


def parse_unit(path: Path) -> dict[str, list[str]]:
    """Key -> list of values (in order) over all sections; comments dropped."""
    values: dict[str, list[str]] = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line[0] in "#;" or line.startswith("["):
            continue
        key, _, value = line.partition("=")
        values.setdefault(key.strip(), []).append(value.strip())
    return values


def one(unit: dict, key: str) -> str:
    assert key in unit, f"{key}= missing"
    return unit[key][-1]


def test_socket_unit_serves_the_socket_nginx_expects():
    sock = parse_unit(UNITS / "token-responder.socket")
    path = one(sock, "ListenStream")
    upstream = (REPO / "nginx" / "udesk-token-upstream.conf").read_text()
    assert f"server unix:{path} " in upstream or f"server unix:{path};" in upstream, \
        f"nginx/udesk-token-upstream.conf does not point at {path}"
    assert one(sock, "Accept") == "no"
    assert one(sock, "SocketGroup") == "udesk-fcgi"  # not www-data: PHP running as www-data must not connect
    assert one(sock, "SocketMode") == "0660"
    assert one(sock, "DirectoryMode") == "0755"


def test_service_unit_settings():
    svc = parse_unit(UNITS / "token-responder.service")
    expected = {
        "StandardInput": "socket", "StandardOutput": "journal", "StandardError": "journal",
        "User": "udesk-token", "Restart": "on-failure", "KillSignal": "SIGTERM", "TimeoutStopSec": "15",
        "ProtectSystem": "strict", "NoNewPrivileges": "yes", "PrivateTmp": "yes", "PrivateDevices": "yes",
        "ProtectHome": "yes", "ProtectKernelTunables": "yes", "ProtectKernelModules": "yes",
        "ProtectKernelLogs": "yes", "ProtectControlGroups": "yes", "ProtectClock": "yes",
        "ProtectHostname": "yes", "RestrictAddressFamilies": "AF_UNIX", "RestrictNamespaces": "yes",
        "RestrictRealtime": "yes", "RestrictSUIDSGID": "yes", "LockPersonality": "yes",
        "MemoryDenyWriteExecute": "yes", "SystemCallArchitectures": "native", "CapabilityBoundingSet": "",
        "UMask": "0027", "LimitNOFILE": "65536", "EnvironmentFile": "-/etc/default/token-responder",
    }
    wrong = {k: svc.get(k) for k, v in expected.items() if svc.get(k, [None])[-1] != v}
    assert not wrong, f"unexpected settings: {wrong}"
    assert svc["SystemCallFilter"][0] == "@system-service"
    assert one(svc, "Requires") == "token-responder.socket"
    assert "--socket" not in one(svc, "ExecStart"), "socket activation: the socket comes as fd 0"
    assert "TOKEN_SOCKET" in one(svc, "UnsetEnvironment")
    # The only writable place is the store's folder.
    store = [v for v in svc["Environment"] if v.startswith("TOKEN_STORE=")]
    assert store == ["TOKEN_STORE=/var/lib/udesk-token/tokens.db"]
    assert svc["ReadWritePaths"] == [str(Path(store[0].split("=", 1)[1]).parent)]
    # The import writes the same store as the same user, with the same settings file.
    imp = parse_unit(UNITS / "udesk-token-import.service")
    assert one(imp, "User") == one(svc, "User")
    assert imp["ReadWritePaths"] == svc["ReadWritePaths"]
    assert store[0] in imp["Environment"]
    assert one(imp, "EnvironmentFile") == one(svc, "EnvironmentFile")


@pytest.fixture(scope="module")
def systemd_analyze() -> str:
    path = shutil.which("systemd-analyze")
    if path is None:
        pytest.skip("systemd-analyze not found (apt-get install systemd)")
    return path


@pytest.fixture(scope="module")
def rendered_units(binaries, tmp_path_factory) -> Path:
    """The unit files with /usr/local/bin replaced by $TOKEN_BIN_DIR, so that verify's check that
    ExecStart= is executable passes without installing anything."""
    out = tmp_path_factory.mktemp("units")
    for unit in UNITS.iterdir():
        (out / unit.name).write_text(unit.read_text().replace("/usr/local/bin/", f"{binaries}/"))
    return out


def test_units_pass_systemd_analyze_verify(systemd_analyze, rendered_units):
    names = sorted(p.name for p in rendered_units.iterdir())
    assert names == ["token-responder-tcp.socket", "token-responder.service", "token-responder.socket",
                     "udesk-token-import.service", "udesk-token-import.timer"]
    cp = run([systemd_analyze, "verify", "--man=no", *[f"./{n}" for n in names]], cwd=rendered_units)
    output = (cp.stdout + cp.stderr).decode()
    ours = [line for line in output.splitlines() if any(n in line for n in names)]
    assert cp.returncode == 0 and not ours, f"systemd-analyze verify exited {cp.returncode}:\n{output}"


def test_the_tcp_socket_unit_says_how_to_use_it():
    """The TCP variant (verified with the other units above) listens on an address and names
    the allow-list, the network access and the firewall the node then needs."""
    unit = (UNITS / "token-responder-tcp.socket").read_text()
    assert "ListenStream=10.0.0.11:9000" in unit and "Service=token-responder.service" in unit
    assert "TOKEN_ALLOW_FROM" in unit and "PrivateNetwork=no" in unit and "nft " in unit


def test_service_security_exposure_is_low(systemd_analyze, rendered_units):
    cp = run([systemd_analyze, "security", "--offline=true", "--man=no", "./token-responder.service"],
             cwd=rendered_units)
    output = (cp.stdout + cp.stderr).decode()
    if "--offline" in output and "unrecognized" in output:
        pytest.skip("this systemd-analyze has no --offline (systemd < 250)")
    m = re.search(r"Overall exposure level for token-responder\.service: ([0-9.]+)", output)
    assert m, output[-2000:]
    assert float(m.group(1)) <= 1.5, output[-3000:]


# ----------------------------------------------------------------------------------------
# A world-traversable scratch folder, a store owned by the service user, the binaries in it


@pytest.fixture(scope="module")
def shared_dir():
    d = Path(tempfile.mkdtemp(prefix="udesk-deploy-", dir="/tmp"))
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def chown_tree(path: Path, user: str, group: str | None = None):
    pw = pwd.getpwnam(user)
    gid = grp.getgrnam(group).gr_gid if group else pw.pw_gid
    for p in [path, *path.rglob("*")]:
        os.chown(p, pw.pw_uid, gid)


@pytest.fixture(scope="module")
def deploy_bin(binaries, shared_dir) -> Path:
    """Copies of the binaries where any user can run them."""
    d = shared_dir / "bin"
    d.mkdir(mode=0o755)
    for name in ("token-responder", "tokenctl"):
        shutil.copy2(binaries / name, d / name)
        os.chmod(d / name, 0o755)
    return d


def make_store(deploy_bin: Path, folder: Path, owner: str | None) -> Path:
    """The fixture CSV imported with the real tokenctl into folder/tokens.db (folder 0750),
    then handed to `owner`, like /var/lib/udesk-token."""
    folder.mkdir(mode=0o750, parents=True)
    store = folder / "tokens.db"
    cp = run([deploy_bin / "tokenctl", "--store", store, "import", FIXTURE_CSV], env=clean_env())
    assert cp.returncode == 0, cp.stderr.decode()
    if owner is not None:
        chown_tree(folder, owner)
    return store


@pytest.fixture(scope="module")
def service_store(deploy_bin, shared_dir) -> Path:
    return make_store(deploy_bin, shared_dir / "store", SERVICE_USER)


def serve_fd0(cmd: list, listener_path: Path, log: Path, preexec_fn=None, env=None):
    """Starts `cmd` with a listening Unix socket at listener_path as its fd 0 (what systemd's
    StandardInput=socket and spawn-fcgi hand over). Returns the Popen."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(listener_path))
    listener.listen(64)
    os.chmod(listener_path, 0o666)
    with open(log, "ab") as logf:
        proc = subprocess.Popen([str(c) for c in cmd], stdin=listener.fileno(), stdout=logf,
                                stderr=subprocess.STDOUT, env=env or clean_env(), start_new_session=True,
                                preexec_fn=preexec_fn)
    listener.close()
    return proc


# ----------------------------------------------------------------------------------------
# MemoryDenyWriteExecute=yes, approximated with Linux's PR_SET_MDWE (6.3+)

PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN = 65, 1


def set_mdwe():
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_MDWE)")


@pytest.fixture(scope="module")
def mdwe_supported():
    cp = subprocess.run([sys.executable, "-c", "import ctypes,sys; l=ctypes.CDLL(None);"
                         " sys.exit(0 if l.prctl(65,1,0,0,0)==0 else 1)"], timeout=30)
    if cp.returncode != 0:
        pytest.skip("kernel without PR_SET_MDWE (Linux < 6.3): cannot emulate MemoryDenyWriteExecute=yes")


def test_responder_runs_with_memory_deny_write_execute(mdwe_supported, deploy_bin, service_store, shared_dir):
    # FastCGI on fd 0, as under systemd
    sock = shared_dir / "mdwe.sock"
    log = shared_dir / "mdwe.log"
    proc = serve_fd0([deploy_bin / "token-responder"], sock, log, preexec_fn=set_mdwe,
                     env=clean_env(TOKEN_STORE=service_store))
    try:
        wait_until(lambda: proc.poll() is not None or unix_connectable(sock), 10, what="responder under MDWE")
        assert proc.poll() is None, f"token-responder died under PR_SET_MDWE:\n{tail(log)}"
        with FastCGIConnection(sock) as conn:
            for _ in range(3):
                r = conn.request(BODY)
                assert (r.status, r.body) == (200, TOKEN), (r.stdout, tail(log))
    finally:
        assert stop_process(proc, timeout=5) == 0, tail(log)
    # plain CGI, a process per request
    env = clean_env(TOKEN_STORE=service_store, GATEWAY_INTERFACE="CGI/1.1", REQUEST_METHOD="POST",
                    CONTENT_TYPE=UDESK_CONTENT_TYPE, CONTENT_LENGTH=len(BODY))
    cp = subprocess.run([str(deploy_bin / "token-responder")], input=BODY, env=env, capture_output=True,
                        timeout=30, preexec_fn=set_mdwe)
    assert cp.returncode == 0, cp.stderr.decode()
    assert parse_cgi(cp.stdout)[::2] == (200, TOKEN)


# ----------------------------------------------------------------------------------------
# SystemCallFilter=@system-service ~@privileged @resources, checked with strace


def syscall_groups(systemd_analyze: str) -> dict[str, set[str]]:
    cp = run([systemd_analyze, "syscall-filter"])
    groups: dict[str, list[str]] = {}
    current = None
    for line in cp.stdout.decode().splitlines():
        if line.startswith("@"):
            current = line.split()[0]
            groups[current] = []
        elif current and line.strip() and not line.strip().startswith("#"):
            groups[current].append(line.strip())

    def expand(name, seen=()):
        out = set()
        for item in groups.get(name, []):
            out |= expand(item, seen + (name,)) if item.startswith("@") and item not in seen else {item}
        return out

    return {name: expand(name) for name in groups}


def unit_syscall_filter(groups) -> set[str]:
    allowed: set[str] = set()
    for value in parse_unit(UNITS / "token-responder.service")["SystemCallFilter"]:
        deny = value.startswith("~")
        names = set()
        for item in value.lstrip("~").split():
            names |= groups[item] if item.startswith("@") else {item}
        allowed = allowed - names if deny else allowed | names
    return allowed


def test_responder_syscalls_pass_the_units_filter(systemd_analyze, deploy_bin, service_store, shared_dir):
    strace = shutil.which("strace")
    if strace is None:
        pytest.skip("strace not found (apt-get install strace)")
    allowed = unit_syscall_filter(syscall_groups(systemd_analyze))
    assert {"read", "epoll_wait", "accept4"} <= allowed
    sock = shared_dir / "strace.sock"
    trace = shared_dir / "strace.txt"
    log = shared_dir / "strace.log"
    cmd = [strace, "-f", "-qq", "-o", trace]
    if SERVICE_USER:  # as root: trace it as the unprivileged user it runs as in production
        cmd += ["-u", SERVICE_USER]
    proc = serve_fd0(cmd + ["--", deploy_bin / "token-responder"], sock, log,
                     env=clean_env(TOKEN_STORE=service_store))
    try:
        wait_until(lambda: proc.poll() is not None or unix_connectable(sock), 20, what="traced responder")
        assert proc.poll() is None, tail(log)
        with FastCGIConnection(sock, timeout=10) as conn:
            assert conn.request(BODY).body == TOKEN
            assert conn.request(UNKNOWN_BODY).status == 404
        traced = wait_until(lambda: children_of(proc.pid), 5, what="strace's child")
        for pid in traced:
            os.kill(pid, signal.SIGTERM)
        proc.wait(timeout=10)
    finally:
        stop_process(proc, timeout=5)
    # Only what happens from the exec of the program on: under systemd, the filter is installed
    # then; before it, strace's child switched user (setuid & co. are systemd's job there).
    lines = trace.read_text().splitlines()
    start = next((i for i, line in enumerate(lines)
                  if re.match(r"^\d+\s+execve\(\"[^\"]*/token-responder\"", line)), None)
    assert start is not None, "\n".join(lines[:50])
    text = "\n".join(lines[start:])
    used = set(re.findall(r"^\d+\s+([a-z_0-9]+)\(", text, re.M))
    assert len(used) > 10, text[:2000]
    assert not used - allowed, f"system calls outside the unit's SystemCallFilter: {sorted(used - allowed)}"
    # MemoryDenyWriteExecute=yes (seccomp variant): no W+X mapping, no mprotect adding PROT_EXEC
    wx = [line for line in text.splitlines()
          if re.search(r"\b(mmap|mprotect|pkey_mprotect)\(.*PROT_WRITE\|PROT_EXEC", line)
          or re.search(r"\b(mprotect|pkey_mprotect)\(.*PROT_EXEC", line)]
    assert not wx, wx[:5]


# ----------------------------------------------------------------------------------------
# deploy/spawn-fcgi.sh


def documented_spawn_command() -> str:
    header = SPAWN_SCRIPT.read_text().split("\nset -eu", 1)[0]
    m = re.search(r"#   (spawn-fcgi -s .*?)\n#\n", header, re.S)
    assert m, "documented command not found in deploy/spawn-fcgi.sh"
    return " ".join(part.strip(" #\\") for part in m.group(1).splitlines()).replace("  ", " ")


def test_spawn_fcgi_default_command_is_the_documented_one():
    if not IS_ROOT:
        pytest.skip("the -u/-g/-G part only appears as root")
    cp = run(["sh", SPAWN_SCRIPT, "--dry-run"], env=clean_env(DEFAULTS_FILE=""))
    assert cp.returncode == 0, cp.stderr.decode()
    printed = cp.stdout.decode().strip()
    assert printed == "TOKEN_STORE=/var/lib/udesk-token/tokens.db " + documented_spawn_command()
    readme = (DEPLOY / "README.md").read_text()
    assert documented_spawn_command() in " ".join(readme.replace("\\\n", " ").split())


@pytest.fixture
def spawn_env(deploy_bin, service_store, shared_dir):
    run_dir = Path(tempfile.mkdtemp(prefix="run-", dir=shared_dir))
    os.chmod(run_dir, 0o755)
    env = clean_env(DEFAULTS_FILE="", TOKEN_STORE=service_store, TOKEN_SOCKET=run_dir / "t.sock",
                    RESPONDER_BIN=deploy_bin / "token-responder", PID_FILE=run_dir / "t.pid")
    if SERVICE_USER:
        env["RESPONDER_USER"] = SERVICE_USER
    if SOCKET_GROUP:
        env["SOCKET_GROUP"] = SOCKET_GROUP
    return env, run_dir / "t.sock", run_dir / "t.pid"


def check_spawned(sock: Path, pid: int):
    st = os.stat(sock)
    assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o660, oct(st.st_mode)
    if SERVICE_USER:
        assert os.stat(f"/proc/{pid}").st_uid == pwd.getpwnam(SERVICE_USER).pw_uid, "responder not run as -u user"
    if SOCKET_GROUP:
        assert st.st_gid == grp.getgrnam(SOCKET_GROUP).gr_gid
    # nginx's side: a member of the socket's group (as root: www-data itself)
    cp = cgi_fcgi(sock, BODY, as_user=SOCKET_GROUP if SOCKET_GROUP and user_exists(SOCKET_GROUP) else None)
    assert cp.returncode == 0, cp.stderr.decode()
    assert parse_cgi(cp.stdout)[::2] == (200, TOKEN)
    cp = cgi_fcgi(sock, UNKNOWN_BODY)
    assert parse_cgi(cp.stdout)[0] == 404
    # anybody else is refused by the socket's permissions
    if OUTSIDER:
        cp = cgi_fcgi(sock, BODY, as_user=OUTSIDER)
        assert b"customer_token" not in cp.stdout and cp.returncode != 0, cp.stdout


def test_spawn_fcgi_script_forks_and_serves(spawn_env):
    if shutil.which("spawn-fcgi") is None or shutil.which("cgi-fcgi") is None:
        pytest.skip("spawn-fcgi or cgi-fcgi not found (apt-get install spawn-fcgi libfcgi-bin)")
    env, sock, pidfile = spawn_env
    for attempt in (1, 2):  # the second start finds the first one's socket file left behind
        cp = run(["sh", SPAWN_SCRIPT], env=env, timeout=30)
        assert cp.returncode == 0, (attempt, cp.stdout.decode(), cp.stderr.decode())
        pid = int(wait_until(lambda: pidfile.exists() and pidfile.read_text().strip(), 5, what="pid file"))
        try:
            wait_until(lambda: unix_connectable(sock), 10, what="spawned responder")
            check_spawned(sock, pid)
        finally:
            if pid_alive(pid):
                os.kill(pid, signal.SIGTERM)
            wait_until(lambda: not pid_alive(pid), 5, what="responder to exit after SIGTERM")


def test_spawn_fcgi_script_foreground_exits_zero_on_sigterm(spawn_env, shared_dir):
    if shutil.which("spawn-fcgi") is None or shutil.which("cgi-fcgi") is None:
        pytest.skip("spawn-fcgi or cgi-fcgi not found (apt-get install spawn-fcgi libfcgi-bin)")
    env, sock, _ = spawn_env
    log = shared_dir / "spawn-foreground.log"
    with open(log, "ab") as logf:
        proc = subprocess.Popen(["sh", str(SPAWN_SCRIPT), "--foreground"], env=env, stdin=subprocess.DEVNULL,
                                stdout=logf, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_until(lambda: proc.poll() is not None or unix_connectable(sock), 10, what="spawn-fcgi -n")
        assert proc.poll() is None, tail(log)
        check_spawned(sock, proc.pid)  # -n: the script's process became the responder
    finally:
        code = stop_process(proc, timeout=5)
    assert code == 0, f"exit status {code} after SIGTERM:\n{tail(log)}"


# ----------------------------------------------------------------------------------------
# deploy/cgi: fcgiwrap behind nginx


def http_request(port: int, path: str, body: bytes | None = BODY, method: str = "POST", timeout: float = 10):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        headers = {"Content-Type": UDESK_CONTENT_TYPE} if body is not None else {}
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


@pytest.fixture(scope="module")
def cgi_store(deploy_bin, shared_dir) -> Path:
    """The store for CGI hosting: owned by the web server's user (www-data as root)."""
    return make_store(deploy_bin, shared_dir / "cgi-store", "www-data" if IS_ROOT and user_exists("www-data") else None)


@pytest.fixture(scope="module")
def fcgiwrap_nginx(deploy_bin, cgi_store, shared_dir):
    fcgiwrap = shutil.which("fcgiwrap") or ("/usr/sbin/fcgiwrap" if os.access("/usr/sbin/fcgiwrap", os.X_OK) else None)
    if fcgiwrap is None:
        pytest.skip("fcgiwrap not found (apt-get install fcgiwrap)")
    if not os.access(NGINX, os.X_OK):
        pytest.skip(f"{NGINX} not found (apt-get install nginx-light)")
    base = shared_dir / "fcgiwrap"
    prefix = base / "nginx"
    for d in ("snippets", "logs", "tmp"):
        (prefix / d).mkdir(parents=True)
    cgi_bin = base / "cgi-bin"
    cgi_bin.mkdir()
    shutil.copy2(deploy_bin / "token-responder", cgi_bin / "udesk-token")
    wrap_sock = base / "fcgiwrap.sock"
    snippet = (DEPLOY / "cgi" / "nginx-fcgiwrap.conf").read_text()
    for literal, value in (("/usr/local/lib/cgi-bin/udesk-token", cgi_bin / "udesk-token"),
                           ("/var/lib/udesk-token-cgi/tokens.db", cgi_store),
                           ("unix:/run/fcgiwrap.socket", f"unix:{wrap_sock}")):
        assert literal in snippet, f"{literal} no longer in deploy/cgi/nginx-fcgiwrap.conf"
        snippet = snippet.replace(literal, str(value))
    (prefix / "snippets" / "udesk-token-cgi.conf").write_text(snippet)
    shutil.copy2(REPO / "nginx" / "udesk-token-headers.conf", prefix / "snippets" / "udesk-token-headers.conf")
    shutil.copy2("/etc/nginx/fastcgi_params", prefix / "fastcgi_params")
    port = free_port()
    user = "user www-data;" if IS_ROOT and user_exists("www-data") else ""
    (prefix / "nginx.conf").write_text(f"""
daemon off; master_process on; worker_processes 1; {user}
pid {prefix}/nginx.pid; error_log {prefix}/logs/error.log info;
events {{ worker_connections 64; }}
http {{
    access_log {prefix}/logs/access.log;
    client_body_temp_path {prefix}/tmp/body; fastcgi_temp_path {prefix}/tmp/fastcgi;
    proxy_temp_path {prefix}/tmp/proxy; scgi_temp_path {prefix}/tmp/scgi; uwsgi_temp_path {prefix}/tmp/uwsgi;
    server {{
        listen 127.0.0.1:{port};
        include snippets/udesk-token-cgi.conf;
    }}
}}
""")
    if user:
        chown_tree(base, "www-data")
    cp = run([NGINX, "-t", "-p", prefix, "-c", prefix / "nginx.conf"])
    assert cp.returncode == 0, cp.stderr.decode()
    # fcgiwrap runs the CGI as its own user: www-data, as Debian's fcgiwrap.service does
    logf = open(base / "fcgiwrap.log", "ab")
    wrap = subprocess.Popen([fcgiwrap, "-s", f"unix:{wrap_sock}"], stdin=subprocess.DEVNULL, stdout=logf,
                            stderr=subprocess.STDOUT, env=clean_env(), start_new_session=True,
                            **as_user_kw("www-data" if user else None))
    nginx = subprocess.Popen([NGINX, "-p", str(prefix), "-c", str(prefix / "nginx.conf")],
                             stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
                             start_new_session=True)
    try:
        wait_until(lambda: wrap.poll() is not None or unix_connectable(wrap_sock), 10, what="fcgiwrap")
        wait_until(lambda: nginx.poll() is not None or tcp_connectable(port), 10, what="nginx")
        assert wrap.poll() is None and nginx.poll() is None, tail(base / "fcgiwrap.log")
        yield port, prefix
    finally:
        stop_process(nginx, timeout=5)
        stop_process(wrap, timeout=5)
        logf.close()


def test_fcgiwrap_behind_nginx_runs_the_cgi(fcgiwrap_nginx):
    port, prefix = fcgiwrap_nginx
    status, headers, body = http_request(port, ENDPOINT)
    assert (status, body) == (200, TOKEN), (status, body, tail(prefix / "logs" / "error.log"))
    assert headers["content-type"] == "application/json; charset=utf-8"
    status, _, body = http_request(port, ENDPOINT, UNKNOWN_BODY)
    assert status == 404 and b"unknown_number" in body
    status, headers, _ = http_request(port, ENDPOINT, None, method="GET")
    assert status == 405 and headers.get("allow") == "POST"


# ----------------------------------------------------------------------------------------
# deploy/cgi: Apache (ScriptAlias, .htaccess for shared hosting, the suEXEC wrapper)

APACHE_MODULES = ["mpm_event", "authz_core", "alias", "cgid", "env", "mime", "rewrite"]


def test_fcgiwrap_snippet_has_health_json_errors_and_headers(fcgiwrap_nginx):
    """The CGI snippet answers /udesk/health, sends the security headers and answers nginx's own
    errors as JSON, as the FastCGI snippet does; TOKEN_LOG_LEVEL=warning keeps info lines out of
    nginx's error log."""
    port, prefix = fcgiwrap_nginx
    status, headers, body = http_request(port, "/udesk/health", body=None, method="GET")
    assert (status, json.loads(body)) == (200, {"status": "ok"}), (status, body)
    status, headers, body = http_request(port, ENDPOINT)
    assert status == 200
    assert headers["strict-transport-security"] == "max-age=31536000"
    assert headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
    assert headers.get("x-content-type-options") == "nosniff"
    status, headers, body = http_request(port, ENDPOINT, body=b"x" * 20000)
    assert status == 413 and json.loads(body)["error"] == "body_too_large", (status, body)
    assert headers["content-type"] == "application/json; charset=utf-8"
    assert headers["referrer-policy"] == "no-referrer"
    assert "FastCGI sent in stderr" not in tail(prefix / "logs" / "error.log")


@pytest.fixture(scope="module")
def apache(deploy_bin, cgi_store, shared_dir):
    if not os.access(APACHE, os.X_OK):
        pytest.skip(f"{APACHE} not found (apt-get install apache2)")
    moddir = Path("/usr/lib/apache2/modules")
    missing = [m for m in APACHE_MODULES if not (moddir / f"mod_{m}.so").exists()]
    if missing:
        pytest.skip(f"Apache modules missing: {missing}")
    run_as = "www-data" if IS_ROOT and user_exists("www-data") else None
    base = shared_dir / "apache"
    for d in ("logs", "run", "conf", "cgi-bin", "docroot/shared/udesk", "docroot/wrapped/udesk", "home"):
        (base / d).mkdir(parents=True)
    binary = deploy_bin / "token-responder"
    # 1. ScriptAlias (deploy/cgi/apache-udesk-token.conf)
    shutil.copy2(binary, base / "cgi-bin" / "udesk-token")
    conf = (DEPLOY / "cgi" / "apache-udesk-token.conf").read_text()
    for literal, value in (("/usr/lib/cgi-bin", base / "cgi-bin"), ("/var/lib/udesk-token-cgi/tokens.db", cgi_store)):
        assert literal in conf, f"{literal} no longer in deploy/cgi/apache-udesk-token.conf"
        conf = conf.replace(literal, str(value))
    (base / "conf" / "udesk-token.conf").write_text(conf)
    # 2. shared hosting: .htaccess + the binary as udesk-token.cgi
    htaccess = (DEPLOY / "cgi" / "htaccess").read_text()
    assert "/home/example/udesk-token/tokens.db" in htaccess
    (base / "docroot/shared/udesk/.htaccess").write_text(
        htaccess.replace("/home/example/udesk-token/tokens.db", str(cgi_store)))
    shutil.copy2(binary, base / "docroot/shared/udesk/udesk-token.cgi")
    # 3. suEXEC-style: the wrapper script as udesk-token.cgi, no SetEnv at all
    (base / "docroot/wrapped/udesk/.htaccess").write_text(
        "\n".join(line for line in htaccess.splitlines() if not line.startswith("SetEnv")) + "\n")
    wrapper = (DEPLOY / "cgi" / "udesk-token-wrapper.cgi").read_text()
    wrapper = wrapper.replace("/home/example/udesk-token/tokens.db", str(cgi_store))
    wrapper = wrapper.replace("/home/example/udesk-token/token-responder", str(binary))
    (base / "docroot/wrapped/udesk/udesk-token.cgi").write_text(wrapper)
    for f in (base / "docroot/shared/udesk/udesk-token.cgi", base / "docroot/wrapped/udesk/udesk-token.cgi"):
        os.chmod(f, 0o755)
    port = free_port()
    loads = "\n".join(f"LoadModule {m}_module {moddir}/mod_{m}.so" for m in APACHE_MODULES)
    user = f"User {run_as}\nGroup {run_as}" if run_as else ""
    (base / "conf" / "httpd.conf").write_text(f"""
ServerRoot {base}
PidFile {base}/run/httpd.pid
Listen 127.0.0.1:{port}
ServerName localhost
{loads}
TypesConfig /etc/mime.types
{user}
ErrorLog {base}/logs/error.log
LogLevel info
ScriptSock {base}/run/cgid.sock
Mutex file:{base}/run
<Directory />
    AllowOverride None
    Require all denied
</Directory>
DocumentRoot {base}/docroot
<Directory {base}/docroot>
    AllowOverride Options FileInfo AuthConfig
    Require all granted
</Directory>
Include conf/udesk-token.conf
""")
    cp = run([APACHE, "-t", "-f", base / "conf" / "httpd.conf"])
    assert cp.returncode == 0, cp.stderr.decode()
    logf = open(base / "logs" / "stderr.log", "ab")
    proc = subprocess.Popen([APACHE, "-f", str(base / "conf" / "httpd.conf"), "-DFOREGROUND"],
                            stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
                            env=clean_env(), start_new_session=True)
    try:
        wait_until(lambda: proc.poll() is not None or tcp_connectable(port), 15, what="apache")
        assert proc.poll() is None, tail(base / "logs" / "error.log")
        yield port, base
    finally:
        stop_process(proc, timeout=10)
        logf.close()


@pytest.mark.parametrize("path", [
    ENDPOINT,                                  # ScriptAlias
    "/shared/udesk/customer_token",            # .htaccess + mod_rewrite
    "/shared/udesk/udesk-token.cgi",           # .htaccess, no rewrite
    "/wrapped/udesk/customer_token",           # suEXEC-style wrapper, no SetEnv
])
def test_apache_runs_the_cgi(apache, path):
    port, base = apache
    status, headers, body = http_request(port, path)
    assert (status, body) == (200, TOKEN), (status, body, tail(base / "logs" / "error.log"))
    assert headers["content-type"] == "application/json; charset=utf-8"
    status, _, body = http_request(port, path, udesk_body("not a number"))
    assert status == 422, body


def test_apache_htaccess_serves_nothing_else(apache):
    port, _ = apache
    for path in ("/shared/udesk/.htaccess", "/shared/udesk/tokens.db", "/shared/udesk/customers.csv"):
        status, _, _ = http_request(port, path, None, method="GET")
        assert status in (403, 404), (path, status)
    status, _, _ = http_request(port, "/shared/udesk/.htaccess", None, method="GET")
    assert status == 403


# ----------------------------------------------------------------------------------------
# deploy/install.sh


def snapshot(root: Path) -> dict:
    out = {}
    for p in sorted(root.rglob("*")):
        st = p.lstat()
        entry = (stat.filemode(st.st_mode), st.st_uid, st.st_gid, st.st_mtime_ns)
        if p.is_file():
            entry += (hashlib.sha256(p.read_bytes()).hexdigest(),)
        out[str(p.relative_to(root))] = entry
    return out


def install(destdir: Path, binaries: Path, *args) -> subprocess.CompletedProcess:
    cp = run(["sh", INSTALL_SCRIPT, "--destdir", destdir, "--bin-dir", binaries, *args],
             env=clean_env(), timeout=120)
    assert cp.returncode == 0, f"install.sh exited {cp.returncode}:\n{cp.stdout.decode()}\n{cp.stderr.decode()}"
    return cp


EXPECTED_FILES = {
    "usr/local/bin/token-responder": "-rwxr-xr-x",
    "usr/local/bin/tokenctl": "-rwxr-xr-x",
    "usr/local/share/doc/token-responder/README.md": "-rw-r--r--",
    "etc/systemd/system/token-responder.socket": "-rw-r--r--",
    "etc/systemd/system/token-responder.service": "-rw-r--r--",
    "etc/systemd/system/udesk-token-import.service": "-rw-r--r--",
    "etc/systemd/system/udesk-token-import.timer": "-rw-r--r--",
    "etc/nginx/conf.d/udesk-token-upstream.conf": "-rw-r--r--",
    "etc/nginx/snippets/udesk-token-location.conf": "-rw-r--r--",
    "etc/nginx/snippets/udesk-token-headers.conf": "-rw-r--r--",
    "etc/nginx/snippets/udesk-token-allowlist.conf": "-rw-r--r--",
    "etc/nginx/sites-available/udesk-token": "-rw-r--r--",
    "etc/default/token-responder": "-rw-r--r--",
    "var/lib/udesk-token": "drwxr-x---",
}


def test_install_into_destdir_twice_changes_nothing(binaries, tmp_path):
    root = tmp_path / "root"
    first = install(root, binaries).stdout.decode()
    snap = snapshot(root)
    for path, mode in EXPECTED_FILES.items():
        assert path in snap, f"{path} not installed:\n{first}"
        assert snap[path][0] == mode, (path, snap[path][0])
    assert (root / "usr/local/bin/token-responder").read_bytes() == (binaries / "token-responder").read_bytes()
    assert (root / "etc/systemd/system/token-responder.service").read_bytes() == \
        (UNITS / "token-responder.service").read_bytes()
    assert (root / "etc/nginx/conf.d/udesk-token-upstream.conf").read_bytes() == \
        (REPO / "nginx/udesk-token-upstream.conf").read_bytes()
    assert "installed /usr/local/bin/token-responder" in first

    time.sleep(0.05)  # a rewrite would show as a new mtime
    second = install(root, binaries).stdout.decode()
    assert "nothing changed" in second, second
    assert not re.search(r"^(installed|created|chmod|chown) ", second, re.M), second
    assert snapshot(root) == snap, "the second run changed files"


def test_install_keeps_edited_settings_and_restores_shipped_files(binaries, tmp_path):
    root = tmp_path / "root"
    install(root, binaries)
    defaults = root / "etc/default/token-responder"
    site = root / "etc/nginx/sites-available/udesk-token"
    defaults.write_text("TOKEN_UNKNOWN=empty\n")
    site.write_text(site.read_text().replace("udesk-token.example.com", "token.example.net"))
    upstream = root / "etc/nginx/conf.d/udesk-token-upstream.conf"
    upstream.write_text("# broken\n")
    os.chmod(root / "usr/local/bin/tokenctl", 0o700)
    out = install(root, binaries).stdout.decode()
    assert defaults.read_text() == "TOKEN_UNKNOWN=empty\n"
    assert "token.example.net" in site.read_text()
    assert "kept      /etc/default/token-responder" in out
    assert upstream.read_bytes() == (REPO / "nginx/udesk-token-upstream.conf").read_bytes()
    assert stat.S_IMODE((root / "usr/local/bin/tokenctl").stat().st_mode) == 0o755
    assert "2 change(s)" in out, out


def test_install_prefix_is_followed_by_the_units(binaries, tmp_path):
    root = tmp_path / "root"
    install(root, binaries, "--prefix", "/opt/udesk", "--no-nginx")
    assert os.access(root / "opt/udesk/bin/token-responder", os.X_OK)
    assert not (root / "usr/local").exists() and not (root / "etc/nginx").exists()
    svc = parse_unit(root / "etc/systemd/system/token-responder.service")
    assert one(svc, "ExecStart") == "/opt/udesk/bin/token-responder"
    imp = parse_unit(root / "etc/systemd/system/udesk-token-import.service")
    assert one(imp, "ExecStart").startswith("/opt/udesk/bin/tokenctl ")
    for unit in (root / "etc/systemd/system").iterdir():
        assert "/usr/local/" not in unit.read_text(), unit


def test_make_install_target(binaries, tmp_path):
    if shutil.which("make") is None:
        pytest.skip("make not found")
    root = tmp_path / "root"
    cp = run(["make", "-C", DEPLOY, "install", f"DESTDIR={root}", f"BIN_DIR={binaries}"], env=clean_env(),
             timeout=120)
    assert cp.returncode == 0, cp.stdout.decode() + cp.stderr.decode()
    assert os.access(root / "usr/local/bin/tokenctl", os.X_OK)


def test_install_refuses_the_real_root_without_root():
    if IS_ROOT:
        pytest.skip("running as root: the real-root path would change this machine")
    cp = run(["sh", INSTALL_SCRIPT, "--bin-dir", "/nonexistent"], env=clean_env(), timeout=30)
    assert cp.returncode != 0 and b"run as root" in cp.stderr
