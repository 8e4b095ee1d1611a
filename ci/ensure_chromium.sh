#!/usr/bin/env bash
# Installs Debian's headless Chromium for the TensorBoard browser test when it is missing and
# installing is possible (root with apt-get). Never fails: when Chromium cannot be had, the
# browser test skips and its skip reason in pytest's summary says why.
if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" != "0" ]; then
  echo "ensure_chromium: not root, cannot apt-get install chromium (the browser test will skip)"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure_chromium: no apt-get on this machine (the browser test will skip)"
  exit 0
fi
echo "ensure_chromium: installing Debian's chromium for the TensorBoard browser test"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq && apt-get install -y -qq chromium >/dev/null \
  || echo "ensure_chromium: apt-get install chromium failed (the browser test will skip)"
exit 0
