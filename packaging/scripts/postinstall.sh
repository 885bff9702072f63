#!/bin/sh
# The settings file readable by the service's group; systemd told about the unit (not started:
# it needs its settings first, see /usr/share/doc/k6gate/README.md).
set -e
chgrp k6gate /etc/k6gate /etc/k6gate/k6gate.env
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload >/dev/null 2>&1 || true
fi
