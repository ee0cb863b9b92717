#!/usr/bin/env bash
# Installs what the test suite needs beyond Python packages, from the registries only:
#   - Debian's chromium (headless browser test of the HTML report) and a CJK font
#     (fonts-wqy-zenhei), so that the report's Chinese text renders in the test screenshot
#   - the Neo4j 5.26 server, built from Maven Central artifacts (citynet neo4j install)
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
fc-list :lang=zh 2>/dev/null | grep -q . || need+=(fonts-wqy-zenhei)
if [ ${#need[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" = "0" ] || sudo="sudo"
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
# Neo4j 5.26 Community, built with Maven from Maven Central artifacts into ~/.cache/citynet (idempotent),
# by the Python of the project's venv (make passes PY=.venv/bin/python; the system Python may lack citynet)
PY="${PY:-.venv/bin/python}"
[ -x "$PY" ] || { echo "error: $PY not found; run \`make test-deps\` (it creates .venv)" >&2; exit 2; }
"$PY" -m citynet neo4j install
