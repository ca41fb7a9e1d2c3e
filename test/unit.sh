#!/usr/bin/env bash
# The quick loop (npm run test:unit): the pure and in-process tests, in seconds, with no Debian
# package, no daemon and no peer (pcscd, sshd, 7z). ae2-encrypt is left out: it compares with 7z.
# npm test runs these too, with everything else.
set -euo pipefail
cd "$(dirname "$0")/.."
exec bash test/tap.sh \
  'dist/test/policy-*.test.js' \
  dist/test/config.test.js \
  dist/test/default-password.test.js \
  dist/test/generation-store.test.js \
  dist/test/rotating-file.test.js \
  dist/test/import-boundaries.test.js \
  dist/test/schemas.test.js \
  dist/test/schemas-drift.test.js \
  'dist/test/unit/wire/*.test.js'
