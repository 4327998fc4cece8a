# Shared by scripts/quickstart.sh and scripts/test.sh (sourced, not run). One way to install system packages and
# one way to build a root-owned venv.
set -euo pipefail

say() { printf 'juicefs-guard: %s\n' "$*" >&2; }
die() { say "$*"; exit 2; }

require_root() {
  [ "$(id -u)" = 0 ] || die "run this as root: sudo $0"
}

# apt_install PKG...: install what is missing (apt-get update first), never prompting.
apt_install() {
  command -v apt-get >/dev/null || die "this script needs apt-get (Debian 12 / Ubuntu 22.04 or newer)"
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

check_python() {
  python3 -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' \
    || die "Python 3.11 or newer is needed (found $(python3 --version 2>&1)); use Debian 12 or Ubuntu 24.04"
}

# make_venv DIR SPEC: a root-owned venv at DIR with SPEC installed (a path or 'path[extra]').
make_venv() {
  local dir=$1 spec=$2
  umask 022
  [ -x "$dir/bin/python" ] || { say "creating venv $dir"; python3 -m venv "$dir"; }
  say "installing $spec into $dir (pip)"
  "$dir/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip >/dev/null
  "$dir/bin/python" -m pip install -q --disable-pip-version-check --upgrade --force-reinstall --no-deps "$spec" >/dev/null
  "$dir/bin/python" -m pip install -q --disable-pip-version-check "$spec"
  chown -R root:root "$dir"
  chmod -R go-w "$dir"
}
