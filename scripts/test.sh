#!/usr/bin/env bash
# Install everything the test suite needs, then run it. `.ci/run` calls this.
#   bash scripts/test.sh            # the whole suite
#   bash scripts/test.sh -k merge   # extra arguments go to pytest
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages for the real git servers in tests/compat (nginx + fcgiwrap +
# git http-backend, sshd, git daemon). Installed only as root; without them
# those tests fail (a skip would hide that the interop went untested): run as
# root, or pass --ignore=tests/compat to leave them out on purpose.
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  missing=""
  for pkg in $(cat .ci/apt-packages.txt); do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing="$missing $pkg"
  done
  if [ -n "$missing" ]; then
    echo "installing Debian packages:$missing"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
  fi
fi

python3 -m pip install -q --disable-pip-version-check -e '.[dev]'
# The types are part of the contract (py.typed ships): strict mypy first, then the suite.
python3 -m mypy
exec python3 -m pytest -q -p no:cacheprovider "$@"
