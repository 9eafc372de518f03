#!/bin/sh
# Builds rt-init as a static binary (it is bind-mounted into sandboxes whose templates may
# have no libc at all), and peer-cred.node, the engine's SO_PEERCRED (a Node-API addon: one
# binary for every Node version). Skips a build when its output is newer than its sources.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out="$here/build/rt-init"
addon="$here/build/peer-cred.node"
mkdir -p "$here/build"
if [ ! -x "$out" ] || [ -n "$(find "$here/src" "$here/build.sh" -newer "$out" | head -n 1)" ]; then
	gcc -static -O2 -Wall -Wextra -Werror -std=gnu11 -D_GNU_SOURCE \
		-ffunction-sections -fdata-sections -Wl,--gc-sections -s \
		-o "$out.tmp" "$here"/src/*.c
	mv -f "$out.tmp" "$out"
fi
if [ ! -f "$addon" ] || [ -n "$(find "$here/host" "$here/build.sh" -newer "$addon" | head -n 1)" ]; then
	# Node-API headers: those of the repository's Node, of the running Node, or the system's.
	inc=""
	node_bin=$(command -v node || true)
	for d in "$here"/../../../node_modules/node/node_modules/node-*/include/node \
		${node_bin:+"$(dirname "$(readlink -f "$node_bin")")/../include/node"} \
		/usr/local/include/node /usr/include/node; do
		if [ -f "$d/node_api.h" ]; then
			inc=$d
			break
		fi
	done
	if [ -z "$inc" ]; then
		echo "build.sh: no Node-API headers (node_api.h) found; install Node's headers (npm ci)" >&2
		exit 1
	fi
	gcc -shared -fPIC -O2 -Wall -Wextra -Werror -std=gnu11 -I"$inc" \
		-o "$addon.tmp" "$here"/host/peer-cred.c
	mv -f "$addon.tmp" "$addon"
fi
echo "$out"
