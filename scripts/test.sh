#!/usr/bin/env bash
# The README's second command: `sudo ./scripts/test.sh [pytest args]`. Installs what the tests need on a fresh
# Debian 12 / Ubuntu host (Debian packages, a root-owned venv /opt/juicefs-guard-test with the project and its test
# extras), makes /dev/fuse usable by non-root users, and runs the whole suite with the integration tests required
# (a skipped integration test counts as a failure). `--install-only` stops after the installation.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/_common.sh"
require_root

INSTALL_ONLY=0
if [ "${1:-}" = "--install-only" ]; then INSTALL_ONLY=1; shift; fi

apt_install python3 python3-venv shc gcc libc6-dev fuse3 redis-server strace sudo binutils procps util-linux \
  psmisc iproute2 nftables age openssl cron logrotate ca-certificates
check_python
VENV=/opt/juicefs-guard-test
make_venv "$VENV" "$here/..[test]"
[ "$INSTALL_ONLY" = 1 ] && exit 0

if [ -e /dev/fuse ] && [ "$(stat -c %a /dev/fuse)" != 666 ]; then
  say "making /dev/fuse 0666 (the Debian default) so that non-root users can mount"
  chmod 0666 /dev/fuse
fi

cd "$here/.."
say "ruff check"
"$VENV/bin/ruff" check --quiet .
say "running the test suite"
export JFG_REQUIRE_INTEGRATION=1
exec "$VENV/bin/python" -m pytest -q -rs -p no:cacheprovider "$@"
