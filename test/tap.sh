#!/usr/bin/env bash
# Builds, runs the given compiled test files (default: all) with tap and ends with one line
# "N passed, N failed". Shared by the full suite (test/run.sh) and the quick loop (test/unit.sh).
# Patterns (quoted by the caller; ** spans folders) are expanded after the build has made dist/.
# Files run TAP_JOBS at a time (default 3: most wait on daemons, peers and timers, not the cores),
# except those whose source says "// tap: serial" (timing against the wall clock), which run alone.
set -euo pipefail
shopt -s globstar
cd "$(dirname "$0")/.."

# A moved or deleted test would otherwise still run from its stale output.
rm -rf dist/test
# The system tests build each package once per run (test/support/packages.ts); older runs' go.
rm -rf build/test-run-debs
export CCGUARD_TEST_RUN="${CCGUARD_TEST_RUN:-$(date +%s)-$$}"
npm run build --silent
# tap runs with its default plugins until `tap build` has built package.json's set into
# .tap/plugins and linked it from node_modules (after each npm ci; a shared tree may link another
# checkout). It takes seconds, so only when that link, package.json or the lock file changed.
stamp=.tap/plugins.built
if [ "$(readlink -f node_modules/@tapjs/test/test-built/node_modules 2>/dev/null)" != "$PWD/.tap/plugins/node_modules" ] \
  || [ ! -e "$stamp" ] || [ package.json -nt "$stamp" ] || [ package-lock.json -nt "$stamp" ]; then
  npx tap build >/dev/null
  touch "$stamp"
fi

out=$(mktemp)
trap 'rm -f "$out"' EXIT
set +e
if [ "$#" -eq 0 ]; then set -- 'dist/test/**/*.test.js'; fi
files=()
for pattern in "$@"; do
  matched=( $pattern )
  [ -e "${matched[0]}" ] || { echo "no test file matches $pattern" >&2; exit 1; }
  files+=( "${matched[@]}" )
done
serial=()
for file in "${files[@]}"; do
  source=${file#dist/}
  if grep -q '^// tap: serial' "${source%.js}.ts" 2>/dev/null; then serial+=( "--serial=$file" ); fi
done
npx tap --reporter=tap --jobs="${TAP_JOBS:-3}" "${serial[@]}" "${files[@]}" 2>&1 | tee "$out"
status=${PIPESTATUS[0]}
set -e
node test/summarize-tap.mjs "$out" || status=1
exit "$status"
