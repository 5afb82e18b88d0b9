#!/usr/bin/env bash
# Set up everything mipv6-sdn needs on a Debian 12 machine, idempotently (run as root):
# Debian packages, the virtual environment .venv/ with pinned dependencies and the
# Python 3.11 fix for Ryu, and the Open vSwitch daemons (userspace datapath).
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES="mininet openvswitch-switch tshark tcpdump iputils-ping ethtool python3-venv iproute2 procps chromium chromium-driver"
missing=""
for package in $PACKAGES; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" || missing="$missing $package"
done
if [ -n "$missing" ]; then
  echo "setup: installing Debian packages:$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q $missing
fi

# The venv uses Debian's Python, the one Debian's Mininet module is built for.
stamp=.venv/.requirements.sha256
want=$(cat requirements.txt pyproject.toml | sha256sum | cut -d' ' -f1)
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: building .venv"
  /usr/bin/python3 -m venv .venv
  .venv/bin/pip install -q --disable-pip-version-check \
    "$(grep '^setuptools==' requirements.txt)" "$(grep '^wheel==' requirements.txt)"
  # Ryu 4.34 needs setuptools<68 and no build isolation (docs/environment.md).
  .venv/bin/pip install -q --disable-pip-version-check --no-build-isolation -r requirements.txt
  .venv/bin/pip install -q --disable-pip-version-check --no-build-isolation --no-deps -e .
  site=$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  # Plain ryu-manager gets the eventlet fix through this .pth (see mipv6_sdn/compat.py).
  echo "import mipv6_sdn.compat" > "$site/mipv6_sdn_compat.pth"
  # Debian's Mininet module, and only it, into the venv.
  ln -sfn /usr/lib/python3/dist-packages/mininet "$site/mininet"
  echo "$want" > "$stamp"
fi

# Open vSwitch daemons; no kernel module here, bridges use datapath_type=netdev.
if ! timeout 5 ovs-vsctl --timeout=3 show >/dev/null 2>&1; then
  echo "setup: starting Open vSwitch"
  /usr/share/openvswitch/scripts/ovs-ctl start --system-id=random >/dev/null 2>&1 || true
  timeout 5 ovs-vsctl --timeout=3 show >/dev/null || { echo "setup: Open vSwitch did not start" >&2; exit 1; }
fi
