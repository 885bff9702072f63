#!/bin/sh
# The service's own user: no login, no home.
set -e
if ! getent group k6gate >/dev/null; then
  groupadd --system k6gate
fi
if ! getent passwd k6gate >/dev/null; then
  useradd --system --gid k6gate --no-create-home --home-dir /var/lib/k6gate \
    --shell /usr/sbin/nologin --comment "k6gate load-test gate" k6gate
fi
