#!/bin/sh
# Stopped before its files go (on upgrade too: the new version's postinstall does not restart
# it; `systemctl restart k6gate` does, once you have read the changelog).
set -e
if [ -d /run/systemd/system ]; then
  systemctl disable --now k6gate.service >/dev/null 2>&1 || true
fi
