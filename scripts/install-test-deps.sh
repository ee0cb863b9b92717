#!/usr/bin/env bash
# Installs what the test suite needs beyond Python packages, from the registries only:
#   - Debian's chromium (headless browser test of the HTML report)
#   - the Neo4j 5.26 server, built from Maven Central artifacts (citynet neo4j install)
set -euo pipefail
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  fi
fi
# Neo4j 5.26 Community, built with Maven from Maven Central artifacts into ~/.cache/citynet (idempotent)
python3 -m citynet neo4j install
