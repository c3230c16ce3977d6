#!/bin/sh
# spawn-fcgi.sh -- run token-responder under spawn-fcgi, for hosts without systemd (containers,
# sysvinit, runit/daemontools).  With systemd, use deploy/systemd/token-responder.socket instead.
#
#   deploy/spawn-fcgi.sh [--foreground] [--dry-run]
#
# spawn-fcgi creates the Unix socket (as root), hands it to token-responder as fd 0 and runs
# token-responder as RESPONDER_USER; the environment (TOKEN_STORE etc.) passes through.  As
# root the command it runs is, with the defaults below:
#
#   spawn-fcgi -s /run/token-responder/token-responder.sock -M 0660 -G udesk-fcgi \
#       -u udesk-token -g udesk-token -P /run/token-responder/token-responder.pid \
#       -- /usr/local/bin/token-responder
#
# i.e. the socket is root:udesk-fcgi 0660 (nginx's workers connect, nobody else) and the
# responder runs as udesk-token.  (spawn-fcgi's -u/-g set the user and group the PROGRAM runs
# as; -U/-G set the socket's owner and group.)
#
#   --foreground   spawn-fcgi -n: do not fork; the responder replaces this script's process
#                  (for runit/daemontools/s6 or a container's entrypoint).  Default: fork, write
#                  PID_FILE, return once the responder is running.
#   --dry-run      print the command instead of running it.
#
# Settings come from the environment, after /etc/default/token-responder (DEFAULTS_FILE) is
# read -- the same file the systemd unit reads:
#   TOKEN_STORE     token store             (default /var/lib/udesk-token/tokens.db)
#   TOKEN_SOCKET    socket to create        (default /run/token-responder/token-responder.sock;
#                   taken by spawn-fcgi, NOT passed on: the responder must use fd 0)
#   SOCKET_MODE     socket permissions      (default 0660)
#   SOCKET_GROUP    socket group            (default udesk-fcgi: a group only nginx's user is in)
#   RESPONDER_USER  user the responder runs as (default udesk-token; group: its primary group)
#   RESPONDER_BIN   the binary              (default /usr/local/bin/token-responder)
#   PID_FILE        pid file in fork mode   (default /run/token-responder/token-responder.pid)
#   NOFILE          open-file limit (ulimit -n) of the responder (default 65536)
#   DEFAULTS_FILE   (default /etc/default/token-responder; set it empty to read none)
# Not running as root: -u/-g/-U/-G are root-only, so the responder runs as the calling user
# and the socket gets the caller's group.
#
# Stop it with SIGTERM (in-flight requests finish, then it exits 0):
#   kill "$(cat /run/token-responder/token-responder.pid)"
set -eu

foreground=no dry_run=no
for arg in "$@"; do
    case $arg in
        --foreground) foreground=yes ;;
        --dry-run) dry_run=yes ;;
        -h|--help) sed -n '2,/^set -eu$/{/^#/p;}' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "spawn-fcgi.sh: unknown argument $arg (try --help)" >&2; exit 2 ;;
    esac
done

defaults=${DEFAULTS_FILE-/etc/default/token-responder}
if [ -n "$defaults" ] && [ -r "$defaults" ]; then
    # KEY=VALUE lines, the format systemd's EnvironmentFile= reads too.  Variables already in
    # the environment win over the file.
    while IFS= read -r line || [ -n "$line" ]; do
        case $line in ''|'#'*) continue ;; esac
        name=${line%%=*} value=${line#*=}
        case $name in *[!A-Za-z0-9_]*|'') continue ;; esac
        case $value in \"*\") value=${value#\"}; value=${value%\"} ;; esac
        eval "isset=\${$name+x}"
        [ -n "$isset" ] || export "$name=$value"
    done <"$defaults"
fi

store=${TOKEN_STORE:-/var/lib/udesk-token/tokens.db}
socket=${TOKEN_SOCKET:-/run/token-responder/token-responder.sock}
mode=${SOCKET_MODE:-0660}
group=${SOCKET_GROUP:-udesk-fcgi}
user=${RESPONDER_USER:-udesk-token}
bin=${RESPONDER_BIN:-/usr/local/bin/token-responder}
pidfile=${PID_FILE:-/run/token-responder/token-responder.pid}

set -- spawn-fcgi -s "$socket" -M "$mode"
if [ "$(id -u)" = 0 ]; then
    set -- "$@" -G "$group" -u "$user" -g "$(id -gn "$user" 2>/dev/null || echo "$user")"
else
    echo "spawn-fcgi.sh: not root: the responder runs as $(id -un), socket group $(id -gn)" >&2
fi
if [ "$foreground" = yes ]; then set -- "$@" -n; else set -- "$@" -P "$pidfile"; fi
set -- "$@" -- "$bin"

if [ "$dry_run" = yes ]; then
    echo "TOKEN_STORE=$store $*"
    exit 0
fi

command -v spawn-fcgi >/dev/null || { echo "spawn-fcgi.sh: spawn-fcgi not found (apt-get install spawn-fcgi)" >&2; exit 1; }
[ -x "$bin" ] || { echo "spawn-fcgi.sh: $bin is not executable" >&2; exit 1; }
[ -r "$store" ] || [ "$(id -u)" = 0 ] || echo "spawn-fcgi.sh: warning: cannot read $store" >&2
[ -e "$store" ] || echo "spawn-fcgi.sh: warning: $store does not exist yet (tokenctl import creates it)" >&2
# The socket's directory (/run is a tmpfs: recreate it after every boot).
dir=$(dirname "$socket")
[ -d "$dir" ] || install -d -m 0755 "$dir"
[ "$foreground" = yes ] || [ -d "$(dirname "$pidfile")" ] || install -d -m 0755 "$(dirname "$pidfile")"

# Each kept nginx connection is a descriptor: raise the soft limit (as the unit's LimitNOFILE=)
# so that a burst of connections is not refused with EMFILE.  NOFILE (default 65536) sets it.
nofile=${NOFILE:-65536}
ulimit -n "$nofile" 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# The responder must serve the socket spawn-fcgi hands over on fd 0, not create its own.
unset TOKEN_SOCKET TOKEN_SOCKET_MODE
export TOKEN_STORE="$store"
exec "$@"
