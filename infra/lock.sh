#!/usr/bin/env bash
# Writes infra/constraints.txt from the packages installed in .venv, so a fresh machine
# installs the versions the suite last passed with. Run it after upgrading a package and
# seeing `make lint` and `make test` pass; the project itself is not pinned.
set -euo pipefail
cd "$(dirname "$0")/.."
{
  echo "# Versions the suite last passed with; written by \`make lock\` (infra/lock.sh)."
  echo "# Used as pip constraints by infra/bootstrap.sh: edit by upgrading, testing, re-locking."
  .venv/bin/pip freeze --exclude-editable | grep -v -e '^#' -e '^-e ' -e ' @ ' | LC_ALL=C sort -f
} > infra/constraints.txt
echo "lock: $(grep -vc '^#' infra/constraints.txt) packages pinned in infra/constraints.txt"
