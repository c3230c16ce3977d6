#!/usr/bin/env bash
# Installs what building and running need on Debian/Ubuntu, skipping what is already there;
# with --tests also what the test suite needs (pytest, libphonenumber for Python, openpyxl,
# regex for scripts/gen-cn-numbering.py, which a test runs; promtool; dpkg-dev, debhelper,
# lintian and man-db for the package test).
# Idempotent; uses sudo when not run as root. Swift itself must already be on PATH.
# PostgreSQL 15 (server for the tests, libpq for the store backend) is installed without the
# system cluster Debian would create and start on port 5432: the tests run their own throwaway
# clusters on free loopback ports (Tests/Integration/udesk_pg.py) and need none.
set -euo pipefail
packages=(pkg-config libfcgi-dev libfcgi-bin libsqlite3-dev sqlite3 libcurl4-openssl-dev nginx-light openssl curl spawn-fcgi wrk fcgiwrap
  postgresql-15 libpq-dev)
# The test suite checks deploy/monitoring's alert rules with promtool (Debian's prometheus
# package; nothing is started where no init system runs), and builds, checks and installs the
# Debian package (Tests/Integration/test_package.py) and checks the man pages, units and
# logrotate file (test_packaging.py).
if [ "${1:-}" = "--tests" ]; then
  packages+=(prometheus dpkg-dev debhelper lintian man-db logrotate systemd git)
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Any nginx flavour will do.
if [[ " ${missing[*]} " == *" nginx-light "* ]] && [ -x /usr/sbin/nginx ]; then
  missing=("${missing[@]/nginx-light}")
fi
read -r -a missing <<<"${missing[*]}"
sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
# postgresql-15's postinst creates (and, where an init system runs, starts) the cluster 15/main
# on port 5432 unless postgresql-common is told not to. Only a cluster this run would create is
# prevented or removed; one that was there before is left alone.
pg_fresh=""
if [[ " ${missing[*]} " == *" postgresql-15 "* ]] && [ ! -e /etc/postgresql/15/main ]; then
  pg_fresh=1
  $sudo mkdir -p /etc/postgresql-common/createcluster.d
  echo "create_main_cluster = false" |
    $sudo tee /etc/postgresql-common/createcluster.d/00-no-main-cluster.conf >/dev/null
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "==> installing ${missing[*]}"
  $sudo apt-get update -qq
  # nginx's postinst may try to start the stock site; harmless where there is no init system.
  if ! DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; then
    # Newer Debian/Ubuntu releases no longer have the nginx-light flavour.
    missing=("${missing[@]/nginx-light/nginx}")
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
fi
# An older postgresql-common that ignores createcluster.d still made 15/main: stop and drop it.
if [ -n "$pg_fresh" ] && [ -e /etc/postgresql/15/main ]; then
  echo "==> removing the system cluster 15/main the postgresql-15 package created"
  $sudo pg_dropcluster --stop 15 main
fi
if [ "${1:-}" = "--tests" ] && ! python3 -c 'import pytest, phonenumbers, openpyxl, regex' 2>/dev/null; then
  # openpyxl: the import tests write .xlsx workbooks at test time. phonenumbers is pinned to
  # the metadata Sources/TokenCore/ChineseNumberingPlan.swift was generated from, so the
  # cross-checks compare like with like.
  echo "==> installing pytest, phonenumbers, openpyxl and regex (pip)"
  python3 -m pip install -q pytest phonenumbers==9.0.43 openpyxl regex
fi
command -v swift >/dev/null || { echo "swift is not on PATH: install a Swift 6 toolchain (https://www.swift.org/install/)" >&2; exit 1; }
