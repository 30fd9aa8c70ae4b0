#!/usr/bin/env bash
# Installs what slokit needs outside Python, project-local and side by side: for every tool set in
# generator/slokit/toolsets.tsv, Debian's prometheus, promtool and prometheus-alertmanager packages of that
# set's suite, fetched with `apt-get download` under a private sources list and unpacked with `dpkg -x` into
# .tools/<name>/ (the binaries need only libc); then every engine of generator/slokit/engines.tsv (VictoriaMetrics:
# victoria-metrics, vmagent, vmalert, vmalert-tool, which need libzstd1) the same way into .tools/<name>/.
# The system's packages are not touched; only Python's venv module is installed system-wide when it is missing.
# Idempotent: a tool set whose four binaries answer with the expected version is left as it is, and so is an
# engine whose recorded package version matches and whose binaries run.
# SLOKIT_TOOLS_DIR moves .tools elsewhere; SLOKIT_TOOLSETS="3.5" installs only the named sets;
# SLOKIT_ENGINES="" installs no engine (default: all of engines.tsv).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
versions="$root/generator/slokit/toolsets.tsv"
engines="$root/generator/slokit/engines.tsv"
tools_dir="${SLOKIT_TOOLS_DIR:-$root/.tools}"
only="${SLOKIT_TOOLSETS:-}"
only_engines="${SLOKIT_ENGINES-all}"
mirror="${SLOKIT_DEBIAN_MIRROR:-http://deb.debian.org/debian}"

bins=(promtool prometheus amtool prometheus-alertmanager)

