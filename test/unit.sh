#!/usr/bin/env bash
# The quick loop (npm run test:unit): the pure and in-process tests, in seconds, with no Debian
# package, no daemon and no peer (pcscd, sshd, 7z), and the tree's rules (layers, lint, format).
# ae2-encrypt is left out: it compares with 7z.
# npm test runs these too, with everything else.
set -euo pipefail
cd "$(dirname "$0")/.."
exec bash test/tap.sh \
  'dist/test/policy-*.test.js' \
  dist/test/config.test.js \
  dist/test/default-password.test.js \
  dist/test/generation-store.test.js \
  dist/test/rotating-file.test.js \
  dist/test/unit/layers.test.js \
  dist/test/unit/lint.test.js \
  dist/test/unit/format.test.js \
  dist/test/schemas.test.js \
  dist/test/schemas-drift.test.js \
  'dist/test/unit/wire/*.test.js'
