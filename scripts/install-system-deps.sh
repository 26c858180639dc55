#!/usr/bin/env bash
# Install what napari's real viewer needs on a headless Debian/Ubuntu
# machine: Xvfb and the xcb/OpenGL libraries Qt loads. Does nothing when
# they are already there; tells what to install when not root.
set -euo pipefail

packages=(python3-venv xvfb xauth libxcb-icccm4 libxcb-keysyms1 libxcb-image0
  libxcb-render-util0 libxcb-xinerama0 libxcb-shape0 libxcb-randr0
  libxcb-xfixes0 libxcb-cursor0 libxkbcommon-x11-0 libegl1 libgl1
  libdbus-1-3 libfontconfig1)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" \
    || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "Missing system packages: ${missing[*]}" >&2
  echo "Install them (e.g. sudo apt-get install ${missing[*]})." >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
