#!/usr/bin/env bash
# Links ovs-vsctl -> gvsctl and ovs-appctl -> gvs-appctl, so scripts and
# libvirt that run the Open vSwitch names reach gvswitch. Refuses where Open
# vSwitch's own binaries exist: overwriting them would break that install.
set -euo pipefail
bindir=${1:-/usr/local/bin}
declare -A links=([ovs-vsctl]=gvsctl [ovs-appctl]=gvs-appctl)
for name in "${!links[@]}"; do
  if existing=$(command -v "$name" 2>/dev/null) && [[ $(readlink -f "$existing") != "$(readlink -f "$bindir/${links[$name]}")" ]]; then
    echo "install-ovs-links: $name already exists at $existing (Open vSwitch is installed);" >&2
    echo "install-ovs-links: refusing to shadow it. Remove openvswitch-switch/openvswitch-common first." >&2
    exit 1
  fi
done
for name in "${!links[@]}"; do
  target="$bindir/${links[$name]}"
  [[ -x $target ]] || { echo "install-ovs-links: $target is missing; run 'make install' first" >&2; exit 1; }
  ln -sf "$target" "$bindir/$name"
  echo "install-ovs-links: $bindir/$name -> $target"
done
