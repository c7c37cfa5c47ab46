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
exec .venv/bin/flask run --host 127.0.0.1 --port "$PORT"
