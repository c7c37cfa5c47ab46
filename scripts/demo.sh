#!/usr/bin/env bash
# Sets up and starts the backoffice with demo data on the embedded defaults
# (SQLite under instance/, jobs in-process). Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export FLASK_APP=wsgi.py
.venv/bin/flask db upgrade
.venv/bin/flask demo --if-empty
PORT=${PORT:-5000}
cat <<MSG

  Backoffice: http://127.0.0.1:${PORT}/
  Accounts (password: demo-password):
    admin@demo.example          administrateur
    filiale@demo.example        filiale (équipe digitale)
    vpp@demo.example            VPP (validation des campagnes)
    cdv.nord@demo.example       chef des ventes, Concession du Nord
    vendeur.nord@demo.example   vendeur, Concession du Nord
    cdv.sud@demo.example        chef des ventes, Concession du Sud

MSG
# The periodic jobs (nightly send at 02:00, score refresh, storefront feeds…) run in a companion
# process: in-process jobs without Redis, RQ's cron scheduler with REDIS_URL.
mkdir -p instance
.venv/bin/flask send cron > instance/cron.log 2>&1 &
CRON_PID=$!
trap 'kill $CRON_PID 2>/dev/null' EXIT INT TERM
.venv/bin/flask run --host 127.0.0.1 --port "$PORT"
