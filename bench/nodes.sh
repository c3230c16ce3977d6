#!/usr/bin/env bash
# What losing a node costs: two responder nodes on TCP behind the shipped nginx files
# (rendered with one server line per node), wrk with Udesk-shaped requests over HTTPS, and one
# node killed with SIGKILL part way through. Prints req/s, latency p50/p99/max, non-2xx and
# socket errors for the whole run.
#
#   bench/nodes.sh                     1M rows, 256 connections, 10 s, the kill at 3 s
#   CONNS=64 DUR=6 KILL_AT=2 bench/nodes.sh
#
# env: ROWS (1000000), CONNS (256), DUR (10), KILL_AT (3), DATA (/tmp/udesk-bench-data).
# Needs: wrk, nginx, openssl (scripts/install-deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${ROWS:-1000000}; CONNS=${CONNS:-256}; DUR=${DUR:-10}; KILL_AT=${KILL_AT:-3}
DATA=${DATA:-/tmp/udesk-bench-data}/$ROWS
bin=$(swift build -c release --static-swift-stdlib --show-bin-path)
[ -x "$bin/token-responder" ] || swift build -c release --static-swift-stdlib >/dev/null
[ -f "$DATA/tokens.csv" ] || python3 bench/gen_data.py "$ROWS" "$DATA" >/dev/null
[ -f "$DATA/store.db" ] || "$bin/tokenctl" --store "$DATA/store.db" import "$DATA/tokens.csv" >/dev/null

run=$(mktemp -d /tmp/udesk-nodes.XXXX); chmod 755 "$run"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$run"; }
trap cleanup EXIT

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost \
  -addext subjectAltName=IP:127.0.0.1 -keyout "$run/key.pem" -out "$run/cert.pem" 2>/dev/null
nginx/render-local.sh --out "$run/nginx" --socket "$run/unused.sock" --cert "$run/cert.pem" --key "$run/key.pem" \
  --https-listen 127.0.0.1:18443 --http-listen 127.0.0.1:18081 --backends "127.0.0.1:18901 127.0.0.1:18902" >/dev/null
sed -i 's/worker_connections [0-9]*;/worker_connections 8192;/' "$run/nginx/nginx.conf"
for port in 18901 18902; do
  "$bin/token-responder" --store "$DATA/store.db" --socket "127.0.0.1:$port" 2>"$run/node-$port.log" &
  pids+=($!)
done
victim=${pids[0]}
nginx -p "$run/nginx" -c "$run/nginx/nginx.conf" 2>"$run/nginx.err" & pids+=($!)
for port in 18901 18902; do
  for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
done
sleep 0.5
( sleep "$KILL_AT"; kill -KILL "$victim" ) &
out=$(wrk -t1 -c"$CONNS" -d"${DUR}s" --latency -s bench/udesk.lua https://127.0.0.1:18443/udesk/customer_token \
  -- "$DATA/numbers.txt" 0)
rps=$(awk '/Requests\/sec/{print $2}' <<<"$out")
p50=$(awk '$1=="50%"{print $2}' <<<"$out"); p99=$(awk '$1=="99%"{print $2}' <<<"$out")
max=$(awk '/Latency/{print $4; exit}' <<<"$out")
non2xx=$(awk '/Non-2xx/{print $NF}' <<<"$out"); non2xx=${non2xx:-0}
sockerr=$(awk '/Socket errors/{gsub(",","");print $4+$6+$8+$10}' <<<"$out"); sockerr=${sockerr:-0}
printf "rows=%s conns=%s dur=%ss, node on 18901 killed at %ss\n" "$ROWS" "$CONNS" "$DUR" "$KILL_AT"
printf "%10s %9s %9s %9s %7s %7s\n" req/s p50 p99 max non2xx sockerr
printf "%10s %9s %9s %9s %7s %7s\n" "$rps" "$p50" "$p99" "$max" "$non2xx" "$sockerr"
