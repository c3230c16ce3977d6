"""The Debian package, end to end: built with dpkg-buildpackage from a clean clone of HEAD
(DEB_BUILD_OPTIONS=nocheck: the unit tests ran already), checked with lintian, installed with
dpkg -i, its files listed, its binaries, man pages and completions run, the installed responder
started by hand as the package's user against a store made with the installed tokenctl and
asked through FastCGI, then purged: everything gone but the store.

It changes this machine (a package, a system user, files under /etc, /usr, /var), so it runs
only as root and only where UDESK_PACKAGE_TEST is not 0; it refuses to run over an
udesk-token-responder that was installed before.  Most of its time is the release build (about
8 minutes on 2 busy cores); it prints how long each step took (pytest -s shows it).  The .deb is
compressed with gzip (DPKG_DEB_COMPRESSOR_TYPE) rather than xz, to save minutes.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from udesk_it import FIXTURE_CSV, REPO, FastCGIConnection, tail, udesk_body, unix_connectable, wait_until

PACKAGE = "udesk-token-responder"
BUILD_TIMEOUT = 1800
SWIFT_BIN = os.environ.get("SWIFT_BIN", "/opt/swift/usr/bin")
LOCK = ["-o", "DPkg::Lock::Timeout=300"]

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or os.environ.get("UDESK_PACKAGE_TEST") == "0",
    reason="installs a package on this machine: root only (UDESK_PACKAGE_TEST=0 skips it)")


def run(cmd, timeout: float = 120, check: bool = True, **kw) -> subprocess.CompletedProcess:
    cp = subprocess.run([str(c) for c in cmd], capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL, **kw)
    if check:
        assert cp.returncode == 0, (f"{' '.join(map(str, cmd))} exited {cp.returncode}:\n"
                                    f"{cp.stdout.decode(errors='replace')[-4000:]}\n{cp.stderr.decode(errors='replace')[-4000:]}")
    return cp


def upstream(version: str) -> str:
    """The upstream part of a Debian version (0.1.0 of 1:0.1.0-2): what --version prints."""
    version = version.split(":", 1)[-1]
    return version.rsplit("-", 1)[0] if "-" in version else version


def installed() -> bool:
    cp = run(["dpkg-query", "-W", "-f=${Status}", PACKAGE], check=False)
    return cp.returncode == 0 and b"install ok installed" in cp.stdout


def timed(steps: dict, name: str, started: float):
    steps[name] = time.monotonic() - started
    print(f"package test: {name}: {steps[name]:.1f} s")


@pytest.fixture(scope="module")
def deb(tmp_path_factory):
    """(path of the built .deb, version, seconds per step)."""
    for tool in ("dpkg-buildpackage", "dh", "lintian", "git"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} not found: scripts/install-deps.sh --tests installs dpkg-dev, debhelper, lintian")
    if not os.access(Path(SWIFT_BIN) / "swift", os.X_OK):
        pytest.skip(f"no swift in {SWIFT_BIN} (SWIFT_BIN=DIR)")
    if installed():
        pytest.skip(f"{PACKAGE} is installed on this machine already: not touching it")
    work = tmp_path_factory.mktemp("deb")
    steps: dict = {}
    t = time.monotonic()
    run(["git", "clone", "--quiet", "--no-hardlinks", REPO, work / "src"])
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TOKEN_", "DEB_"))}
    # gzip instead of dpkg-deb's default xz: 80 MB of binaries take minutes to xz on a busy
    # machine, and the compressor changes nothing the test looks at.
    env.update(DEB_BUILD_OPTIONS="nocheck", SWIFT_BIN=SWIFT_BIN, DPKG_DEB_COMPRESSOR_TYPE="gzip")
    cp = run(["dpkg-buildpackage", "-b", "-us", "-uc"], cwd=work / "src", env=env, timeout=BUILD_TIMEOUT, check=False)
    (work / "build.log").write_bytes(cp.stdout + cp.stderr)
    assert cp.returncode == 0, f"dpkg-buildpackage exited {cp.returncode}:\n{tail(work / 'build.log', 6000)}"
    timed(steps, "clone and dpkg-buildpackage", t)
    version = run(["dpkg-parsechangelog", "-S", "Version"], cwd=work / "src").stdout.decode().strip()
    arch = run(["dpkg", "--print-architecture"]).stdout.decode().strip()
    path = work / f"{PACKAGE}_{version}_{arch}.deb"
    assert path.exists(), sorted(p.name for p in work.iterdir())
    return path, version, steps


@pytest.fixture(scope="module")
def installed_package(deb):
    """The package installed with dpkg -i; purged at the end (if the test did not)."""
    path, version, steps = deb
    store_dir = Path("/var/lib/udesk-token")
    store_existed = store_dir.exists()
    t = time.monotonic()
    cp = run(["dpkg", "-i", path], timeout=300, check=False)
    if cp.returncode != 0:  # dpkg's lock held by another apt run: wait for it as apt would
        run(["apt-get", *LOCK, "install", "-y", "--no-install-recommends", path], timeout=600)
    timed(steps, "dpkg -i", t)
    try:
        yield path, version, steps
    finally:
        if installed():
            run(["apt-get", *LOCK, "purge", "-y", PACKAGE], timeout=600, check=False)
        if not store_existed:
            shutil.rmtree(store_dir, ignore_errors=True)


def test_lintian_is_clean(deb):
    path, _, steps = deb
    t = time.monotonic()
    cp = run(["lintian", "--fail-on", "error,warning", "--display-info", "--no-tag-display-limit", path],
             timeout=600, check=False)
    timed(steps, "lintian", t)
    out = cp.stdout.decode() + cp.stderr.decode()
    assert cp.returncode == 0, out
    assert not re.search(r"^[EW]: ", out, re.M), out


def test_package_fields(deb):
    path, version, _ = deb
    fields = run(["dpkg-deb", "-f", path, "Package", "Version", "Depends", "Recommends"]).stdout.decode()
    assert f"Version: {version}" in fields
    depends = re.search(r"^Depends: (.*)$", fields, re.M).group(1)
    # From dh_shlibdeps: the libraries the binaries link; no Swift runtime (linked statically).
    for lib in ("libfcgi0ldbl", "libsqlite3-0", "libcurl4", "libc6"):
        assert lib in depends, depends
    assert "swift" not in depends.lower()
    # libpq is dlopened only for a postgresql:// store: a Recommends, deliberately.
    assert "libpq5" in re.search(r"^Recommends: (.*)$", fields, re.M).group(1)
    conffiles = run(["dpkg-deb", "--ctrl-tarfile", path]).stdout
    ctrl = subprocess.run(["tar", "-xO", "./conffiles"], input=conffiles, capture_output=True).stdout.decode()
    for conffile in ("/etc/default/token-responder", "/etc/logrotate.d/token-responder",
                     "/etc/nginx/conf.d/udesk-token-upstream.conf", "/etc/nginx/snippets/udesk-token-location.conf",
                     "/etc/nginx/snippets/udesk-token-headers.conf", "/etc/nginx/snippets/udesk-token-allowlist.conf",
                     "/etc/nginx/snippets/udesk-token-cgi.conf", "/etc/nginx/sites-available/udesk-token"):
        assert conffile in ctrl.splitlines(), (conffile, ctrl)


EXPECTED = [
    "/usr/bin/token-responder", "/usr/bin/tokenctl",
    "/lib/systemd/system/token-responder.socket", "/lib/systemd/system/token-responder.service",
    "/lib/systemd/system/udesk-token-import.service", "/lib/systemd/system/udesk-token-import.timer",
    "/usr/lib/sysusers.d/udesk-token.conf", "/usr/lib/tmpfiles.d/udesk-token.conf",
    "/etc/default/token-responder", "/etc/logrotate.d/token-responder",
    "/etc/nginx/conf.d/udesk-token-upstream.conf", "/etc/nginx/snippets/udesk-token-location.conf",
    "/etc/nginx/sites-available/udesk-token",
    "/usr/share/man/man1/tokenctl.1.gz", "/usr/share/man/man8/token-responder.8.gz",
    "/usr/share/bash-completion/completions/tokenctl", "/usr/share/zsh/vendor-completions/_tokenctl",
    "/usr/share/fish/vendor_completions.d/tokenctl.fish",
    "/usr/share/doc/udesk-token-responder/copyright", "/usr/share/doc/udesk-token-responder/DEPLOY.md",
]


def test_installed_files_user_and_folders(installed_package):
    listed = set(run(["dpkg", "-L", PACKAGE]).stdout.decode().splitlines())
    for path in EXPECTED:
        assert path in listed, path
        assert os.path.exists(path), path
    assert not any(p.startswith("/etc/nginx/sites-enabled") for p in listed)
    assert not os.path.exists("/etc/nginx/sites-enabled/udesk-token")
    # sysusers.d and tmpfiles.d applied by the postinst, without systemd running.
    user = pwd.getpwnam("udesk-token")
    assert user.pw_shell == "/usr/sbin/nologin" and user.pw_dir == "/var/lib/udesk-token"
    assert "www-data" in run(["getent", "group", "udesk-fcgi"]).stdout.decode()
    for folder in ("/var/lib/udesk-token", "/var/log/udesk-token"):
        st = os.stat(folder)
        assert (st.st_uid, oct(st.st_mode & 0o777)) == (user.pw_uid, "0o750"), folder
    # deb-systemd-helper enabled the socket (the symlink exists even where systemd is not PID 1).
    assert os.path.islink("/etc/systemd/system/sockets.target.wants/token-responder.socket")
    assert not os.path.exists("/etc/systemd/system/timers.target.wants/udesk-token-import.timer")
    svc = Path("/lib/systemd/system/token-responder.service").read_text()
    assert "ExecStart=/usr/bin/token-responder\n" in svc and "/usr/local" not in svc
    # The installed units as they are pass systemd-analyze verify (ExecStart= now exists).
    cp = run(["systemd-analyze", "verify", "--man=no", "/lib/systemd/system/token-responder.socket",
              "/lib/systemd/system/token-responder.service", "/lib/systemd/system/udesk-token-import.service",
              "/lib/systemd/system/udesk-token-import.timer"], check=False)
    out = cp.stdout.decode() + cp.stderr.decode()
    assert cp.returncode == 0 and not re.search(r"(token-responder|udesk-token-import)\.\w+:", out), out


def test_installed_binaries_version_help_man_and_completions(installed_package):
    _, version, _ = installed_package
    for tool in ("/usr/bin/tokenctl", "/usr/bin/token-responder"):
        assert run([tool, "--version"]).stdout.decode().strip() == upstream(version), tool
        assert b"USAGE:" in run([tool, "--help"]).stdout
        ldd = run(["ldd", tool]).stdout.decode()
        assert "libswift" not in ldd and "not found" not in ldd, ldd
    env = {**os.environ, "MANPAGER": "cat", "MANWIDTH": "80"}
    page = run(["man", "tokenctl"], env=env).stdout.decode()
    assert "tokenctl" in page and "--replace" in page
    assert run(["man", "-w", "8", "token-responder"], env=env).stdout.decode().strip() == \
        "/usr/share/man/man8/token-responder.8.gz"
    cp = run(["man", "--warnings", "-l", "/usr/share/man/man8/token-responder.8.gz"], env=env)
    assert "--socket" in cp.stdout.decode() and not cp.stderr, cp.stderr.decode()
    if shutil.which("bash"):
        cp = run(["bash", "-c", "source /usr/share/bash-completion/completions/tokenctl && complete -p tokenctl"])
        assert b"tokenctl" in cp.stdout


def test_installed_responder_answers_through_fastcgi(installed_package):
    """As deploy/README.md's spawn-fcgi section: the store made with the installed tokenctl as
    udesk-token, the responder started as udesk-token on a socket, one Udesk request."""
    _, version, _ = installed_package
    store = Path("/var/lib/udesk-token/package-test.db")
    user = pwd.getpwnam("udesk-token")
    # Under /tmp itself: udesk-token must reach the socket's folder (pytest's tmp_path is 0700).
    tmp_path = Path(tempfile.mkdtemp(prefix="udesk-package-", dir="/tmp"))
    try:
        with open(FIXTURE_CSV, "rb") as csv:
            cp = subprocess.run(["/usr/sbin/runuser", "-u", "udesk-token", "--", "/usr/bin/tokenctl", "--store", str(store),
                                 "import", "-"], stdin=csv, capture_output=True, timeout=60)
        assert cp.returncode == 0, cp.stderr.decode()
        run_dir = tmp_path / "run"
        run_dir.mkdir()
        os.chown(run_dir, user.pw_uid, user.pw_gid)
        os.chmod(tmp_path, 0o755)
        sock = run_dir / "fcgi.sock"
        log = tmp_path / "responder.log"
        with open(log, "ab") as logf:
            proc = subprocess.Popen(["/usr/sbin/runuser", "-u", "udesk-token", "--", "/usr/bin/token-responder",
                                     "--store", str(store), "--socket", str(sock)],
                                    stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
                                    env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}, start_new_session=True)
        try:
            wait_until(lambda: proc.poll() is not None or unix_connectable(sock), 20, what="the responder")
            assert proc.poll() is None, tail(log)
            with FastCGIConnection(sock) as conn:
                resp = conn.request(udesk_body(13800138000))
            assert resp.json() == {"customer_token": "cust-0001"}, resp.stdout
            # The start-up line is written by the log thread, after the socket listens.
            wait_until(lambda: f" version={upstream(version)} " in tail(log), 10,
                       what=f"version={upstream(version)} in the start-up line")
        finally:
            proc.terminate()
            proc.wait(timeout=15)
    finally:
        shutil.rmtree(tmp_path, ignore_errors=True)
        store.unlink(missing_ok=True)
        for suffix in ("-wal", "-shm"):
            Path(f"{store}{suffix}").unlink(missing_ok=True)


def test_purge_removes_everything_but_the_store(installed_package):
    """Runs last in this file (pytest keeps the order): apt-get purge, then only the store is left."""
    _, _, steps = installed_package
    keep = Path("/var/lib/udesk-token/keep-me.db")
    keep.write_text("an admin's store")
    t = time.monotonic()
    run(["apt-get", *LOCK, "purge", "-y", PACKAGE], timeout=600)
    timed(steps, "apt-get purge", t)
    assert not installed()
    assert run(["dpkg-query", "-W", "-f=${Status}", PACKAGE], check=False).stdout.decode() in ("", "unknown ok not-installed")
    for path in EXPECTED + ["/etc/systemd/system/sockets.target.wants/token-responder.socket", "/var/log/udesk-token"]:
        assert not os.path.lexists(path), path
    assert keep.read_text() == "an admin's store"
    keep.unlink()
    print("package test: " + ", ".join(f"{k} {v:.0f} s" for k, v in steps.items()))
