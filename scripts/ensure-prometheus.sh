#!/usr/bin/env bash
# The traffic tests (test/traffic/) run a real Prometheus: Debian's prometheus package, which brings
# /usr/bin/prometheus and /usr/bin/promtool. Installs it when either is missing; a no-op otherwise.
# (The package's post-install step may try to start a system service; where policy-rc.d refuses
# that, as in containers, the install still succeeds: the tests start their own server.)
set -euo pipefail
if command -v "${PROMETHEUS:-prometheus}" >/dev/null 2>&1 && command -v "${PROMTOOL:-promtool}" >/dev/null 2>&1; then exit 0; fi
echo "ensure-prometheus: prometheus/promtool not found; installing Debian's prometheus package" >&2
fail() {
  echo "ensure-prometheus: $1" >&2
  echo "ensure-prometheus: the traffic tests need prometheus and promtool (2.42 or newer) on PATH, or PROMETHEUS/PROMTOOL set to them" >&2
  exit 1
}
command -v apt-get >/dev/null 2>&1 || fail "no apt-get on this machine: install the prometheus package by hand"
sudo=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || fail "not root and no sudo: run 'apt-get install -y --no-install-recommends prometheus' as root"
  sudo=(sudo -n)
fi
"${sudo[@]}" apt-get update -qq || fail "apt-get update failed (see above)"
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends prometheus ||
  fail "apt-get install prometheus failed (see above)"
command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1 ||
  fail "the prometheus package installed, but prometheus or promtool is still not on PATH"
echo "ensure-prometheus: $(prometheus --version 2>&1 | head -1)" >&2
