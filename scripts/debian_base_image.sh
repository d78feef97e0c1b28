#!/usr/bin/env bash
# A Debian 12 base image built from Debian's own repository, for building the
# Dockerfile where no container registry is reachable (or none is trusted):
#
#   scripts/debian_base_image.sh [NAME]        (default localhost/debian:12)
#   podman build --build-arg BUILD_BASE=NAME --build-arg RUNTIME_BASE=NAME -t fleetmcp .
#
# mmdebstrap (apt-get install mmdebstrap; run as root) installs a minbase
# bookworm with its updates and security suites into a tarball, and the
# container engine imports it: podman, else docker (ENGINE=... picks one). Like
# debian:12-slim it leaves out manual pages, documentation and translations,
# /usr is merged without the usrmerge package (which pulls in Perl), and apt
# keeps no downloaded packages or caches; these settings stay in the image, for
# the packages the Dockerfile installs.
# DEBIAN_MIRROR and DEBIAN_SECURITY_MIRROR name other mirrors.
set -euo pipefail
name=${1:-localhost/debian:12}
engine=${ENGINE:-$(command -v podman || command -v docker || true)}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
security=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
command -v mmdebstrap >/dev/null || { echo "debian_base_image: mmdebstrap not found (apt-get install mmdebstrap)" >&2; exit 1; }
[[ -n $engine ]] || { echo "debian_base_image: neither podman nor docker found" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
settings=()
for option in 'path-exclude=/usr/share/man/*' 'path-exclude=/usr/share/doc/*' \
  'path-include=/usr/share/doc/*/copyright' 'path-exclude=/usr/share/info/*' \
  'path-exclude=/usr/share/groff/*' 'path-exclude=/usr/share/lintian/*' 'path-exclude=/usr/share/locale/*'; do
  settings+=(--dpkgopt="$option")
done
clean='rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true'
settings+=(--aptopt="DPkg::Post-Invoke { \"$clean\"; }" --aptopt="APT::Update::Post-Invoke { \"$clean\"; }"
  --aptopt='Dir::Cache::pkgcache ""' --aptopt='Dir::Cache::srcpkgcache ""' --aptopt='Acquire::Languages "none"')
mmdebstrap --quiet --variant=minbase --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr "${settings[@]}" \
  bookworm "$tmp/base.tar" \
  "deb $mirror bookworm main" "deb $mirror bookworm-updates main" "deb $security bookworm-security main"
# An imported tarball has no configuration: give it what debian:12 has.
"$engine" import --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["bash"]' "$tmp/base.tar" "$name" >/dev/null
echo "debian_base_image: $name ($(tar -tf "$tmp/base.tar" | wc -l) files, from $mirror)"
