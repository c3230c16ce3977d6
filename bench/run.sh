#!/usr/bin/env bash
# The product's own benchmark: data set -> tokenctl import -> token-responder behind nginx with
# the shipped nginx/ files (HTTPS on loopback) -> wrk with Udesk-shaped requests.
# Prints req/s, latency p50/p99/max, non-2xx, socket errors and the responder's peak RSS.
#
#   bench/run.sh                       1M rows, 256 connections, 10 s
#   ROWS=100000 CONNS=32 DUR=5 UNKNOWN=10 THREADS=4 bench/run.sh
#   IMPORT_DURING=1 bench/run.sh       also run `tokenctl import --replace` of the whole file
#                                      while wrk runs (every answer must still be 2xx/404)
#   TCP=1 bench/run.sh                 the responder on 127.0.0.1:PORT (FastCGI over TCP, nginx
#                                      rendered with --backends) instead of a Unix socket
#
# env: ROWS (1000000), CONNS (256), DUR (10), UNKNOWN (% unknown numbers, 0), THREADS (default
#      of token-responder), DATA (bench data dir, /tmp/udesk-bench-data), IMPORT_DURING (0).
# Needs: wrk, nginx, openssl (scripts/install-deps.sh; wrk is apt package wrk).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
ROWS=${ROWS:-1000000}; CONNS=${CONNS:-256}; DUR=${DUR:-10}; UNKNOWN=${UNKNOWN:-0}
DATA=${DATA:-/tmp/udesk-bench-data}/$ROWS
command -v wrk >/dev/null || { echo "wrk missing: apt-get install wrk" >&2; exit 1; }
bin=$(swift build -c release --static-swift-stdlib --show-bin-path)
[ -x "$bin/token-responder" ] || swift build -c release --static-swift-stdlib >/dev/null
[ -f "$DATA/tokens.csv" ] || python3 bench/gen_data.py "$ROWS" "$DATA" >/dev/null

run=$(mktemp -d /tmp/udesk-bench.XXXX); chmod 755 "$run"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$run"; }
trap cleanup EXIT

if [ ! -f "$DATA/store.db" ]; then
  /usr/bin/time -f "import: %e s, peak RSS %M KB" "$bin/tokenctl" --store "$DATA/store.db" import "$DATA/tokens.csv" >/dev/null
fi
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost \
  -addext subjectAltName=IP:127.0.0.1 -keyout "$run/key.pem" -out "$run/cert.pem" 2>/dev/null
listen="$run/token.sock"; backends=()
if [ "${TCP:-0}" = 1 ]; then listen=127.0.0.1:18900; backends=(--backends "$listen"); fi
nginx/render-local.sh --out "$run/nginx" --socket "$run/token.sock" --cert "$run/cert.pem" --key "$run/key.pem" \
  --https-listen 127.0.0.1:18443 --http-listen 127.0.0.1:18081 "${backends[@]}" >/dev/null
# The rendered file is sized for demos and tests; a client and an upstream connection per wrk
# connection need more than its 512.
sed -i 's/worker_connections [0-9]*;/worker_connections 8192;/' "$run/nginx/nginx.conf"
# The benchmark measures the service, not the log disk: one info line per request goes to a file.
"$bin/token-responder" --store "$DATA/store.db" --socket "$listen" ${THREADS:+--threads "$THREADS"} \
  2>"$run/responder.log" &
responder=$!; pids+=("$responder")
nginx -p "$run/nginx" -c "$run/nginx/nginx.conf" 2>"$run/nginx.err" & pids+=($!)
for _ in $(seq 50); do { [ -S "$run/token.sock" ] || { [ "${TCP:-0}" = 1 ] && (exec 3<>/dev/tcp/127.0.0.1/18900) 2>/dev/null; }; } && break; sleep 0.1; done
sleep 0.5

importer=
if [ "${IMPORT_DURING:-0}" = 1 ]; then
  ( sleep 1; /usr/bin/time -f "import --replace during load: %e s" "$bin/tokenctl" --store "$DATA/store.db" \
      import --replace "$DATA/tokens.csv" >/dev/null ) &
  importer=$!; pids+=("$importer")
fi
out=$(wrk -t1 -c"$CONNS" -d"${DUR}s" --latency -s bench/udesk.lua https://127.0.0.1:18443/udesk/customer_token \
  -- "$DATA/numbers.txt" "$UNKNOWN")
[ -z "$importer" ] || wait "$importer"
rps=$(awk '/Requests\/sec/{print $2}' <<<"$out")
p50=$(awk '$1=="50%"{print $2}' <<<"$out"); p99=$(awk '$1=="99%"{print $2}' <<<"$out")
max=$(awk '/Latency/{print $4; exit}' <<<"$out")
non2xx=$(awk '/Non-2xx/{print $NF}' <<<"$out"); non2xx=${non2xx:-0}
sockerr=$(awk '/Socket errors/{gsub(",","");print $4+$6+$8+$10}' <<<"$out"); sockerr=${sockerr:-0}
rss=$(awk '/VmHWM/{print $2" "$3}' "/proc/$responder/status")
statuses=$(grep -o 'status=[0-9]*' "$run/responder.log" | sort | uniq -c | awk '{printf "%s:%s ", $2, $1}')
printf "rows=%s conns=%s dur=%ss unknown=%s%% threads=%s\n" "$ROWS" "$CONNS" "$DUR" "$UNKNOWN" "${THREADS:-default}"
printf "%10s %9s %9s %9s %7s %7s %12s\n" req/s p50 p99 max non2xx sockerr peak-RSS
printf "%10s %9s %9s %9s %7s %7s %12s\n" "$rps" "$p50" "$p99" "$max" "$non2xx" "$sockerr" "$rss"
echo "responder answers: $statuses"
grep -E "Socket errors" <<<"$out" || true
