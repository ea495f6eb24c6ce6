#!/usr/bin/env bash
# Installs and starts what the test suite needs beyond Go, so that a fresh
# machine (and CI) runs the same suite as a developer's:
#   - PostgreSQL at 127.0.0.1:5432 (started if it is down; database "test")
#   - radclient (Debian freeradius-utils) for the RADIUS tests
#   - ip (iproute2) for the network-namespace device tests
#   - chromium (Debian's) for the browser-as-device test
# It is idempotent and quick when everything is already there.
set -euo pipefail

need=()
command -v radclient >/dev/null 2>&1 || need+=(freeradius-utils)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v psql >/dev/null 2>&1 || need+=(postgresql)
command -v chromium >/dev/null 2>&1 || need+=(chromium)

if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "test-deps: missing ${need[*]}; install them (as root: apt-get install ${need[*]})" >&2
    exit 1
  fi
  echo "test-deps: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

pg_ready() { psql -h 127.0.0.1 -U postgres -d test -Atqc 'select 1' >/dev/null 2>&1; }
if ! pg_ready; then
  echo "test-deps: starting PostgreSQL"
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    for v in $(ls /etc/postgresql); do
      pg_ctlcluster --skip-systemctl-redirect "$v" main start || true
    done
  fi
  for _ in $(seq 1 30); do pg_ready && break; sleep 1; done
  if ! psql -h 127.0.0.1 -U postgres -d postgres -Atqc 'select 1' >/dev/null 2>&1; then
    echo "test-deps: PostgreSQL is not reachable at 127.0.0.1:5432" >&2
    exit 1
  fi
  pg_ready || psql -h 127.0.0.1 -U postgres -d postgres -qc 'CREATE DATABASE test' >/dev/null
fi
echo "test-deps: ready (radclient, ip, chromium, PostgreSQL at 127.0.0.1:5432/test)"
