#!/bin/sh
# Builds rt-init as a static binary (it is bind-mounted into sandboxes whose templates may
# have no libc at all). Skips the build when the binary is newer than every source.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out="$here/build/rt-init"
if [ -x "$out" ] && [ -z "$(find "$here/src" "$here/build.sh" -newer "$out" | head -n 1)" ]; then
	echo "$out"
	exit 0
fi
mkdir -p "$here/build"
gcc -static -O2 -Wall -Wextra -Werror -std=gnu11 -D_GNU_SOURCE \
	-ffunction-sections -fdata-sections -Wl,--gc-sections -s \
	-o "$out.tmp" "$here"/src/*.c
mv -f "$out.tmp" "$out"
echo "$out"
