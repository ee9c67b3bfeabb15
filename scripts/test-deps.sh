#!/usr/bin/env bash
# Makes sure this machine has what the test command (scripts/test.sh) needs besides Rust, and
# installs what is missing where it can: Debian packages by name (as root, or through sudo without
# a password), schemathesis from PyPI. What it cannot install it names, with the command that
# does, in one line, and fails.
#
#   chromium         the web page's browser tests (browser downloads fail here: Debian's build)
#   postgresql       the server binaries of the suite's throwaway PostgreSQL (scripts/with-postgres.sh)
#   nginx-light      the deployment topology test (the nginx site of deploy/)
#   docker-compose   checks docker-compose.yml (v1 parses the file; no Docker engine needed)
#   e2fsprogs        the storage fault tests' ext4 image (mkfs.ext4, e2fsck)
#   libfaketime      the clock tests step the server's wall clock with it
#   schemathesis     fuzzes the live API from its OpenAPI document (pinned: its checks change)
#   xvfb, xauth      a virtual X server for the desktop app's window tests (desktop/tests/)
#   imagemagick      their screenshots (import, identify)
#   libgl1-mesa-dri, libglx-mesa0, libegl-mesa0, libxkbcommon-x11-0, libxcursor1, libxi6
#                    what the window loads at run time: Mesa's software GL, winit's X11 libraries
#   Node 20+, npm, python3 with pip: not installed here (Debian's Node is older than 20)
set -euo pipefail

SCHEMATHESIS=4.32.5

fail() {
  echo "scripts/test.sh cannot run: $*" >&2
  exit 1
}

for tool in cargo rustfmt cargo-clippy git curl; do
  command -v "$tool" >/dev/null || fail "$tool is missing (Rust comes from rustup: https://rustup.rs/; curl and git from your package manager)"
done
command -v node >/dev/null && command -v npm >/dev/null \
  || fail "Node 20+ with npm is missing: install it from https://nodejs.org/ (Debian's nodejs is too old)"
[ "$(node -p 'process.versions.node.split(".")[0]')" -ge 20 ] \
  || fail "Node $(node --version) is too old: the SDK and the page need Node 20+ (https://nodejs.org/)"
command -v python3 >/dev/null && python3 -m pip --version >/dev/null 2>&1 \
  || fail "python3 with pip is missing: apt-get install -y python3 python3-pip"

have_initdb() {
  command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1
}
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
have_initdb || missing+=(postgresql)
[ -x /usr/sbin/nginx ] || missing+=(nginx-light)
command -v mkfs.ext4 >/dev/null && command -v e2fsck >/dev/null || missing+=(e2fsprogs)
[ -e /usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1 ] || missing+=(libfaketime)
command -v docker-compose >/dev/null || docker compose version >/dev/null 2>&1 || missing+=(docker-compose)
command -v Xvfb >/dev/null || missing+=(xvfb)
command -v xauth >/dev/null || missing+=(xauth)
command -v import >/dev/null && command -v identify >/dev/null || missing+=(imagemagick)
libs=$(/sbin/ldconfig -p)
have_lib() { [[ $libs == *"$1"* ]]; }
[ -e /usr/lib/x86_64-linux-gnu/dri/swrast_dri.so ] || missing+=(libgl1-mesa-dri)
have_lib libGLX_mesa.so.0 || missing+=(libglx-mesa0)
have_lib libEGL_mesa.so.0 || missing+=(libegl-mesa0)
have_lib libxkbcommon-x11.so.0 || missing+=(libxkbcommon-x11-0)
have_lib libXcursor.so.1 || missing+=(libxcursor1)
have_lib libXi.so.6 || missing+=(libxi6)

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    as_root=()
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
  else
    fail "missing Debian packages ${missing[*]}: run 'sudo apt-get install -y ${missing[*]}', then scripts/test.sh again"
  fi
  command -v apt-get >/dev/null \
    || fail "missing ${missing[*]}, and this is not a Debian system: install them with your package manager"
  echo "installing the Debian packages ${missing[*]}"
  log=$(mktemp)
  if ! { "${as_root[@]}" apt-get update -q && DEBIAN_FRONTEND=noninteractive \
         "${as_root[@]}" apt-get install -y -q "${missing[@]}"; } >"$log" 2>&1; then
    tail -5 "$log" >&2
    fail "apt-get could not install ${missing[*]} (its last lines above)"
  fi
  rm -f "$log"
fi

if [ "$(st --version 2>/dev/null | grep -o '[0-9.]*$')" != "$SCHEMATHESIS" ]; then
  echo "installing schemathesis $SCHEMATHESIS from PyPI"
  user=()
  [ "$(id -u)" = 0 ] || user=(--user)
  python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore "${user[@]}" "schemathesis==$SCHEMATHESIS" \
    || fail "pip could not install schemathesis==$SCHEMATHESIS"
  command -v st >/dev/null || fail "schemathesis is installed but 'st' is not on PATH (add ~/.local/bin to PATH)"
fi