# version_ok BIN PREFIX: the binary runs and reports version PREFIX.x
version_ok() {
  local out
  out="$("$1" --version 2>&1 | head -n 1)" || return 1
  [[ "$out" =~ version\ ${2//./\\.}\. ]]
}

layout=2  # raise when the layout under .tools/<name>/ changes, so that older installs are redone

set_ok() { # set_ok NAME PROM AM
  local bin="$tools_dir/$1/bin"
  [ "$(cat "$tools_dir/$1/layout" 2>/dev/null)" = "$layout" ] && version_ok "$bin/promtool" "$2" && version_ok "$bin/prometheus" "$2" \
    && version_ok "$bin/amtool" "$3" && version_ok "$bin/prometheus-alertmanager" "$3"
}

engine_ok() { # engine_ok NAME VERSION BINARIES(comma-separated)
  local dir="$tools_dir/$1" bin
  [ "$(cat "$dir/layout" 2>/dev/null)" = "$layout" ] || return 1
  [[ "$(cat "$dir/version" 2>/dev/null)" == "$2".* ]] || return 1
  for bin in ${3//,/ }; do
    [ -x "$dir/bin/$bin" ] || return 1
  done
  "$dir/bin/${3%%,*}" -version >/dev/null 2>&1  # the first binary runs (its shared libraries are there)
}

need_venv=0
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || need_venv=1

pending=()
while IFS=$'\t' read -r name suite prom am; do
  [[ -z "$name" || "$name" == \#* ]] && continue
  if [[ -n "$only" && " $only " != *" $name "* ]]; then continue; fi
  set_ok "$name" "$prom" "$am" || pending+=("$name:$suite:$prom:$am")
done <"$versions"

pending_engines=()
while IFS=$'\t' read -r name suite package version binaries; do
  [[ -z "$name" || "$name" == \#* ]] && continue
  if [[ "$only_engines" != all && " $only_engines " != *" $name "* ]]; then continue; fi
  engine_ok "$name" "$version" "$binaries" || pending_engines+=("$name:$suite:$package:$version:$binaries")
done <"$engines"

if [ ${#pending[@]} -eq 0 ] && [ ${#pending_engines[@]} -eq 0 ] && [ "$need_venv" -eq 0 ]; then
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1 || ! command -v dpkg >/dev/null 2>&1; then
  cat >&2 <<MSG
slokit: cannot install its tools on this machine (it needs apt-get and dpkg, as on Debian or Ubuntu).
Install Prometheus (promtool, prometheus) and Alertmanager (amtool, alertmanager) from their release pages
and point slokit at them: SLOKIT_PROMTOOL, SLOKIT_PROMETHEUS, SLOKIT_AMTOOL, SLOKIT_ALERTMANAGER name the
binaries (docs/toolsets.md); SLOKIT_VICTORIA_METRICS, SLOKIT_VMAGENT, SLOKIT_VMALERT and SLOKIT_VMALERT_TOOL
name VictoriaMetrics' binaries. Still missing: ${pending[*]%%:*} ${pending_engines[*]%%:*}
MSG
  exit 1
fi

if [ "$need_venv" -eq 1 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "slokit: Python's venv module is missing; as root: apt-get install -y python3-venv" >&2
    exit 1
  fi
  echo "slokit: installing python3-venv from Debian's packages" >&2
  DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends python3-venv >/dev/null
fi

if [ ${#pending[@]} -gt 0 ] && { [ "$(id -u)" -ne 0 ] || ! unshare --mount true 2>/dev/null; }; then
  echo "slokit: the Alertmanager of a tool set runs in a private mount namespace, which needs root" >&2
  echo "(unshare --mount); elsewhere set SLOKIT_ALERTMANAGER to an Alertmanager of your own (docs/toolsets.md)" >&2
  exit 1
fi

[ ${#pending[@]} -eq 0 ] || mkdir -p /usr/share/prometheus/alertmanager

keyring=/usr/share/keyrings/debian-archive-keyring.gpg
apt_dir="$tools_dir/.apt"

# apt_suite SUITE: a private apt state for Debian SUITE under $state, its index fetched; sets state and opts.
apt_suite() {
  state="$apt_dir/$1"
  rm -rf "$state"
  mkdir -p "$state/lists/partial" "$state/cache/archives/partial" "$state/debs"
  local signed=""
  [ -r "$keyring" ] && signed="Signed-By: $keyring"
  printf 'Types: deb\nURIs: %s\nSuites: %s\nComponents: main\n%s\n' "$mirror" "$1" "$signed" >"$state/debian.sources"
  : >"$state/status"
  opts=(-q -o "Dir::Etc::sourcelist=$state/debian.sources" -o "Dir::Etc::sourceparts=-"
        -o "Dir::State::Lists=$state/lists" -o "Dir::Cache=$state/cache" -o "Dir::State::status=$state/status"
        -o "APT::Sandbox::User=root")
  apt-get "${opts[@]}" update >"$state/update.log" 2>&1 || { cat "$state/update.log" >&2; exit 1; }
}

for entry in "${pending[@]}"; do
  IFS=: read -r name suite prom am <<<"$entry"
  echo "slokit: installing tool set $name (Prometheus $prom, Alertmanager $am from Debian $suite) into $tools_dir/$name" >&2
  apt_suite "$suite"
  # promtool has its own package from Debian 13 on; before that it ships inside prometheus.
  packages=(prometheus prometheus-alertmanager)
  if apt-cache "${opts[@]}" show promtool >/dev/null 2>&1; then packages+=(promtool); fi
  (cd "$state/debs" && apt-get "${opts[@]}" download "${packages[@]}" >"$state/download.log" 2>&1) \
    || { cat "$state/download.log" >&2; exit 1; }
  staging="$tools_dir/.staging-$name"
  rm -rf "$staging"
  mkdir -p "$staging/root" "$staging/bin"
  for deb in "$state/debs"/*.deb; do dpkg -x "$deb" "$staging/root"; done
  for bin in "${bins[@]}"; do
    [ -x "$staging/root/usr/bin/$bin" ] || { echo "slokit: $bin missing from Debian $suite's packages" >&2; exit 1; }
    ln -s "../root/usr/bin/$bin" "$staging/bin/$bin"
  done
  # Debian's Alertmanager reads its default notification templates from /usr/share/prometheus/alertmanager,
  # a path built into the binary, and each release needs its own. The wrapper shows the release's own folder
  # there in a private mount namespace (same pid, nothing changed outside it); the system keeps only an empty
  # mount point.
  rm "$staging/bin/prometheus-alertmanager"
  cat >"$staging/bin/prometheus-alertmanager" <<'WRAP'
#!/bin/sh
here="$(cd "$(dirname "$0")/.." && pwd)"
exec unshare --mount sh -c 'mount --bind "$1" /usr/share/prometheus/alertmanager && shift && exec "$@"' \
  sh "$here/root/usr/share/prometheus/alertmanager" "$here/root/usr/bin/prometheus-alertmanager" "$@"
WRAP
  chmod +x "$staging/bin/prometheus-alertmanager"
  echo "$layout" >"$staging/layout"
  rm -rf "$tools_dir/$name"
  mv "$staging" "$tools_dir/$name"
  rm -rf "$state"
  set_ok "$name" "$prom" "$am" || {
    echo "slokit: tool set $name does not report Prometheus $prom / Alertmanager $am:" >&2
    for bin in "${bins[@]}"; do "$tools_dir/$name/bin/$bin" --version 2>&1 | head -n 1 >&2; done
    exit 1
  }
done

for entry in "${pending_engines[@]}"; do
  IFS=: read -r name suite package version binaries <<<"$entry"
  echo "slokit: installing $package $version from Debian $suite into $tools_dir/$name" >&2
  apt_suite "$suite"
  (cd "$state/debs" && apt-get "${opts[@]}" download "$package" >"$state/download.log" 2>&1) \
    || { cat "$state/download.log" >&2; exit 1; }
  deb="$(ls "$state/debs"/*.deb)"
  got="$(dpkg-deb -f "$deb" Version)"
  got="${got#*:}"  # no epoch
  [[ "$got" == "$version".* ]] || { echo "slokit: Debian $suite has $package $got, not $version" >&2; exit 1; }
  staging="$tools_dir/.staging-$name"
  rm -rf "$staging"
  mkdir -p "$staging/root" "$staging/bin"
  dpkg -x "$deb" "$staging/root"
  for bin in ${binaries//,/ }; do
    [ -x "$staging/root/usr/bin/$bin" ] || { echo "slokit: $bin missing from Debian $suite's $package" >&2; exit 1; }
    ln -s "../root/usr/bin/$bin" "$staging/bin/$bin"
  done
  echo "${got%%+*}" >"$staging/version"
  echo "$layout" >"$staging/layout"
  rm -rf "$tools_dir/$name"
  mv "$staging" "$tools_dir/$name"
  rm -rf "$state"
  engine_ok "$name" "$version" "$binaries" || {
    echo "slokit: $package from Debian $suite does not run here (it needs libzstd1: apt-get install libzstd1)" >&2
    exit 1
  }
done
