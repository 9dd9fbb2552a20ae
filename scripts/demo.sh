#!/usr/bin/env bash
# The README's first command: install what is missing, bring up the demo lab (leader + 2 followers,
# standby1 synchronous) unless it is already up, and print its status.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if node bin/repl-lab.cjs status --lab demo > /dev/null 2>&1; then
  echo "lab demo is already up (remove it with: npx repl-lab down --lab demo)" >&2
else
  node bin/repl-lab.cjs up --lab demo --followers 2 --sync standby1
fi
node bin/repl-lab.cjs status --lab demo
