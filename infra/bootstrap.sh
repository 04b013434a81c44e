#!/usr/bin/env bash
# Installs everything the project needs on a fresh Debian 12 machine: system packages
# (servers, audio tools), then a virtualenv with the project and its dev tools.
# Idempotent: a second run only checks. Jars and Jaeger are fetched by `tracktion stack up`.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(postgresql-15 postgresql-contrib redis-server rabbitmq-server ffmpeg fluidsynth
              fluid-soundfont-gm libchromaprint-tools maven openjdk-17-jdk-headless golang-go procps iproute2
              chromium chromium-driver)  # chromium: the browser tests of the pages
# Go and Java may come from outside apt (a newer toolchain on PATH); only ask apt for what is missing.
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  case "$pkg" in
    golang-go) command -v go >/dev/null && continue ;;
    openjdk-17-jdk-headless) command -v java >/dev/null && continue ;;
    maven) command -v mvn >/dev/null && continue ;;
  esac
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "bootstrap: apt-get install ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  # Keep Debian's maintainer scripts from starting system-wide daemons: our stack runs its own.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod +x /usr/sbin/policy-rc.d
  fi
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "bootstrap: creating .venv"
  "$PY" -m venv .venv
fi
# Re-install only when pyproject.toml or the pins changed since the last successful install.
# infra/constraints.txt pins every package to the versions the suite last passed with: an
# unpinned fresh install once took a newer redis-py whose new annotations failed mypy, so a
# release on PyPI could turn CI red with no change here. `make lock` refreshes the pins.
stamp=.venv/.tracktion-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ infra/constraints.txt -nt "$stamp" ]; then
  echo "bootstrap: pip install -e .[dev,bench] -c infra/constraints.txt"
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -e '.[dev,bench]' -c infra/constraints.txt
  touch "$stamp"
fi
echo "bootstrap: ok"
