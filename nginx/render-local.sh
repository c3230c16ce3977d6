#!/bin/sh
# render-local.sh -- render the shipped nginx/ files into a self-contained nginx instance
# (its own prefix directory, ports, socket and certificate) for local runs: scripts/demo.sh
# and the integration tests (Tests/Integration) both use it, so they run exactly the files
# that ship.  Not needed in production, where the files are installed as their headers say.
#
#   nginx/render-local.sh --out DIR --socket PATH --cert PATH --key PATH \
#       [--https-listen 127.0.0.1:8443] [--http-listen 127.0.0.1:8080] \
#       [--server-name localhost] [--daemon off|on] [--fastcgi-params /etc/nginx/fastcgi_params]
#       [--udesk-allow "ADDR[ ADDR...]"] [--backends "HOST:PORT[ HOST:PORT...]"] [--fastcgi-bind ADDR]
#
# Result (DIR is made absolute):
#   DIR/nginx.conf                           main file: pid, logs and temp dirs inside DIR
#   DIR/fastcgi_params                       copy of Debian's /etc/nginx/fastcgi_params
#   DIR/conf.d/udesk-token-upstream.conf     shipped file, socket path substituted
#   DIR/snippets/udesk-token-location.conf   shipped file, access log path substituted
#   DIR/snippets/udesk-token-headers.conf    shipped file, unchanged
#   DIR/snippets/udesk-token-allowlist.conf  shipped file: unchanged (inactive), or with
#                                            --udesk-allow activated as its header says: the
#                                            placeholder "allow" lines replaced by one
#                                            "allow ADDR;" per address, "deny all;" uncommented
#   DIR/sites-enabled/udesk-token-https.conf shipped file, listen/cert/name substituted
# i.e. the Debian /etc/nginx layout, so the shipped relative includes work unchanged.
# Run it with:  nginx -p DIR -c DIR/nginx.conf   (check with: nginx -t -p DIR -c DIR/nginx.conf)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
out= socket= cert= key=
https_listen=127.0.0.1:8443
http_listen=127.0.0.1:8080
server_name=localhost
daemon=off
fastcgi_params=/etc/nginx/fastcgi_params
udesk_allow=
backends=
fastcgi_bind=

usage() { sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while [ $# -gt 0 ]; do
    [ $# -ge 2 ] || usage
    case $1 in
        --out) out=$2 ;;
        --socket) socket=$2 ;;
        --cert) cert=$2 ;;
        --key) key=$2 ;;
        --https-listen) https_listen=$2 ;;
        --http-listen) http_listen=$2 ;;
        --server-name) server_name=$2 ;;
        --daemon) daemon=$2 ;;
        --fastcgi-params) fastcgi_params=$2 ;;
        --udesk-allow) udesk_allow=$2 ;;
        --backends) backends=$2 ;;
        --fastcgi-bind) fastcgi_bind=$2 ;;
        *) usage ;;
    esac
    shift 2
done
[ -n "$out" ] && [ -n "$socket" ] && [ -n "$cert" ] && [ -n "$key" ] || usage
case $daemon in on|off) ;; *) usage ;; esac
[ -r "$fastcgi_params" ] || { echo "render-local.sh: $fastcgi_params not found (install nginx-common)" >&2; exit 1; }

