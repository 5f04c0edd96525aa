#!/usr/bin/env bash
# Installs what gvswitch's tests need on a Debian 12 machine, idempotently.
# Open vSwitch's packages are installed for their clients (ovs-vsctl,
# ovsdb-client, ovsdb-tool, ovs-appctl, ovs-ofctl, ovsdb-server); their
# daemons are never left running: tests start private ones in temp dirs.
set -euo pipefail

packages=(
  iproute2 iputils-ping ethtool iperf3 tcpdump netsniff-ng
  openvswitch-switch openvswitch-common python3-openvswitch
  # libvirt end-to-end tests: libvirtd and virtlogd (started by the tests),
  # qemu under TCG, and a guest built from Debian's cloud kernel and busybox.
  libvirt-daemon-system libvirt-clients qemu-system-x86 linux-image-cloud-amd64 busybox-static cpio
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "install-deps: need root to install: ${missing[*]}" >&2
    exit 1
  fi
  echo "install-deps: installing ${missing[*]}"
  # Keep package scripts from starting the packaged daemons (policy-rc.d
  # exit 101 = action forbidden), and remove the guard afterwards only if
  # we put it there.
  guard=""
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    guard=/usr/sbin/policy-rc.d
  fi
  trap '[[ -n "$guard" ]] && rm -f "$guard"' EXIT
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

# Whatever the package scripts did, the packaged daemons must not run.
if command -v systemctl >/dev/null 2>&1 && systemctl is-system-running >/dev/null 2>&1; then
  systemctl disable --now openvswitch-switch ovs-vswitchd ovsdb-server >/dev/null 2>&1 || true
  # The libvirt tests start their own libvirtd with a private configuration.
  systemctl disable --now libvirtd libvirtd.socket virtlogd virtlogd.socket >/dev/null 2>&1 || true
fi
for d in ovs-vswitchd ovsdb-server; do  # packaged daemons
  if pgrep -x "$d" >/dev/null 2>&1; then
    /usr/share/openvswitch/scripts/ovs-ctl stop >/dev/null 2>&1 || pkill -x "$d" || true
  fi
done
echo "install-deps: ok"
