#!/usr/bin/env bash
# Builds the local test image souk/busybox:latest from Debian's busybox-static: no registry
# can be reached, so nothing is pulled. Idempotent.
set -euo pipefail
image=${SOUK_TEST_IMAGE:-souk/busybox:latest}
docker image inspect "$image" >/dev/null 2>&1 && exit 0
[ -x /bin/busybox ] || { echo "busybox-static is not installed (apt-get install busybox-static)"; exit 1; }
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin" "$root/etc" "$root/tmp" "$root/www" "$root/data"
cp /bin/busybox "$root/bin/busybox"
for app in $(/bin/busybox --list); do [ "$app" = busybox ] || ln -sf busybox "$root/bin/$app"; done
echo 'root:x:0:0:root:/root:/bin/sh' > "$root/etc/passwd"
echo 'root:x:0:' > "$root/etc/group"
echo '<h1>hello from souk</h1>' > "$root/www/index.html"
tar -C "$root" -c . | docker import --change 'CMD ["/bin/sh"]' --change 'ENV PATH=/bin' - "$image" >/dev/null
echo "imported $image"
