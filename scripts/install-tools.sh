#!/usr/bin/env bash
# Installs what slokit needs outside Python: Prometheus' promtool and prometheus binary, Alertmanager's
# amtool and prometheus-alertmanager binary (Debian's packages), and Python's venv module.
# Idempotent: does nothing when everything is already there.
set -euo pipefail

missing=()
for bin in promtool amtool prometheus prometheus-alertmanager; do
  command -v "$bin" >/dev/null 2>&1 || missing+=("$bin")
done
need_venv=0
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || need_venv=1

if [ ${#missing[@]} -eq 0 ] && [ "$need_venv" -eq 0 ]; then
  exit 0
fi

packages=()
[ ${#missing[@]} -gt 0 ] && packages+=(prometheus prometheus-alertmanager)
[ "$need_venv" -eq 1 ] && packages+=(python3-venv)

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  cat >&2 <<MSG
slokit needs: ${missing[*]:-} $( [ "$need_venv" -eq 1 ] && echo "python3 venv module" )
This machine is not a Debian/Ubuntu machine where we run as root, so slokit cannot install them itself.
Do one of:
  - as root on Debian/Ubuntu: apt-get update && apt-get install -y --no-install-recommends ${packages[*]}
  - elsewhere: install Prometheus (for promtool and prometheus) and Alertmanager (for amtool and its
    server, named prometheus-alertmanager; a symlink to 'alertmanager' works) from their release pages,
    put them on PATH, and run make again.
MSG
  exit 1
fi

echo "slokit: installing ${packages[*]} from Debian's packages" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends "${packages[@]}" >/dev/null
for bin in "${missing[@]}"; do
  command -v "$bin" >/dev/null 2>&1 || { echo "slokit: $bin still missing after install" >&2; exit 1; }
done
