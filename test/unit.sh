#!/usr/bin/env bash
# The quick loop (npm run test:unit): the pure and in-process tests (test/unit/, mirroring the
# source) and the tree's rules (layers, lint, format), in seconds, with no daemon and no peer
# (pcscd, sshd, 7z). npm test runs these too, with test/integration/.
set -euo pipefail
cd "$(dirname "$0")/.."
exec bash test/tap.sh 'dist/test/unit/**/*.test.js'
