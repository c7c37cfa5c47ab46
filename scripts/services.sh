#!/usr/bin/env bash
# Checks PostgreSQL (127.0.0.1:5432) and Redis (127.0.0.1:6379) and starts them when they are down.
# Fails loudly when either cannot be reached.
set -uo pipefail

wait_for() {  # wait_for <what> <command...>
  local what=$1; shift
  for _ in $(seq 1 30); do "$@" >/dev/null 2>&1 && return 0; sleep 1; done
  echo "ERROR: $what is not reachable and could not be started" >&2
  return 1
}

if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  echo "== starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
fi
wait_for PostgreSQL pg_isready -h 127.0.0.1 -p 5432 -q || exit 1
psql -h 127.0.0.1 -U postgres -d test -c 'select 1' >/dev/null 2>&1 \
  || { echo "ERROR: PostgreSQL database 'test' is not usable" >&2; exit 1; }

if ! redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; then
  echo "== starting Redis"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
fi
wait_for Redis sh -c 'redis-cli -h 127.0.0.1 -p 6379 ping | grep -q PONG' || exit 1
echo "== services: PostgreSQL and Redis are up"
