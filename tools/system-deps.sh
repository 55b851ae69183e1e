#!/usr/bin/env bash
# Debian packages the tests need: chromium (docs-site browser test), espeak-ng + flite (corpus regeneration
# test), recordings of real people speaking (alsa-utils, asterisk prompts, codec2 examples: the novelty flag). Installs only what is missing, as root or through sudo.
set -euo pipefail
pkgs=()
command -v chromium >/dev/null || pkgs+=(chromium)
command -v espeak-ng >/dev/null || pkgs+=(espeak-ng)
command -v flite >/dev/null || pkgs+=(flite)
[ -f /usr/share/sounds/alsa/Front_Center.wav ] || pkgs+=(alsa-utils)  # real recorded speech for feature tests
# more real people speaking, for the novelty flag's tests (trust.HUMAN_VOICE_SOURCES)
for lang in en_US_f_Allison:en es_MX_f_Allison:es fr_CA_f_June:fr it_IT_m_Carlo:it ru_RU_f_IvrvoiceRU:ru; do
  [ -d "/usr/share/asterisk/sounds/${lang%%:*}" ] || pkgs+=("asterisk-core-sounds-${lang##*:}-wav")
done
[ -f /usr/share/codec2/raw/hts1a.raw ] || pkgs+=(codec2-examples)
[ ${#pkgs[@]} -eq 0 ] && exit 0
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "missing Debian packages: ${pkgs[*]} (run as root: apt-get install ${pkgs[*]})" >&2; exit 1; }
  sudo=sudo
fi
echo "installing Debian packages: ${pkgs[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
