#!/usr/bin/env bash
# User-space instructions per request, counted by callgrind: a count that does not drift with
# the machine's load, for comparing two builds of the request path.
# The release responder (one worker) serves N and then 3N requests from the bench data set on
# one kept FastCGI connection under `valgrind --tool=callgrind`; the difference divided by 2N
# leaves out start-up. Kernel time (system calls) is not counted.
#
#   bench/instructions.sh              N=1000
#   N=500 BIN=/path/to/token-responder bench/instructions.sh
#
# env: N (1000), BIN (the release build), ROWS (1000000), DATA (/tmp/udesk-bench-data).
# Needs: valgrind (apt-get install valgrind), python3.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
N=${N:-1000}; ROWS=${ROWS:-1000000}
DATA=${DATA:-/tmp/udesk-bench-data}/$ROWS
command -v valgrind >/dev/null || { echo "valgrind missing: apt-get install valgrind" >&2; exit 1; }
bin=$(swift build -c release --static-swift-stdlib --show-bin-path)
[ -x "$bin/token-responder" ] || swift build -c release --static-swift-stdlib >/dev/null
[ -f "$DATA/tokens.csv" ] || python3 bench/gen_data.py "$ROWS" "$DATA" >/dev/null
[ -f "$DATA/store.db" ] || "$bin/tokenctl" --store "$DATA/store.db" import "$DATA/tokens.csv" >/dev/null

run=$(mktemp -d /tmp/udesk-instructions.XXXX)
trap 'rm -rf "$run"' EXIT
# Valgrind 3.19 cannot read the DWARF 5 debug information Swift writes; symbols stay.
strip --strip-debug -o "$run/token-responder" "${BIN:-$bin/token-responder}"

count() {  # requests -> instructions of the whole run
  local sock="$run/r$1.sock" out="$run/cg$1.out"
  valgrind --tool=callgrind --callgrind-out-file="$out" "$run/token-responder" --threads 1 \
    --store "$DATA/store.db" --socket "$sock" 2>"$run/valgrind$1.log" >/dev/null &
  local vp=$!
  for _ in $(seq 300); do [ -S "$sock" ] && break; sleep 0.1; done
  PYTHONPATH="$repo/Tests/Integration" python3 - "$sock" "$1" "$DATA/numbers.txt" <<'PY'
import sys
from udesk_it import FastCGIConnection, udesk_body
path, n, numbers = sys.argv[1], int(sys.argv[2]), sys.argv[3]
with open(numbers) as f:
    nums = [line.strip() for _, line in zip(range(5000), f)]
with FastCGIConnection(path, timeout=60) as conn:
    for i in range(n):
        status = conn.request(udesk_body(nums[i % len(nums)])).status
        assert status == 200, status
PY
  kill -TERM "$vp"; wait "$vp" || true
  callgrind_annotate "$out" 2>/dev/null | awk '/PROGRAM TOTALS/{gsub(",","",$1); print $1}'
}
first=$(count "$N"); second=$(count $((3 * N)))
echo "user-space instructions per request: $(( (second - first) / (2 * N) ))  (N=$N; runs of $N and $((3 * N)) requests: $first, $second)"
