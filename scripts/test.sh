#!/usr/bin/env bash
# Sets up and runs the whole test suite: once on SQLite, once on the real PostgreSQL, with the
# real Redis for anything that queues. Extra arguments go to pytest.
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh || exit 1
scripts/services.sh || exit 1
export REDIS_TEST_URL=${REDIS_TEST_URL:-redis://127.0.0.1:6379/15}
PG_URL=${TEST_DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test}

echo "== tests on SQLite"
env -u DATABASE_URL .venv/bin/python -m pytest "$@"; sqlite_rc=$?
echo "== tests on PostgreSQL"
DATABASE_URL=$PG_URL .venv/bin/python -m pytest "$@"; pg_rc=$?

echo "== SQLite: exit $sqlite_rc, PostgreSQL: exit $pg_rc"
[ $sqlite_rc -eq 0 ] && [ $pg_rc -eq 0 ]
