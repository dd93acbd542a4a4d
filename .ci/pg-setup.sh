#!/usr/bin/env bash
# PostgreSQL for the tests (test/helpers/shared-storage.ts): Debian's
# postgresql installed when missing, its cluster started, and a role
# plexichat_test (password plexichat_test, CREATEDB) the tests create and
# drop their databases with. Run as root (CI runs as root); idempotent.
set -euo pipefail
if [ "$(id -u)" = 0 ]; then SUDO=""; AS_PG="runuser -u postgres --"; else SUDO="sudo"; AS_PG="sudo -u postgres"; fi
export DEBIAN_FRONTEND=noninteractive
if ! command -v pg_lsclusters >/dev/null 2>&1; then
  echo "ci: installing postgresql"
  $SUDO apt-get update -y >/dev/null
  $SUDO apt-get install -y --no-install-recommends postgresql >/dev/null
fi
version="$(pg_lsclusters --no-header | awk 'NR==1 {print $1}')"
cluster="$(pg_lsclusters --no-header | awk 'NR==1 {print $2}')"
if [ -z "$version" ]; then
  version="$(ls /usr/lib/postgresql | sort -n | tail -1)"
  cluster=main
  $SUDO pg_createcluster "$version" "$cluster" >/dev/null
fi
if ! pg_lsclusters --no-header | awk -v v="$version" -v c="$cluster" '$1==v && $2==c {print $4}' | grep -q online; then
  $SUDO pg_ctlcluster "$version" "$cluster" start || true
fi
for _ in $(seq 1 30); do
  if $AS_PG psql -qtAc 'SELECT 1' >/dev/null 2>&1; then break; fi
  sleep 1
done
$AS_PG psql -qv ON_ERROR_STOP=1 >/dev/null <<'SQL'
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'plexichat_test') THEN
    CREATE ROLE plexichat_test LOGIN CREATEDB PASSWORD 'plexichat_test';
  END IF;
END $$;
SQL
echo "ci: PostgreSQL $version/$cluster is up (role plexichat_test)"
