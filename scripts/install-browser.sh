#!/usr/bin/env bash
# Installs Debian's chromium, which the report test uses to render the HTML report headless.
# Idempotent: does nothing when chromium is already on PATH (or SLOKIT_CHROMIUM names a binary).
set -euo pipefail

if [ -n "${SLOKIT_CHROMIUM:-}" ] && [ -x "${SLOKIT_CHROMIUM}" ]; then
  exit 0
fi
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "slokit: chromium is missing and this is not a Debian-like machine: install Chromium and put" \
       "'chromium' on PATH (or set SLOKIT_CHROMIUM to its binary)" >&2
  exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "slokit: chromium is missing; as root: apt-get install -y --no-install-recommends chromium" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y --no-install-recommends chromium; then
  apt-get update
  apt-get install -y --no-install-recommends chromium
fi
