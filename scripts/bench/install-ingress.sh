#!/bin/sh
# Anchors and load generator for `npm run bench:ingress` (not needed by CI).
set -e
apt-get install -y --no-install-recommends wrk nginx-light haproxy caddy
