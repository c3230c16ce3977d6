#!/bin/sh
# install.sh -- install token-responder and tokenctl with their systemd units, nginx snippets,
# store folder and settings file.  Idempotent: a second run changes nothing and says so.
#
#   sudo deploy/install.sh [--destdir DIR] [--prefix DIR] [--bin-dir DIR] [--no-build]
#                          [--no-nginx] [--no-start]
#   sudo deploy/install.sh --uninstall [--destdir DIR] [--prefix DIR]
#
#   --destdir DIR  install below DIR instead of / (staging, packaging, tests; also $DESTDIR).
#                  Creates no user, changes no ownership and runs no systemctl.
#   --prefix DIR   where binaries and docs go (default /usr/local; also $PREFIX); the unit
#                  files are rewritten to match.  Units go to /etc/systemd/system, except with
#                  --prefix /usr: then to the distribution's unit folder, like a package's
#                  (pkg-config's systemdsystemunitdir: /lib/systemd/system on Debian 12).
#   --bin-dir DIR  take token-responder and tokenctl from DIR (default: <repo>/.build/release,
#                  built there with `swift build -c release --static-swift-stdlib` if missing).
#   --no-build     fail instead of building when the binaries are missing.
#   --no-nginx     do not install the nginx snippets (e.g. Apache/CGI hosting).
#   --no-start     do not run systemctl (daemon-reload, enable --now token-responder.socket).
#   --uninstall    remove what an install with the same --prefix/--destdir put there: stops and
#                  disables the units (when systemd runs), removes the binaries, docs, units and
#                  the shipped nginx files; keeps what you edit or own, and says so: a changed
#                  /etc/default/token-responder, allow-list or site file, the nginx files while
#                  sites-enabled/udesk-token still uses them, the store /var/lib/udesk-token,
#                  and the users and groups.
#
# What goes where (paths below DESTDIR):
#   PREFIX/bin/token-responder, PREFIX/bin/tokenctl                      0755
#   PREFIX/share/doc/token-responder/README.md                           0644
#   UNITDIR/token-responder.{socket,service}                             0644
#   UNITDIR/udesk-token-import.{service,timer}                           0644 (timer not enabled)
#     (UNITDIR: /etc/systemd/system, or the distribution's unit folder with --prefix /usr)
#   /etc/nginx/conf.d/udesk-token-upstream.conf                          0644
#   /etc/nginx/snippets/udesk-token-location.conf                        0644
#   /etc/nginx/snippets/udesk-token-headers.conf                         0644
#   /etc/nginx/snippets/udesk-token-allowlist.conf (only if absent)      0644
#   /etc/nginx/sites-available/udesk-token            0644, only if absent (you edit it)
#   /etc/default/token-responder                      0644, only if absent (you edit it)
#   /var/lib/udesk-token                              udesk-token:udesk-token 0750
# and, without --destdir: the system user and group `udesk-token`, then (when systemd runs)
#   systemctl daemon-reload && systemctl enable --now token-responder.socket
# and a restart of a running token-responder.service whose binary or unit changed.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
destdir=${DESTDIR:-}
prefix=${PREFIX:-/usr/local}
bin_src=
build=yes nginx=yes start=yes uninstall=no

usage() { sed -n '2,/^set -eu$/{/^#/p;}' "$0" | sed 's/^# \{0,1\}//' >&2; exit "${1:-2}"; }
while [ $# -gt 0 ]; do
    case $1 in
        --destdir) [ $# -ge 2 ] || usage; destdir=$2; shift ;;
        --destdir=*) destdir=${1#*=} ;;
        --prefix) [ $# -ge 2 ] || usage; prefix=$2; shift ;;
        --prefix=*) prefix=${1#*=} ;;
        --bin-dir) [ $# -ge 2 ] || usage; bin_src=$2; shift ;;
        --bin-dir=*) bin_src=${1#*=} ;;
        --no-build) build=no ;;
        --no-nginx) nginx=no ;;
        --no-start) start=no ;;
        --uninstall) uninstall=yes ;;
        -h|--help) usage 0 ;;
        *) echo "install.sh: unknown argument $1" >&2; usage ;;
    esac
    shift