abs() { case $1 in /*) printf '%s\n' "$1" ;; *) printf '%s/%s\n' "$(pwd)" "$1" ;; esac; }
mkdir -p "$out"
out=$(cd "$out" && pwd)
socket=$(abs "$socket"); cert=$(abs "$cert"); key=$(abs "$key")
# Escape a value for the right-hand side of a sed s||| command.
esc() { printf '%s\n' "$1" | sed -e 's/[\\|&]/\\&/g'; }

https_port=${https_listen##*:}
if [ "$https_port" = 443 ]; then redirect='https://$host$request_uri'
else redirect="https://\$host:$https_port\$request_uri"; fi

mkdir -p "$out/conf.d" "$out/snippets" "$out/sites-enabled" "$out/logs" \
    "$out/tmp/body" "$out/tmp/fastcgi" "$out/tmp/proxy" "$out/tmp/scgi" "$out/tmp/uwsgi"
cp "$fastcgi_params" "$out/fastcgi_params"

sed -e "s|/run/token-responder/token-responder\.sock|$(esc "$socket")|g" \
    "$here/udesk-token-upstream.conf" >"$out/conf.d/udesk-token-upstream.conf"
if [ -n "$backends" ]; then
    # Several nodes over TCP, as the upstream file's commented lines show: one server line each.
    lines=
    for b in $backends; do
        case $b in *[!0-9a-zA-Z.:\[\]-]*) echo "render-local.sh: bad --backends address: $b" >&2; exit 2 ;; esac
        lines="$lines    server $b max_fails=1 fail_timeout=5s;\n"
    done
    awk -v lines="$lines" '/^    server unix:/ { printf "%s", lines; next } { print }' \
        "$out/conf.d/udesk-token-upstream.conf" >"$out/conf.d/upstream.tmp"
    mv "$out/conf.d/upstream.tmp" "$out/conf.d/udesk-token-upstream.conf"
fi
sed -e "s|/var/log/nginx/udesk-token\.access\.log|$(esc "$out/logs/udesk-token.access.log")|g" \
    "$here/udesk-token-location.conf" >"$out/snippets/udesk-token-location.conf"
if [ -n "$fastcgi_bind" ]; then
    case $fastcgi_bind in *[!0-9a-fA-F.:]*) echo "render-local.sh: bad --fastcgi-bind address: $fastcgi_bind" >&2; exit 2 ;; esac
    # The commented lines of the locations, activated with this address.
    awk -v addr="$fastcgi_bind" '/^    #fastcgi_bind / { print "    fastcgi_bind " addr ";"; next } { print }' \
        "$out/snippets/udesk-token-location.conf" >"$out/snippets/location.tmp"
    mv "$out/snippets/location.tmp" "$out/snippets/udesk-token-location.conf"
    grep -q "^    fastcgi_bind $fastcgi_bind;" "$out/snippets/udesk-token-location.conf" || { echo "render-local.sh: fastcgi_bind line not found" >&2; exit 1; }
fi
cp "$here/udesk-token-headers.conf" "$out/snippets/udesk-token-headers.conf"
if [ -z "$udesk_allow" ]; then
    cp "$here/udesk-token-allowlist.conf" "$out/snippets/udesk-token-allowlist.conf"
else
    # What an operator does by hand: the first placeholder line becomes the real "allow" lines,
    # the other placeholders go, and "deny all;" is uncommented (it stays last).
    for a in $udesk_allow; do
        case $a in *[!0-9a-fA-F.:/]*) echo "render-local.sh: bad --udesk-allow address: $a" >&2; exit 2 ;; esac
    done
    awk -v addrs="$udesk_allow" '
        /^#allow 203\.0\.113\.10;/ {
            n = split(addrs, a, " ")
            for (i = 1; i <= n; i++) print "allow " a[i] ";"
            print "# (placeholders replaced by render-local.sh --udesk-allow)"
            next
        }
        /^#allow / { next }
        /^#deny all;/ { print "deny all;"; next }
        { print }
    ' "$here/udesk-token-allowlist.conf" >"$out/snippets/udesk-token-allowlist.conf"
fi
sed -e '/listen \[::\]:/d' \
    -e "s|listen 443 ssl|listen $(esc "$https_listen") ssl|" \
    -e "s|listen 80;|listen $(esc "$http_listen");|" \
    -e "s|udesk-token\.example\.com|$(esc "$server_name")|g" \
    -e "s|/etc/ssl/udesk-token/fullchain\.pem|$(esc "$cert")|g" \
    -e "s|/etc/ssl/udesk-token/privkey\.pem|$(esc "$key")|g" \
    -e "s|https://\$host\$request_uri|$(esc "$redirect")|g" \
    -e "s|/var/log/nginx/udesk-token\.access\.log|$(esc "$out/logs/udesk-token.access.log")|g" \
    "$here/udesk-token-https.conf" >"$out/sites-enabled/udesk-token-https.conf"

# Workers run as root only when nginx is started by root (the tests); otherwise the directive
# would just be ignored with a warning, so leave it out.
user_line=
[ "$(id -u)" = 0 ] && user_line='user root;'

cat >"$out/nginx.conf" <<EOF
# Generated by nginx/render-local.sh for a local demo/test instance -- not a production file.
daemon $daemon;
master_process on;
worker_processes 1;
$user_line
pid $out/nginx.pid;
error_log $out/logs/error.log info;

events {
    worker_connections 512;
}

http {
    default_type application/octet-stream;
    access_log $out/logs/access.log;
    client_body_temp_path $out/tmp/body;
    fastcgi_temp_path $out/tmp/fastcgi;
    proxy_temp_path $out/tmp/proxy;
    scgi_temp_path $out/tmp/scgi;
    uwsgi_temp_path $out/tmp/uwsgi;

    include conf.d/udesk-token-upstream.conf;
    include sites-enabled/udesk-token-https.conf;
}
EOF

# Fail loudly if a literal the shipped files promise has been renamed.
if [ -z "$backends" ]; then
    grep -q "unix:$socket" "$out/conf.d/udesk-token-upstream.conf" || { echo "render-local.sh: socket literal not found" >&2; exit 1; }
else
    grep -q "^    server .* max_fails=1 fail_timeout=5s;" "$out/conf.d/udesk-token-upstream.conf" || { echo "render-local.sh: backends not rendered" >&2; exit 1; }
fi
grep -q "access_log $out/logs/udesk-token.access.log" "$out/snippets/udesk-token-location.conf" || { echo "render-local.sh: access log literal not found" >&2; exit 1; }
if [ -n "$udesk_allow" ]; then
    for a in $udesk_allow; do
        grep -qx "allow $a;" "$out/snippets/udesk-token-allowlist.conf" || { echo "render-local.sh: allow-list placeholder not found" >&2; exit 1; }
    done
    grep -qx "deny all;" "$out/snippets/udesk-token-allowlist.conf" || { echo "render-local.sh: allow-list \"#deny all;\" not found" >&2; exit 1; }
    [ "$(grep -v '^[[:space:]]*#' "$out/snippets/udesk-token-allowlist.conf" | grep -v '^[[:space:]]*$' | tail -n 1)" = "deny all;" ] || { echo "render-local.sh: \"deny all;\" is not the last rule" >&2; exit 1; }
fi
grep -q "ssl_certificate *$cert;" "$out/sites-enabled/udesk-token-https.conf" || { echo "render-local.sh: certificate literal not found" >&2; exit 1; }
grep -q "listen $https_listen ssl" "$out/sites-enabled/udesk-token-https.conf" || { echo "render-local.sh: https listen literal not found" >&2; exit 1; }
grep -q "listen $http_listen;" "$out/sites-enabled/udesk-token-https.conf" || { echo "render-local.sh: http listen literal not found" >&2; exit 1; }
echo "$out/nginx.conf"
