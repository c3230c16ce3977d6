#!/usr/bin/env bash
# Plain-CGI mode: one process per request against the 1M-row store, with hyperfine, next to
# php-cgi running a minimal PHP lookup of the same kind (set PHP_SCRIPT to compare with another).
# Both are started through `sh -c 'exec … < body'`; the third row measures that wrapper alone.
# env: ROWS (1000000), DATA (/tmp/udesk-bench-data), PHP_SCRIPT
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${ROWS:-1000000}; DATA=${DATA:-/tmp/udesk-bench-data}/$ROWS
command -v hyperfine >/dev/null || { echo "hyperfine missing: apt-get install hyperfine" >&2; exit 1; }
bin=$(swift build -c release --static-swift-stdlib --show-bin-path)
[ -f "$DATA/store.db" ] || ROWS=$ROWS bench/run.sh >/dev/null  # builds data and store
work=$(mktemp -d /tmp/udesk-cgi.XXXX); trap 'rm -rf "$work"' EXIT
printf '{"timestamp": 1501124998, "number": %s}' "$(head -1 "$DATA/numbers.txt")" >"$work/body.json"
python3 - "$DATA/store.db" "$work/php.db" <<'PY'
import sqlite3, sys
src = sqlite3.connect(sys.argv[1]); dst = sqlite3.connect(sys.argv[2])
dst.execute("CREATE TABLE tokens(number TEXT PRIMARY KEY, token TEXT NOT NULL) WITHOUT ROWID")
dst.executemany("INSERT INTO tokens VALUES(?, ?)", ((n[3:], t) for n, t in src.execute("SELECT number, token FROM tokens")))
dst.commit()
PY
PHP_SCRIPT=${PHP_SCRIPT:-$work/lookup.php}
[ -f "$PHP_SCRIPT" ] || cat >"$PHP_SCRIPT" <<'PHP'
<?php
$req = json_decode(file_get_contents('php://input'), true);
header('Content-Type: application/json; charset=utf-8');
$num = preg_replace('/\D/', '', (string)$req['number']);
$db = new SQLite3(getenv('TOKENS_DB'), SQLITE3_OPEN_READONLY);
$st = $db->prepare('SELECT token FROM tokens WHERE number = :n');
$st->bindValue(':n', $num, SQLITE3_TEXT);
$row = $st->execute()->fetchArray(SQLITE3_NUM);
echo json_encode(['customer_token' => $row ? $row[0] : '']);
PHP
export GATEWAY_INTERFACE=CGI/1.1 REQUEST_METHOD=POST CONTENT_TYPE='application/json;charset=utf8' \
  CONTENT_LENGTH=$(stat -c %s "$work/body.json") TOKEN_STORE=$DATA/store.db TOKEN_LOG_LEVEL=warning \
  SCRIPT_FILENAME=$PHP_SCRIPT REDIRECT_STATUS=200 TOKENS_DB=$work/php.db
"$bin/token-responder" <"$work/body.json" | tail -1; echo
php-cgi <"$work/body.json" | tail -1; echo
cd "$work"
hyperfine -N --warmup 20 --runs 300 "sh -c 'exec $bin/token-responder < body.json'" \
  "sh -c 'exec php-cgi < body.json'" "sh -c 'exec /bin/true < body.json'" 2>&1 | grep -E "Benchmark|Time"
