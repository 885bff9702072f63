#!/bin/sh
# On purge (Debian) or erase (RPM, $1 = 0): the state, the settings and the user go too.
set -e
case "$1" in
  purge | 0)
    rm -rf /var/lib/k6gate /etc/k6gate
    if getent passwd k6gate >/dev/null; then userdel k6gate >/dev/null 2>&1 || true; fi
    if getent group k6gate >/dev/null; then groupdel k6gate >/dev/null 2>&1 || true; fi
    ;;
esac
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload >/dev/null 2>&1 || true
fi
