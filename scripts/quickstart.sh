#!/usr/bin/env bash
# The README's first command: `sudo ./scripts/quickstart.sh [--agent NAME] [--name FS]`.
# On a fresh Debian/Ubuntu host: installs juicefs-guard (root-owned venv /opt/juicefs-guard, command
# /usr/local/bin/juicefs-guard), then creates a broker-mode volume that needs no outside service (SQLite metadata
# and local storage under root-only /var/lib/juicefs-guard/quickstart), an agent user, formatted and ready.
# Re-running it changes nothing.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/_common.sh"

AGENT=aiagent
FS=agentfs
while [ $# -gt 0 ]; do
  case $1 in
    --agent) AGENT=${2:?--agent needs a user name}; shift 2 ;;
    --name) FS=${2:?--name needs a filesystem name}; shift 2 ;;
    -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
    *) die "unknown argument $1 (use --agent NAME, --name FS)" ;;
  esac
done

require_root
apt_install python3 python3-venv shc gcc libc6-dev fuse3 sudo procps util-linux ca-certificates
check_python
[ -e /dev/fuse ] || die "/dev/fuse is missing: load the fuse module (modprobe fuse) or, in a container, pass --device /dev/fuse"

VENV=/opt/juicefs-guard
make_venv "$VENV" "$here/.."
ln -sfn "$VENV/bin/juicefs-guard" /usr/local/bin/juicefs-guard

DATA=/var/lib/juicefs-guard/quickstart
install -d -m 0755 -o root -g root /var/lib/juicefs-guard
install -d -m 0700 -o root -g root "$DATA" "$DATA/objects"

say "installing filesystem $FS for agent $AGENT (broker mode, SQLite metadata, local storage)"
/usr/local/bin/juicefs-guard init --non-interactive \
  --name "$FS" --agent "$AGENT" --mode broker \
  --meta-url "sqlite3://$DATA/$FS.db" --storage file --bucket "$DATA/objects/" --format

echo
echo "Done. The agent mounts its volume with:"
echo "  sudo -u $AGENT /home/$AGENT/juicefs-scripts/$FS mount"
echo "Check the installation with: sudo juicefs-guard audit"
