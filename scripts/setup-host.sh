#!/usr/bin/env bash
# Prepares a Debian/Ubuntu host (or CI machine) for Denia: installs the Debian
# packages listed in .ci/apt-packages, then `npm ci`, whose `prepare` step
# builds the TypeScript and the native runtime helper. Idempotent. Run as root.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "setup-host: run as root (it installs Debian packages)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
packages=$(grep -v '^\s*#' .ci/apt-packages | tr -s ' \n' ' ')
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $packages >/dev/null
npm ci --no-audit --no-fund
