#!/usr/bin/env bash
# System packages the portal loads at run time:
# - PDF reports: WeasyPrint loads Pango (with fontconfig/freetype) and needs at least one font; the
#   report tests read PDFs back with poppler's pdftotext.
# - The model sandbox: bubblewrap (the outer wall around the process that loads a model) and
#   libseccomp (its inner seccomp filter). Without bubblewrap, pickle-based models are refused.
# Install Debian's packages when they are missing (quietly), and stop with a clear message when
# that is impossible.
#   scripts/ensure-system-libs.sh           what the portal needs (PDF rendering, the model sandbox)
#   scripts/ensure-system-libs.sh --tests   the same, plus poppler-utils for the tests
set -euo pipefail

packages=(libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core bubblewrap libseccomp2)
if [ "${1:-}" = "--tests" ]; then packages+=(poppler-utils); fi

is_installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

if ! command -v dpkg-query >/dev/null 2>&1; then
  # Not Debian: check what WeasyPrint and the tests actually load, and say what is missing.
  ldconfig -p 2>/dev/null | grep -q 'libpango-1.0.so.0' && ldconfig -p | grep -q 'libpangoft2-1.0.so.0' \
    || { echo "Pango is missing: install pango (libpango-1.0, libpangoft2-1.0) for PDF reports." >&2; exit 1; }
  command -v bwrap >/dev/null 2>&1 \
    || { echo "bubblewrap (bwrap) is missing: install it for the model sandbox." >&2; exit 1; }
  if [ "${1:-}" = "--tests" ] && ! command -v pdftotext >/dev/null 2>&1; then
    echo "pdftotext is missing: install poppler's command-line utilities for the report tests." >&2
    exit 1
  fi
  exit 0
fi

missing=()
for pkg in "${packages[@]}"; do is_installed "$pkg" || missing+=("$pkg"); done
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi

if [ "$(id -u)" != "0" ]; then
  echo "Missing system packages (PDF reports, model sandbox): ${missing[*]}." >&2
  echo "This user cannot install them: run 'sudo apt-get install -y ${missing[*]}'." >&2
  exit 1
fi
echo "Installing Debian packages (PDF reports, model sandbox): ${missing[*]}..."
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
for pkg in "${missing[@]}"; do
  is_installed "$pkg" || { echo "apt-get did not install $pkg." >&2; exit 1; }
done