done
case $prefix in /*) ;; *) echo "install.sh: --prefix must be absolute" >&2; exit 2 ;; esac
prefix=${prefix%/}
if [ -n "$destdir" ]; then
    mkdir -p "$destdir"
    destdir=$(cd "$destdir" && pwd)
    [ "$destdir" != / ] || destdir=
fi

# Where the units go: /etc/systemd/system is the administrator's; a /usr install is laid out as
# a package's, whose units belong in the distribution's folder.
if [ "$prefix" = /usr ]; then
    unit_dir=$(pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null || :)
    if [ -z "$unit_dir" ]; then
        if [ -d /lib/systemd/system ]; then unit_dir=/lib/systemd/system; else unit_dir=/usr/lib/systemd/system; fi
    fi
else
    unit_dir=/etc/systemd/system
fi
UNITS="token-responder.socket token-responder.service udesk-token-import.service udesk-token-import.timer"

USER_NAME=udesk-token
STORE_DIR=/var/lib/udesk-token
# The socket's group: nginx's user only, not www-data itself, so that other programs running
# as www-data (a PHP application) cannot talk FastCGI to the responder.
SOCKET_GROUP=udesk-fcgi
NGINX_USER=${NGINX_USER:-www-data}

say() { printf '%s\n' "$*"; }
die() { printf 'install.sh: %s\n' "$*" >&2; exit 1; }

if [ -z "$destdir" ] && [ "$(id -u)" != 0 ]; then
    die "run as root (sudo deploy/install.sh), or stage into a folder with --destdir DIR"
fi

# --- binaries ---------------------------------------------------------------------------
if [ "$uninstall" = no ]; then
    if [ -z "$bin_src" ]; then
        bin_src=$repo/.build/release
        if [ ! -x "$bin_src/token-responder" ] || [ ! -x "$bin_src/tokenctl" ]; then
            [ "$build" = yes ] || die "no binaries in $bin_src (build: swift build -c release --static-swift-stdlib)"
            PATH=$PATH:/opt/swift/usr/bin
            command -v swift >/dev/null || die "swift not found: install Swift 6, or give --bin-dir"
            say "building release binaries in $repo/.build/release ..."
            (cd "$repo" && swift build -c release --static-swift-stdlib) || die "swift build failed"
        fi
    fi
    for b in token-responder tokenctl; do
        [ -x "$bin_src/$b" ] || die "$bin_src/$b not found or not executable"
    done
    if command -v ldd >/dev/null && ldd "$bin_src/token-responder" 2>/dev/null | grep -q 'libswiftCore'; then
        say "note: $bin_src/token-responder links the Swift runtime dynamically; production builds use --static-swift-stdlib"
    fi
fi

# --- helpers ----------------------------------------------------------------------------
changed=0
binary_changed=no
units_changed=no
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT HUP INT TERM

# put MODE SRC DEST: install SRC as DESTDIR/DEST unless it is already identical with MODE.
put() {
    _mode=$1 _src=$2 _dest=$destdir$3
    if [ -f "$_dest" ] && [ ! -L "$_dest" ] && cmp -s "$_src" "$_dest" \
        && [ "$(stat -c %a "$_dest")" = "${_mode#0}" ]; then
        return 1
    fi
    # install(1) unlinks the old file first: safe while the old binary is running.
    install -D -m "$_mode" "$_src" "$_dest"
    say "installed $3"
    changed=$((changed + 1))
    return 0
}

# put_if_absent MODE SRC DEST: install only when DEST does not exist (files admins edit).
put_if_absent() {
    if [ -e "$destdir$3" ]; then
        cmp -s "$2" "$destdir$3" || say "kept      $3 (yours; the shipped version is $2)"
        return 1
    fi
    put "$@"
}

# ensure_dir MODE OWNER GROUP DIR: create DIR with MODE (and OWNER:GROUP outside --destdir).
ensure_dir() {
    _mode=$1 _owner=$2 _group=$3 _dir=$destdir$4
    if [ ! -d "$_dir" ]; then
        install -d -m "$_mode" "$_dir"
        say "created   $4"
        changed=$((changed + 1))
    elif [ "$(stat -c %a "$_dir")" != "${_mode#0}" ]; then
        chmod "$_mode" "$_dir"
        say "chmod $_mode $4"
        changed=$((changed + 1))
    fi
    if [ -z "$destdir" ] && [ "$(stat -c %U:%G "$_dir")" != "$_owner:$_group" ]; then
        chown "$_owner:$_group" "$_dir"
        say "chown $_owner:$_group $4"
        changed=$((changed + 1))
    fi
}

# Unit files name /usr/local/bin and /usr/local/share; follow --prefix.
render() {
    sed -e "s|/usr/local/|$prefix/|g" "$1" >"$work/$(basename "$1")"
    printf '%s\n' "$work/$(basename "$1")"
}

# --- uninstall --------------------------------------------------------------------------
# remove DEST: delete DESTDIR/DEST if it is there.
remove() {
    [ -e "$destdir$1" ] || [ -L "$destdir$1" ] || return 1
    rm -f "$destdir$1"
    say "removed   $1"
    changed=$((changed + 1))
}
# remove_if_shipped SRC DEST: delete DEST only if it is still the shipped SRC (yours otherwise).
remove_if_shipped() {
    [ -e "$destdir$2" ] || return 1
    if cmp -s "$1" "$destdir$2"; then remove "$2"; else say "kept      $2 (changed by you)"; fi
}
if [ "$uninstall" = yes ]; then
    if [ -z "$destdir" ] && [ -d /run/systemd/system ] && [ "$start" = yes ]; then
        for unit in token-responder.socket token-responder.service udesk-token-import.timer; do
            if systemctl is-enabled --quiet "$unit" 2>/dev/null || systemctl is-active --quiet "$unit" 2>/dev/null; then
                systemctl disable --now "$unit" >/dev/null 2>&1 || :
                say "stopped and disabled $unit"
            fi
        done
    fi
    remove "$prefix/bin/token-responder" || :
    remove "$prefix/bin/tokenctl" || :
    remove "$prefix/share/doc/token-responder/README.md" || :
    rmdir "$destdir$prefix/share/doc/token-responder" 2>/dev/null || :
    units_changed=no
    for unit in $UNITS; do remove "$unit_dir/$unit" && units_changed=yes; done
    if [ "$nginx" = yes ]; then
        if [ -e "$destdir/etc/nginx/sites-enabled/udesk-token" ] || [ -L "$destdir/etc/nginx/sites-enabled/udesk-token" ]; then
            say "kept      the nginx files: /etc/nginx/sites-enabled/udesk-token still uses them (remove that link, reload nginx, run this again)"
        else
            remove /etc/nginx/conf.d/udesk-token-upstream.conf || :
            remove /etc/nginx/snippets/udesk-token-location.conf || :
            remove /etc/nginx/snippets/udesk-token-headers.conf || :
            remove_if_shipped "$repo/nginx/udesk-token-allowlist.conf" /etc/nginx/snippets/udesk-token-allowlist.conf || :
            remove_if_shipped "$repo/nginx/udesk-token-https.conf" /etc/nginx/sites-available/udesk-token || :
        fi
    fi
    remove_if_shipped "$here/default/token-responder" /etc/default/token-responder || :
    if [ "$units_changed" = yes ] && [ -z "$destdir" ] && [ -d /run/systemd/system ] && [ "$start" = yes ]; then
        systemctl daemon-reload
    fi
    if [ "$changed" = 0 ]; then say "nothing to remove"; else say "$changed change(s)"; fi
    [ -e "$destdir$STORE_DIR" ] && say "kept      $STORE_DIR (the store: remove it yourself, rm -r $STORE_DIR, if you mean to)"
    [ -n "$destdir" ] || say "kept      the users and groups $USER_NAME and $SOCKET_GROUP (userdel $USER_NAME; groupdel $SOCKET_GROUP)"
    exit 0
fi

# --- user and group ---------------------------------------------------------------------
if [ -z "$destdir" ]; then
    if ! getent group "$USER_NAME" >/dev/null; then
        groupadd --system "$USER_NAME"
        say "created   group $USER_NAME"
        changed=$((changed + 1))
    fi
    if ! getent passwd "$USER_NAME" >/dev/null; then
        useradd --system --gid "$USER_NAME" --home-dir "$STORE_DIR" --no-create-home \
            --shell /usr/sbin/nologin --comment "Udesk token responder" "$USER_NAME"
        say "created   user $USER_NAME"
        changed=$((changed + 1))
    fi
    if ! getent group "$SOCKET_GROUP" >/dev/null; then
        groupadd --system "$SOCKET_GROUP"
        say "created   group $SOCKET_GROUP (token-responder.socket's SocketGroup)"
        changed=$((changed + 1))
    fi
    if getent passwd "$NGINX_USER" >/dev/null; then
        if ! id -nG "$NGINX_USER" | tr ' ' '\n' | grep -qx "$SOCKET_GROUP"; then
            usermod -aG "$SOCKET_GROUP" "$NGINX_USER"
            say "added     $NGINX_USER to group $SOCKET_GROUP (reload nginx so its workers get the group)"
            changed=$((changed + 1))
        fi
    else
        say "warning: user $NGINX_USER (nginx's workers; NGINX_USER=) does not exist yet: install nginx, then run this again"
    fi
fi

# --- files ------------------------------------------------------------------------------
put 0755 "$bin_src/token-responder" "$prefix/bin/token-responder" && binary_changed=yes
put 0755 "$bin_src/tokenctl" "$prefix/bin/tokenctl" || :
put 0644 "$here/README.md" "$prefix/share/doc/token-responder/README.md" || :

for unit in $UNITS; do
    put 0644 "$(render "$here/systemd/$unit")" "$unit_dir/$unit" && units_changed=yes
done

if [ "$nginx" = yes ]; then
    put 0644 "$repo/nginx/udesk-token-upstream.conf" /etc/nginx/conf.d/udesk-token-upstream.conf || :
    put 0644 "$repo/nginx/udesk-token-location.conf" /etc/nginx/snippets/udesk-token-location.conf || :
    put 0644 "$repo/nginx/udesk-token-headers.conf" /etc/nginx/snippets/udesk-token-headers.conf || :
    # The allow-list is the operator's to edit: installed once, never overwritten.
    put_if_absent 0644 "$repo/nginx/udesk-token-allowlist.conf" /etc/nginx/snippets/udesk-token-allowlist.conf || :
    put_if_absent 0644 "$repo/nginx/udesk-token-https.conf" /etc/nginx/sites-available/udesk-token || :
fi

put_if_absent 0644 "$here/default/token-responder" /etc/default/token-responder || :
ensure_dir 0750 "$USER_NAME" "$USER_NAME" "$STORE_DIR"

if [ "$changed" = 0 ]; then say "nothing changed"; else say "$changed change(s)"; fi

# --- systemd ----------------------------------------------------------------------------
if [ -n "$destdir" ]; then
    say "staged into $destdir: no user created, no ownership changed, systemctl not run"
elif [ "$start" = no ]; then
    say "--no-start: run  systemctl daemon-reload && systemctl enable --now token-responder.socket"
elif [ ! -d /run/systemd/system ]; then
    say "systemd is not running here: skipped systemctl; start the responder with deploy/spawn-fcgi.sh"
else
    [ "$units_changed" = no ] || systemctl daemon-reload
    if ! systemctl is-enabled --quiet token-responder.socket || ! systemctl is-active --quiet token-responder.socket; then
        systemctl enable --now token-responder.socket
        say "enabled and started token-responder.socket"
    fi
    if [ "$binary_changed" = yes ] || [ "$units_changed" = yes ]; then
        # Picks up the new binary/unit if the service is running; the socket queues meanwhile.
        systemctl try-restart token-responder.service
    fi
fi

if [ -z "$destdir" ]; then
    [ -e "$STORE_DIR/tokens.db" ] || say "next: create the store:  runuser -u $USER_NAME -- $prefix/bin/tokenctl --store $STORE_DIR/tokens.db import - < customers.csv"
    if [ "$nginx" = yes ] && [ ! -e /etc/nginx/sites-enabled/udesk-token ]; then
        say "next: edit /etc/nginx/sites-available/udesk-token (host name, certificate), then"
        say "      ln -s ../sites-available/udesk-token /etc/nginx/sites-enabled/ && nginx -t && systemctl reload nginx"
    fi
fi
