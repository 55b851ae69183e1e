#!/usr/bin/env bash
# Debian packages the tests need: chromium (docs-site browser test), espeak-ng + flite (corpus regeneration
# test). Installs only what is missing, as root or through sudo.
set -euo pipefail
pkgs=()
command -v chromium >/dev/null || pkgs+=(chromium)
command -v espeak-ng >/dev/null || pkgs+=(espeak-ng)
command -v flite >/dev/null || pkgs+=(flite)
[ -f /usr/share/sounds/alsa/Front_Center.wav ] || pkgs+=(alsa-utils)  # real recorded speech for feature tests
[ ${#pkgs[@]} -eq 0 ] && exit 0
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "missing Debian packages: ${pkgs[*]} (run as root: apt-get install ${pkgs[*]})" >&2; exit 1; }
  sudo=sudo
fi
echo "installing Debian packages: ${pkgs[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
