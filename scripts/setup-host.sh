#!/usr/bin/env bash
# Prepares a Debian/Ubuntu host (or CI machine) for Denia: installs the Debian
# packages listed in .ci/apt-packages, then `npm ci`, whose `prepare` step
# builds the TypeScript and the native runtime helper, and puts `denia` on
# PATH (/usr/local/bin/denia -> this checkout's dist/main.js). Idempotent.
# Run as root. If another apt/dpkg run holds the package lock (unattended
# upgrades on a fresh machine), it waits for it, up to DENIA_APT_WAIT seconds
# (default 300), saying so.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

if [ "$(id -u)" -ne 0 ]; then
  echo "setup-host: run as root (it installs Debian packages)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
wait_max=${DENIA_APT_WAIT:-300}

# Whether some process has one of dpkg's/apt's lock files open (fuser, from psmisc). Without fuser,
# apt's own DPkg::Lock::Timeout below does the waiting (and says so).
lock_busy() {
  command -v fuser >/dev/null 2>&1 || return 1
  local lock
  for lock in /var/lib/dpkg/lock-frontend /var/lib/dpkg/lock /var/lib/apt/lists/lock /var/cache/apt/archives/lock; do
    [ -e "$lock" ] && fuser "$lock" >/dev/null 2>&1 && return 0
  done
  return 1
}

wait_for_dpkg() {
  local waited=0
  while lock_busy; do
    if [ "$waited" -eq 0 ]; then
      echo "setup-host: another package manager run holds the dpkg lock (unattended upgrades?); waiting up to ${wait_max}s..."
    fi
    if [ "$waited" -ge "$wait_max" ]; then
      echo "setup-host: the dpkg lock is still held after ${wait_max}s; wait for the other run to finish (or raise DENIA_APT_WAIT) and run this again" >&2
      exit 1
    fi
    sleep 5
    waited=$((waited + 5))
    if [ $((waited % 30)) -eq 0 ]; then echo "setup-host: still waiting for the dpkg lock (${waited}s)"; fi
  done
}

# apt itself waits for the frontend lock this long too (apt >= 1.9), covering the gap between our check and its start.
apt_opts=(-o "DPkg::Lock::Timeout=${wait_max}")
packages=$(grep -v '^\s*#' .ci/apt-packages | tr -s ' \n' ' ')
wait_for_dpkg
apt-get "${apt_opts[@]}" update -qq
wait_for_dpkg
# shellcheck disable=SC2086
apt-get "${apt_opts[@]}" install -y -qq --no-install-recommends $packages >/dev/null
npm ci --no-audit --no-fund

# `denia` on PATH: a symlink to this checkout's entry point (re-pointed when it exists).
chmod +x "$repo/dist/main.js"
ln -sfn "$repo/dist/main.js" /usr/local/bin/denia
echo "setup-host: done; denia is on PATH (/usr/local/bin/denia -> $repo/dist/main.js)"
echo
echo "Next steps:"
echo "  1. denia daemon        # start the daemon (first boot writes ~/.config/denia/config.toml)"
echo "  2. denia doctor        # in another shell: check the host; then denia services create web --image nginx:1.27"
