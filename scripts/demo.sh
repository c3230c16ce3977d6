#!/usr/bin/env bash
# scripts/demo.sh -- try the Udesk customer-token endpoint locally, end to end over HTTPS.
#
#   scripts/demo.sh          install what is missing, build, start (or restart) the demo
#   scripts/demo.sh stop     stop it
#   scripts/demo.sh status   show whether it runs
#
# Run from anywhere inside the repository on Debian/Ubuntu; safe to run again (it restarts the
# demo with freshly built binaries).  Everything it makes lives in demo/ (git-ignored):
#   demo/tokens.db                 token store, holding exactly Tests/Fixtures/demo-tokens.csv
#   demo/cert.pem, demo/key.pem    self-signed certificate for 127.0.0.1 / localhost
#   demo/token.sock                token-responder's FastCGI socket (pid in demo/token-responder.pid)
#   demo/nginx/                    nginx rendered from the shipped nginx/*.conf by nginx/render-local.sh
#                                  HTTPS on 127.0.0.1:8443, plain HTTP (308 to HTTPS) on 127.0.0.1:8080
#   demo/*.log                     logs
#
# Environment: DEMO_SKIP_BUILD=1 with TOKEN_BIN_DIR=DIR uses already built binaries from DIR;
# DEMO_HTTPS_PORT / DEMO_HTTP_PORT change the ports.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=$(pwd)
demo=$repo/demo
https_port=${DEMO_HTTPS_PORT:-8443}
http_port=${DEMO_HTTP_PORT:-8080}
bin=${TOKEN_BIN_DIR:-$repo/.build/release}
nginx_bin=/usr/sbin/nginx
responder_pid=$demo/token-responder.pid
nginx_pid=$demo/nginx/nginx.pid

say() { printf '==> %s\n' "$*"; }
die() { printf 'demo.sh: %s\n' "$*" >&2; exit 1; }

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"
    elif command -v sudo >/dev/null; then sudo "$@"
    else die "need root for: $* (install sudo or run as root)"; fi
}

# Is the process in pid file $1 alive?
running() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# Send SIGTERM to the process in pid file $1 (QUIT for nginx: graceful), wait up to 10 s.
stop_pidfile() {
    local file=$1 sig=$2 name=$3 pid i
    if running "$file"; then
        pid=$(cat "$file")
        kill "-$sig" "$pid" 2>/dev/null || true
        for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$pid" 2>/dev/null; then
            echo "$name ($pid) still running after 10 s; sending SIGKILL" >&2
            kill -KILL "$pid" 2>/dev/null || true
        fi
        say "stopped $name ($pid)"
    fi
    rm -f "$file"
}

stop() {
    stop_pidfile "$nginx_pid" QUIT nginx
    stop_pidfile "$responder_pid" TERM token-responder
    rm -f "$demo/token.sock"
}

status() {
    local rc=0
    if running "$responder_pid"; then echo "token-responder: running (pid $(cat "$responder_pid"))"
    else echo "token-responder: stopped"; rc=3; fi
    if running "$nginx_pid"; then echo "nginx: running (pid $(cat "$nginx_pid")), https://127.0.0.1:$https_port/udesk/customer_token"
    else echo "nginx: stopped"; rc=3; fi
    return $rc
}

install_packages() {
    "$repo/scripts/install-deps.sh"
}

build() {
    if [ "${DEMO_SKIP_BUILD:-}" = 1 ]; then
        say "using prebuilt binaries in $bin"
    else
        command -v swift >/dev/null || die "swift not found: install a Swift 6 toolchain (https://www.swift.org/install/)"
        # Static Swift runtime: what install.sh ships too (plain-CGI start-up is twice as fast).
        say "swift build -c release --static-swift-stdlib"
        swift build -c release --static-swift-stdlib
        bin=$(swift build -c release --static-swift-stdlib --show-bin-path)
    fi
    [ -x "$bin/token-responder" ] && [ -x "$bin/tokenctl" ] || die "token-responder/tokenctl not found in $bin"
}

start() {
    install_packages
    build
    mkdir -p "$demo"
    stop >/dev/null

    say "importing Tests/Fixtures/demo-tokens.csv into demo/tokens.db"
    "$bin/tokenctl" --store "$demo/tokens.db" import --replace "$repo/Tests/Fixtures/demo-tokens.csv"

    if ! { [ -f "$demo/cert.pem" ] && [ -f "$demo/key.pem" ] &&
           openssl x509 -checkend 86400 -noout -in "$demo/cert.pem" >/dev/null 2>&1; }; then
        say "generating a self-signed certificate for 127.0.0.1/localhost (demo/cert.pem)"
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
            -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
            -keyout "$demo/key.pem" -out "$demo/cert.pem" 2>/dev/null
    fi

    say "starting token-responder on demo/token.sock"
    nohup "$bin/token-responder" --store "$demo/tokens.db" --socket "$demo/token.sock" --socket-mode 0660 \
        </dev/null >>"$demo/token-responder.log" 2>&1 &
    echo $! >"$responder_pid"
    local i
    for i in $(seq 100); do
        [ -S "$demo/token.sock" ] && break
        running "$responder_pid" || break
        sleep 0.1
    done
    [ -S "$demo/token.sock" ] || { tail -n 20 "$demo/token-responder.log" >&2; die "token-responder did not start"; }

    say "starting nginx (HTTPS 127.0.0.1:$https_port, HTTP 127.0.0.1:$http_port)"
    sh "$repo/nginx/render-local.sh" --out "$demo/nginx" --socket "$demo/token.sock" \
        --cert "$demo/cert.pem" --key "$demo/key.pem" --server-name localhost --daemon on \
        --https-listen "127.0.0.1:$https_port" --http-listen "127.0.0.1:$http_port" >/dev/null
    "$nginx_bin" -t -q -p "$demo/nginx" -c "$demo/nginx/nginx.conf"
    "$nginx_bin" -p "$demo/nginx" -c "$demo/nginx/nginx.conf" \
        || { tail -n 20 "$demo/nginx/logs/error.log" >&2; die "nginx did not start"; }

    local url="https://127.0.0.1:$https_port/udesk/customer_token" answer=
    for i in $(seq 50); do
        answer=$(curl -sS --max-time 2 --cacert "$demo/cert.pem" "$url" \
            -H 'Content-Type: application/json;charset=utf8' \
            -d '{"timestamp": 1501124998, "number": 13800138000}' 2>/dev/null) && break
        sleep 0.1
    done
    [ -n "$answer" ] || { tail -n 20 "$demo/nginx/logs/error.log" >&2; die "no answer from $url"; }

    cat <<EOF

Ready.  Udesk's request, as it sends it:

  curl --cacert demo/cert.pem $url -H 'Content-Type: application/json;charset=utf8' -d '{"timestamp": 1501124998, "number": 13800138000}'

  -> $answer

Try other numbers from Tests/Fixtures/demo-tokens.csv (any written form: "+86 139 0000 1111",
"010-12345678", ...), an unknown one (404), or plain HTTP (308 to HTTPS):
  curl -i http://127.0.0.1:$http_port/udesk/customer_token -d '{}'

Logs: demo/token-responder.log, demo/nginx/logs/.   Stop with: scripts/demo.sh stop
EOF
}

case ${1:-start} in
    start) start ;;
    stop) stop ;;
    status) status ;;
    *) echo "usage: scripts/demo.sh [start|stop|status]" >&2; exit 2 ;;
esac
