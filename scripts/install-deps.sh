#!/usr/bin/env bash
# Install the Debian packages libembedviz needs (scripts/debian-packages.txt)
# when any is missing, and select OpenBLAS's OpenMP build, the one whose
# threads compose with the library's OpenMP loops. Needs root only when
# something is missing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# EV_DEPS_LIST: another list (tests/check-build.sh uses it).
list=${EV_DEPS_LIST:-$here/debian-packages.txt}
mapfile -t pkgs < <(grep -v '^\s*#' "$list" | awk 'NF {print $1}')

# One dpkg-query for all (about 0.1 s): `make check` runs this every time.
declare -A installed=()
while read -r name state; do
  [ "$state" = installed ] && installed[$name]=1
done < <(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${pkgs[@]}" 2>/dev/null || true)
missing=()
for p in "${pkgs[@]}"; do
  [ -n "${installed[$p]:-}" ] || missing+=("$p")
done

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else echo "install-deps: need root to run: $*" >&2; exit 1
  fi
}

if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  as_root apt-get update
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
fi

# OpenBLAS: the OpenMP build honours each calling thread's OpenMP thread
# count, so a handle's EV_*_THREADS setting bounds BLAS and our loops alike.
arch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)
for a in libopenblas.so.0 libblas.so.3 liblapack.so.3; do
  target=/usr/lib/$arch/openblas-openmp/$a
  current=$(readlink -f "/usr/lib/$arch/$a" 2>/dev/null || true)
  if [ -e "$target" ] && [ "$current" != "$(readlink -f "$target")" ]; then
    as_root update-alternatives --set "$a-$arch" "$target" >/dev/null
  fi
done
