"""What the package ships, checked without building it: the version from its one source, the man
pages against the argument parsers, `make verify` on a misspelt unit key, install.sh's
--uninstall and --prefix /usr, the logrotate, sysusers.d and tmpfiles.d files, and the CGI
nginx snippet's health location, JSON error pages and security headers (test_package.py builds
and installs the .deb itself)."""

from __future__ import annotations

import grp
import json
import os
import pwd
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from udesk_it import REPO, Responder, bin_dir, wait_until

DEPLOY = REPO / "deploy"
MAN = REPO / "docs" / "man"
TOOLS = {"tokenctl": MAN / "tokenctl.1", "token-responder": MAN / "token-responder.8"}


def run(cmd, timeout: float = 60, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([str(c) for c in cmd], capture_output=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, **kw)


def clean_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOKEN_")}
    env.update(extra)
    return env


def changelog_version() -> str:
    """The upstream part of debian/changelog's top entry (0.1.0 of 0.1.0-1): the release."""
    first = (REPO / "debian" / "changelog").read_text().splitlines()[0]
    m = re.match(r"^udesk-token-responder \(([^)]+)\) ", first)
    assert m, first
    return m.group(1).split(":", 1)[-1].rsplit("-", 1)[0]


# ----------------------------------------------------------------------------------------
# --version


def test_version_comes_from_debian_changelog(binaries):
    """Both executables print the changelog's version, or (a development build) a git describe
    of it: 0.1.0+gHASH before the first tag, 0.1.0-N-gHASH after a tag v0.1.0."""
    release = changelog_version()
    printed = {run([binaries / n, "--version"]).stdout.decode().strip() for n in ("tokenctl", "token-responder")}
    assert len(printed) == 1, printed
    version = printed.pop()
    assert re.fullmatch(re.escape(release) + r"([+-][0-9A-Za-z.+-]+)?", version), (version, release)
    # The script the build plugin runs gives the same release part.
    cp = run(["sh", REPO / "scripts" / "product-version.sh"], env=clean_env())
    assert cp.returncode == 0, cp.stderr.decode()
    assert cp.stdout.decode().strip().startswith(release)


def test_product_version_script_follows_the_changelog_and_token_version(tmp_path):
    """A changed changelog changes the version; TOKEN_VERSION (what debian/rules sets) wins;
    outside git the release is used as it is."""
    tree = tmp_path / "tree"
    (tree / "scripts").mkdir(parents=True)
    (tree / "debian").mkdir()
    shutil.copy2(REPO / "scripts" / "product-version.sh", tree / "scripts")
    (tree / "debian" / "changelog").write_text(
        "udesk-token-responder (2:3.4.5-2) bookworm; urgency=medium\n\n  * x\n\n"
        " -- A <a@example.org>  Wed, 02 Dec 2026 03:00:00 +0000\n")
    script = tree / "scripts" / "product-version.sh"
    env = clean_env(GIT_CEILING_DIRECTORIES=str(tmp_path))
    assert run(["sh", script], env=env).stdout.decode().strip() == "3.4.5"
    assert run(["sh", script], env={**env, "TOKEN_VERSION": "9.9.9"}).stdout.decode().strip() == "9.9.9"
    out = tmp_path / "v.swift"
    assert run(["sh", script, "--swift", out], env=env).returncode == 0
    assert 'let generatedProductVersion = "3.4.5"' in out.read_text()
    bad = run(["sh", script], env={**env, "TOKEN_VERSION": "1.0 ; rm"})
    assert bad.returncode == 1 and b"bad version" in bad.stderr


def test_startup_line_carries_the_version(binaries, store, tmp_path):
    version = run([binaries / "token-responder", "--version"]).stdout.decode().strip()
    r = Responder(store, tmp_path / "v.sock", tmp_path / "v.log").start()
    try:
        wait_until(lambda: "serving FastCGI" in r.log(), 10, what="the start-up line")
        line = next(l for l in r.log().splitlines() if "serving FastCGI" in l)
        assert f" version={version} " in line, line
    finally:
        r.stop()


# ----------------------------------------------------------------------------------------
# Man pages: every command, option and argument the parser dumps, with its help text, is on
# the shipped page, and the page has nothing the parser does not.


def dump_help(tool: str) -> dict:
    cp = run([bin_dir() / tool, "--experimental-dump-help"], env=clean_env())
    assert cp.returncode == 0, cp.stderr.decode()
    return json.loads(cp.stdout)["command"]


def item_key(arg: dict) -> str:
    if arg.get("names"):
        return " ".join(sorted(("--" if n["kind"] == "long" else "-") + n["name"] for n in arg["names"]))
    return arg["valueName"]


def words(text: str) -> str:
    return " ".join(text.split())


def parser_model(command: dict, path=()) -> dict:
    """{(subcommand path): {item key: help abstract}} from --experimental-dump-help."""
    model = {path: {item_key(a): words(a.get("abstract", "")) for a in command.get("arguments", [])
                    if a.get("shouldDisplay", True)}}
    for sub in command.get("subcommands", []):
        if sub.get("shouldDisplay", True):
            model.update(parser_model(sub, path + (sub["commandName"],)))
    return model


def page_model(text: str) -> dict:
    """The same shape, read from the mdoc page generate-manual writes: a list (.Bl) of the
    command's items, where an `.It Em NAME` item is a subcommand whose own list follows."""
    model: dict = {}
    stack: list = []  # one entry per open .Bl: the command path it lists
    pending = ()  # the path a subcommand item opens for the next .Bl
    current = None  # (path, key) of the item whose description lines follow
    in_list = False
    for line in text.splitlines():
        if line.startswith(".Bl"):
            path = pending if stack else ()
            stack.append(path)
            model.setdefault(path, {})
            current, in_list = None, True
        elif line.startswith(".El"):
            stack.pop()
            current = None
        elif line.startswith(".It ") and stack:
            parts = line.split()[1:]
            if parts[0] == "Em":
                pending = stack[-1] + (parts[1],)
                current = None
                continue
            if parts[0] == "Fl":
                # ".It Fl h , -help" / ".It Fl -max-remove Ar N|P%": the names before "Ar".
                names = []
                for p in parts[1:]:
                    if p == "Ar":
                        break
                    if p not in ("Fl", ","):
                        names.append("-" + p)
                key = " ".join(sorted(names))
            else:
                key = parts[1].removesuffix("...")
            current = (stack[-1], key)
            model[stack[-1]][key] = ""
        elif current and not line.startswith(".") and in_list:
            path, key = current
            model[path][key] = words(model[path][key] + " " + line)
    return model


def mismatches(parser: dict, page: dict) -> list[str]:
    problems = []
    for path in sorted(set(parser) | set(page)):
        name = " ".join(path) or "(top level)"
        if path not in page:
            problems.append(f"{name}: not on the page")
            continue
        if path not in parser:
            problems.append(f"{name}: on the page, not in the parser")
            continue
        for key, abstract in parser[path].items():
            if key not in page[path]:
                problems.append(f"{name}: {key} not on the page")
            elif abstract and abstract not in page[path][key]:
                problems.append(f"{name}: help of {key} differs: {abstract!r} vs {page[path][key]!r}")
        for key in page[path]:
            if key not in parser[path]:
                problems.append(f"{name}: {key} on the page, not in the parser")
    return problems


def discussions(command: dict, path=()) -> dict:
    """{(subcommand path): [paragraphs of the abstract and discussion]} from the dump."""
    texts = [command.get("abstract", "")] + command.get("discussion", "").split("\n\n")
    out = {path: [words(t) for t in texts if t.strip()]}
    for sub in command.get("subcommands", []):
        if sub.get("shouldDisplay", True):
            out.update(discussions(sub, path + (sub["commandName"],)))
    return out


def page_text(text: str) -> str:
    """The page's prose: macro lines dropped, the quotes of .Nd removed, roff's escaped
    backslash (\\e) read back as a backslash."""
    lines = []
    for line in text.replace("\\e", "\\").splitlines():
        if line.startswith(".Nd "):
            lines.append(line[4:].strip('"'))
        elif not line.startswith("."):
            lines.append(line)
    return words(" ".join(lines))


@pytest.mark.parametrize("tool", sorted(TOOLS))
def test_man_page_carries_every_description(binaries, tool):
    """Each command's abstract and every paragraph of its discussion are on the page, whole
    (generate-manual drops characters outside ASCII; scripts/man-restore-text.py puts them back)."""
    prose = page_text(TOOLS[tool].read_text())
    missing = [f"{' '.join(path) or '(top level)'}: {paragraph[:120]!r}"
               for path, paragraphs in discussions(dump_help(tool)).items()
               for paragraph in paragraphs if paragraph not in prose]
    assert not missing, (f"{TOOLS[tool].relative_to(REPO)} lacks text of {tool} --help "
                         f"(run scripts/generate-man.sh):\n" + "\n".join(missing))


@pytest.mark.parametrize("tool", sorted(TOOLS))
def test_man_page_matches_the_parser(binaries, tool):
    parser = parser_model(dump_help(tool))
    page = page_model(TOOLS[tool].read_text())
    problems = mismatches(parser, page)
    assert not problems, (f"{TOOLS[tool].relative_to(REPO)} is out of step with {tool} --help "
                          f"(run scripts/generate-man.sh):\n" + "\n".join(problems))
    # What the parser dumps is what --help shows.
    help_text = run([binaries / tool, "--help"], env=clean_env()).stdout.decode()
    for key in parser[()]:
        for name in key.split():
            assert name in help_text, (tool, name)


def test_man_page_comparison_catches_a_missing_option_and_a_changed_help(binaries):
    """The comparison above can fail: a page without one option, or with another help text."""
    text = TOOLS["tokenctl"].read_text()
    parser = parser_model(dump_help("tokenctl"))
    lines = text.splitlines()
    i = lines.index(".It Fl -replace")
    without = "\n".join(lines[:i] + lines[i + 2:])
    assert any("import: --replace not on the page" in p for p in mismatches(parser, page_model(without)))
    changed = text.replace("Make the store hold exactly the file's rows", "Make the store hold the file's rows")
    assert any("help of --replace differs" in p for p in mismatches(parser, page_model(changed)))
    extra = text.replace(".It Fl -json\n", ".It Fl -yaml\nYAML.\n.It Fl -json\n", 1)
    assert any("--yaml on the page, not in the parser" in p for p in mismatches(parser, page_model(extra)))


@pytest.mark.parametrize("tool", sorted(TOOLS))
def test_man_page_renders_without_warnings(tool):
    if shutil.which("man") is None:
        pytest.skip("man not found (apt-get install man-db)")
    cp = run(["man", "--warnings", "-l", TOOLS[tool]], env=clean_env(MANPAGER="cat", MANWIDTH="80"))
    assert cp.returncode == 0 and not cp.stderr, cp.stderr.decode()
    assert "SYNOPSIS" in cp.stdout.decode() and "SEE ALSO" in cp.stdout.decode()


# ----------------------------------------------------------------------------------------
# make verify


@pytest.fixture
def deploy_copy(tmp_path) -> Path:
    if shutil.which("systemd-analyze") is None or shutil.which("make") is None:
        pytest.skip("systemd-analyze or make not found (apt-get install systemd make)")
    copy = tmp_path / "deploy"
    shutil.copytree(DEPLOY, copy)
    return copy


def make_verify(deploy: Path, binaries: Path) -> subprocess.CompletedProcess:
    return run(["make", "-C", deploy, "verify", f"BIN_DIR={binaries}"], env=clean_env(), timeout=120)


def test_make_verify_passes_the_shipped_units(deploy_copy, binaries):
    cp = make_verify(deploy_copy, binaries)
    assert cp.returncode == 0 and b"units OK" in cp.stdout, cp.stdout.decode() + cp.stderr.decode()


@pytest.mark.parametrize("unit,good,bad", [
    ("token-responder.service", "RestartSec=1s", "RestartSecc=1s"),
    ("token-responder.socket", "SocketMode=0660", "SocketMod=0660"),
    ("udesk-token-import.timer", "RandomizedDelaySec=10min", "RandomisedDelaySec=10min"),
])
def test_make_verify_fails_on_a_misspelt_key(deploy_copy, binaries, unit, good, bad):
    """systemd-analyze verify exits 0 here and only prints 'Unknown key name': make verify fails."""
    path = deploy_copy / "systemd" / unit
    assert good in path.read_text()
    path.write_text(path.read_text().replace(good, bad))
    cp = make_verify(deploy_copy, binaries)
    out = cp.stdout.decode() + cp.stderr.decode()
    assert cp.returncode != 0, out
    assert bad.split("=")[0] in out and f"reported problems in {unit}" in out, out


# ----------------------------------------------------------------------------------------
# install.sh --prefix /usr and --uninstall


def install(root: Path, binaries: Path, *args) -> subprocess.CompletedProcess:
    cp = run(["sh", DEPLOY / "install.sh", "--destdir", root, "--bin-dir", binaries, *args],
             env=clean_env(), timeout=120)
    assert cp.returncode == 0, f"install.sh {args} exited {cp.returncode}:\n{cp.stdout.decode()}{cp.stderr.decode()}"
    return cp


def distribution_unit_dir() -> str:
    cp = subprocess.run(["pkg-config", "--variable=systemdsystemunitdir", "systemd"], capture_output=True)
    if cp.returncode == 0 and cp.stdout.strip():
        return cp.stdout.decode().strip()
    return "/lib/systemd/system" if os.path.isdir("/lib/systemd/system") else "/usr/lib/systemd/system"


def test_install_prefix_usr_puts_units_in_the_distributions_folder(binaries, tmp_path):
    root = tmp_path / "root"
    install(root, binaries, "--prefix", "/usr", "--no-nginx")
    unit_dir = distribution_unit_dir()
    assert unit_dir in ("/lib/systemd/system", "/usr/lib/systemd/system")
    svc = (root / unit_dir.lstrip("/") / "token-responder.service").read_text()
    assert "ExecStart=/usr/bin/token-responder\n" in svc
    assert not (root / "etc/systemd").exists()
    assert os.access(root / "usr/bin/tokenctl", os.X_OK)


def test_uninstall_removes_what_install_put_there_and_keeps_what_is_yours(binaries, tmp_path):
    root = tmp_path / "root"
    install(root, binaries)
    (root / "var/lib/udesk-token/tokens.db").write_text("the store")
    edited = root / "etc/default/token-responder"
    edited.write_text("TOKEN_UNKNOWN=empty\n")
    out = install(root, binaries, "--uninstall").stdout.decode()
    left = {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}
    assert left == {"etc/default/token-responder", "var/lib/udesk-token/tokens.db"}, (left, out)
    assert "removed   /usr/local/bin/token-responder" in out
    assert "removed   /etc/systemd/system/token-responder.socket" in out
    assert "kept      /etc/default/token-responder (changed by you)" in out
    assert "kept      /var/lib/udesk-token" in out
    again = install(root, binaries, "--uninstall").stdout.decode()
    assert "nothing to remove" in again, again


def test_uninstall_keeps_the_nginx_files_an_enabled_site_uses(binaries, tmp_path):
    root = tmp_path / "root"
    install(root, binaries)
    (root / "etc/nginx/sites-enabled").mkdir(parents=True)
    (root / "etc/nginx/sites-enabled/udesk-token").symlink_to("../sites-available/udesk-token")
    out = install(root, binaries, "--uninstall").stdout.decode()
    assert (root / "etc/nginx/snippets/udesk-token-location.conf").exists()
    assert (root / "etc/nginx/conf.d/udesk-token-upstream.conf").exists()
    assert "sites-enabled/udesk-token still uses them" in out
    assert not (root / "usr/local/bin/tokenctl").exists()


def test_uninstall_does_not_need_the_binaries(tmp_path):
    """--uninstall on a host without a build: no swift build, no --bin-dir."""
    root = tmp_path / "root"
    cp = run(["sh", DEPLOY / "install.sh", "--destdir", root, "--uninstall", "--no-build"], env=clean_env())
    assert cp.returncode == 0, cp.stderr.decode()
    assert b"nothing to remove" in cp.stdout


# ----------------------------------------------------------------------------------------
# logrotate, sysusers.d, tmpfiles.d


def test_logrotate_snippet_rotates_and_signals_the_responder(binaries, store):
    """A real rotation with a copy of the snippet (paths moved to a temporary folder; as root
    its "su" names nobody instead of udesk-token): the file is renamed, a new one created, and
    the postrotate script's SIGHUP (here through the spawn-fcgi pid file: systemd is not
    running) reaches the responder, which logs that it reopens."""
    logrotate = shutil.which("logrotate") or "/usr/sbin/logrotate"
    if not os.access(logrotate, os.X_OK):
        pytest.skip("logrotate not found (apt-get install logrotate)")
    text = (DEPLOY / "logrotate" / "token-responder").read_text()
    assert "/var/log/udesk-token/*.log {" in text
    assert "systemctl kill -s HUP --kill-whom=main token-responder.service" in text
    assert "/run/token-responder/token-responder.pid" in text
    # Under /tmp itself: nobody must be able to reach the folder (pytest's tmp_path is 0700).
    tmp_path = Path(tempfile.mkdtemp(prefix="udesk-logrotate-", dir="/tmp"))
    os.chmod(tmp_path, 0o755)
    logs = tmp_path / "log"
    logs.mkdir(mode=0o750)
    pidfile = tmp_path / "token-responder.pid"
    if os.geteuid() == 0:
        user = "nobody " + grp.getgrgid(pwd.getpwnam("nobody").pw_gid).gr_name
        os.chown(logs, pwd.getpwnam("nobody").pw_uid, pwd.getpwnam("nobody").pw_gid)
        text = text.replace("udesk-token udesk-token", user)
    else:
        me = pwd.getpwuid(os.getuid()).pw_name + " " + grp.getgrgid(os.getgid()).gr_name
        text = text.replace("    su udesk-token udesk-token\n", "").replace("udesk-token udesk-token", me)
    conf = tmp_path / "logrotate.conf"
    conf.write_text(text.replace("/var/log/udesk-token/", f"{logs}/")
                    .replace("/run/token-responder/token-responder.pid", str(pidfile)))
    log = logs / "token-responder.log"
    log.write_text("a line\n")
    if os.geteuid() == 0:
        os.chown(log, pwd.getpwnam("nobody").pw_uid, pwd.getpwnam("nobody").pw_gid)
    r = Responder(store, tmp_path / "rot.sock", tmp_path / "responder.log").start()
    try:
        pidfile.write_text(f"{r.proc.pid}\n")
        env = clean_env(PATH="/usr/sbin:/usr/bin:/sbin:/bin")
        cp = run([logrotate, "-f", "-s", tmp_path / "state", conf], env=env)
        assert cp.returncode == 0, cp.stderr.decode()
        assert (logs / "token-responder.log.1").read_text() == "a line\n"
        assert log.exists() and log.stat().st_size == 0
        assert oct(log.stat().st_mode & 0o777) == "0o640"
        wait_until(lambda: "received SIGHUP" in r.log(), 10, what="the responder to get SIGHUP")
        assert r.proc.poll() is None
    finally:
        r.stop()
        shutil.rmtree(tmp_path, ignore_errors=True)


def test_sysusers_and_tmpfiles_name_the_units_user_and_folders():
    sysusers = (DEPLOY / "sysusers.d" / "udesk-token.conf").read_text()
    tmpfiles = (DEPLOY / "tmpfiles.d" / "udesk-token.conf").read_text()
    service = (DEPLOY / "systemd" / "token-responder.service").read_text()
    socket = (DEPLOY / "systemd" / "token-responder.socket").read_text()
    assert "User=udesk-token" in service and "SocketGroup=udesk-fcgi" in socket
    assert re.search(r"^u udesk-token - .* /var/lib/udesk-token /usr/sbin/nologin$", sysusers, re.M)
    assert re.search(r"^g udesk-fcgi -$", sysusers, re.M)
    assert re.search(r"^m www-data udesk-fcgi$", sysusers, re.M)
    assert re.search(r"^d /var/lib/udesk-token 0750 udesk-token udesk-token -$", tmpfiles, re.M)
    assert re.search(r"^d /var/log/udesk-token 0750 udesk-token udesk-token -$", tmpfiles, re.M)
    assert "ReadWritePaths=/var/lib/udesk-token" in service


def test_sysusers_and_tmpfiles_apply_to_a_root(tmp_path):
    """systemd-sysusers and systemd-tmpfiles (no systemd running needed) accept the files: the
    user, the groups and the folders appear below --root."""
    if shutil.which("systemd-sysusers") is None or shutil.which("systemd-tmpfiles") is None:
        pytest.skip("systemd-sysusers/systemd-tmpfiles not found (apt-get install systemd)")
    if os.geteuid() != 0:
        pytest.skip("systemd-tmpfiles --root chowns: needs root")
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    for name in ("passwd", "group"):
        shutil.copy2(f"/etc/{name}", root / "etc" / name)
    for name in ("shadow", "gshadow"):
        (root / "etc" / name).write_text("")
    conf = DEPLOY / "sysusers.d" / "udesk-token.conf"
    cp = run(["systemd-sysusers", f"--root={root}", conf])
    assert cp.returncode == 0, cp.stderr.decode()
    passwd = (root / "etc/passwd").read_text()
    assert re.search(r"^udesk-token:x:\d+:\d+:Udesk token responder:/var/lib/udesk-token:/usr/sbin/nologin$",
                     passwd, re.M), passwd
    group = (root / "etc/group").read_text()
    assert re.search(r"^udesk-fcgi:x:\d+:(.*,)?www-data(,.*)?$", group, re.M), group
    cp = run(["systemd-tmpfiles", f"--root={root}", "--create", DEPLOY / "tmpfiles.d" / "udesk-token.conf"])
    assert cp.returncode == 0, cp.stderr.decode()
    for d in ("var/lib/udesk-token", "var/log/udesk-token"):
        st = (root / d).stat()
        assert oct(st.st_mode & 0o7777) == "0o750", d


# ----------------------------------------------------------------------------------------
# The CGI nginx snippet has what the FastCGI one has: health, JSON error pages, headers


def test_cgi_snippet_has_health_json_errors_headers_and_warning_level():
    cgi = (DEPLOY / "cgi" / "nginx-fcgiwrap.conf").read_text()
    fastcgi = (REPO / "nginx" / "udesk-token-location.conf").read_text()
    assert "location = /udesk/health {" in cgi and "fastcgi_param TOKEN_ENDPOINT health;" in cgi
    for named in re.findall(r"^location (@udesk_\w+) \{", fastcgi, re.M):
        assert f"location {named} {{" in cgi, named
    for status in (403, 413, 500, 502, 503, 504):
        assert f"error_page {status} = @udesk_" in cgi, status
    assert cgi.count("include snippets/udesk-token-headers.conf;") >= 8
    assert cgi.count("fastcgi_param TOKEN_LOG_LEVEL warning;") == 2
    assert "/var/lib/udesk-token-cgi/tokens.db" in cgi and "fcgiwrap -f" in cgi
    for example in ("apache-udesk-token.conf", "htaccess", "udesk-token-wrapper.cgi"):
        assert "TOKEN_LOG_LEVEL" in (DEPLOY / "cgi" / example).read_text(), example
    assert "/var/lib/udesk-token-cgi/tokens.db" in (DEPLOY / "cgi" / "apache-udesk-token.conf").read_text()


def test_cgi_snippet_and_fastcgi_snippet_are_alternatives(tmp_path):
    """Both in one server is refused by nginx -t (duplicate locations), each alone passes."""
    nginx = os.environ.get("NGINX", "/usr/sbin/nginx")
    if not os.access(nginx, os.X_OK):
        pytest.skip(f"{nginx} not found")
    results = {}
    for name, includes in (("cgi", ["udesk-token-cgi.conf"]),
                           ("both", ["udesk-token-cgi.conf", "udesk-token-location.conf"])):
        prefix = tmp_path / name
        (prefix / "snippets").mkdir(parents=True)
        (prefix / "logs").mkdir()
        shutil.copy2(DEPLOY / "cgi" / "nginx-fcgiwrap.conf", prefix / "snippets" / "udesk-token-cgi.conf")
        for f in ("headers", "location", "allowlist"):
            shutil.copy2(REPO / "nginx" / f"udesk-token-{f}.conf", prefix / "snippets" / f"udesk-token-{f}.conf")
        shutil.copy2(REPO / "nginx" / "udesk-token-upstream.conf", prefix / "upstream.conf")
        shutil.copy2("/etc/nginx/fastcgi_params", prefix / "fastcgi_params")
        inc = "".join(f"include snippets/{i}; " for i in includes)
        (prefix / "nginx.conf").write_text(
            f"pid {prefix}/nginx.pid; error_log {prefix}/logs/error.log; events {{}}\n"
            f"http {{ access_log off; include upstream.conf; server {{ listen 127.0.0.1:1; {inc}}} }}\n")
        results[name] = run([nginx, "-t", "-q", "-p", prefix, "-c", prefix / "nginx.conf"])
    assert results["cgi"].returncode == 0, results["cgi"].stderr.decode()
    assert results["both"].returncode != 0 and b"duplicate location" in results["both"].stderr
