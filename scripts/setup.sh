#!/usr/bin/env bash
# Installs RunTools' host prerequisites on Debian 12 or newer: idempotent, and a fast no-op when
# everything is present. Run as root from anywhere: `bash scripts/setup.sh`.
#
#   --check   report only, install nothing; exit 1 if anything is missing or failing
#   --quiet   print only problems and a one-line summary
#
# What it does:
#   - apt packages: runc ripgrep mmdebstrap buildah uidmap iptables iproute2 gcc libc6-dev
#     ca-certificates jq tmux util-linux postgresql patchelf (the server's tests start private throwaway
#     clusters with its initdb/pg_ctl) chromium (browser tests drive it with puppeteer-core);
#     apt-get update only when something must be installed; npm too when the machine has none,
#     to run `npm ci`);
#   - CRIU >= 4.2: a working system criu >= 4.2 if there is one, else Debian forky's criu in a private
#     root at /opt/runtools/criu-root, run by the wrapper /opt/runtools/bin/criu (Debian 12's CRIU
#     3.17 fails on current kernels, 4.1 cannot dump inet sockets on kernels >= 6.16, and
#     forky's needs a newer glibc than the host's);
#   - `npm ci` when node_modules is missing or older than package-lock.json;
#   - runc with the known container-escape fixes: the system's when it has them all, else Debian
#     forky's in a private root at /opt/runtools/runc-root, as /opt/runtools/bin/runc;
#   - the sandbox supervisor (packages/sandbox/native/build.sh);
#   - a `runtools:100000:65536` entry in /etc/subuid and /etc/subgid (the sandboxes' host ids);
#   - kernel.keys.maxkeys/maxbytes raised for many sandboxes (/etc/sysctl.d/60-runtools-keys.conf);
#   - kernel/host checks: overlayfs, user namespaces, cgroups, `ip netns`.
# The Debian mirror for the private root is read from the host's apt sources
# (RUNTOOLS_DEBIAN_MIRROR overrides it).
set -euo pipefail

RT_PREFIX=/opt/runtools
CRIU_ROOT=$RT_PREFIX/criu-root
CRIU_WRAPPER=$RT_PREFIX/bin/criu
CRIU_VERSION_FILE=$CRIU_ROOT/.runtools-criu-version
# Debian 13's CRIU is 4.1, too old for kernels >= 6.16 (see version_at_least_4); the next Debian
# release (forky) has 4.2.
CRIU_SUITE=forky
APT_PACKAGES=(runc ripgrep mmdebstrap buildah uidmap iptables iproute2 gcc libc6-dev
  ca-certificates jq tmux util-linux postgresql python3 patchelf chromium)
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FIX="bash scripts/setup.sh"

CHECK=0
QUIET=0
for arg in "$@"; do
  case $arg in
    --check) CHECK=1 ;;
    --quiet | -q) QUIET=1 ;;
    -h | --help)
      sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "setup.sh: unknown option '$arg' (try --help)" >&2
      exit 2
      ;;
  esac
done

START=$EPOCHREALTIME
PROBLEMS=() # things missing or broken: exit 1
WARNINGS=() # host features missing that setup.sh cannot install
CHANGED=()  # what this run installed or built

say() { ((QUIET)) || printf '==> %s\n' "$*"; }
problem() {
  printf '==> %s\n' "$1" >&2
  PROBLEMS+=("${2:-$1}")
}
warning() {
  printf '==> WARNING: %s\n' "$1" >&2
  WARNINGS+=("${2:-$1}")
}
# Prints the last lines of a log file indented, to show why a step failed.
show_log() { tail -n "${2:-25}" "$1" | sed 's/^/    /' >&2; }

join() {
  local IFS=,
  local s="$*"
  echo "${s//,/, }"
}

finish() {
  local secs status=0
  secs=$(awk -v a="$START" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
  if ((${#PROBLEMS[@]})); then
    status=1
    printf '==> setup: %d problem(s): %s; %s (%s s)\n' "${#PROBLEMS[@]}" \
      "$(join "${PROBLEMS[@]}")" \
      "$( ((CHECK)) && echo "fix: $FIX" || echo 'see the messages above')" "$secs" >&2
  elif ((${#WARNINGS[@]})); then
    ((CHECK)) && status=1
    printf '==> setup: prerequisites %s, %d host warning(s): %s (%s s)\n' "$( ((CHECK)) && echo present || echo installed)" \
      "${#WARNINGS[@]}" "$(join "${WARNINGS[@]}")" "$secs" >&2
  elif ((${#CHANGED[@]})); then
    printf '==> setup: ok, installed/built: %s (%s s)\n' "${CHANGED[*]}" "$secs"
  else
    printf '==> setup: ok, everything present (%s s)\n' "$secs"
  fi
  exit "$status"
}

if ((EUID != 0)); then
  if ((CHECK)); then
    warning "not running as root: criu check, ip netns and cgroup probes need root" "root"
  else
    echo "setup.sh: must run as root (try: sudo $FIX)" >&2
    exit 1
  fi
fi

if ((!CHECK)); then
  mkdir -p "$RT_PREFIX/bin"
  # One setup at a time: two concurrent CRIU root builds would race on the final rename.
  exec 9>"$RT_PREFIX/.setup.lock"
  if ! flock -n 9; then
    say "waiting for another scripts/setup.sh to finish"
    flock -w 900 9 || { echo "setup.sh: another setup.sh holds $RT_PREFIX/.setup.lock" >&2; exit 1; }
  fi
fi

# ---------------------------------------------------------------------------------------------
# apt packages

# Upstream part of a Debian version: 1:4.13+dfsg1-1+deb12u2 -> 4.13
upstream_version() { sed -E 's/^[0-9]+://; s/[-+~].*$//' <<<"$1"; }

declare -A PKG_VERSION=()
query_packages() {
  local name status version
  PKG_VERSION=()
  while IFS=$'\t' read -r name status version; do
    [[ $status == ii* ]] && PKG_VERSION[$name]=$version
  done < <(dpkg-query -W -f='${Package}\t${db:Status-Abbrev}\t${Version}\n' "$@" 2>/dev/null || true)
}

APT_UPDATED=0
apt_install() {
  local log
  log=$(mktemp /tmp/runtools-apt.XXXXXX)
  export DEBIAN_FRONTEND=noninteractive
  if ((!APT_UPDATED)); then
    say "apt-get update"
    # A failing third-party source must not stop the install from Debian's own mirror.
    apt-get update -qq >"$log" 2>&1 || { show_log "$log" 10; echo "    (continuing)" >&2; }
    APT_UPDATED=1
  fi
  say "apt-get install $*"
  if ! apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=300 "$@" \
    >"$log" 2>&1; then
    show_log "$log"
    rm -f "$log"
    return 1
  fi
  rm -f "$log"
}

want=("${APT_PACKAGES[@]}")
command -v npm >/dev/null || want+=(npm) # Debian's npm, only to run `npm ci` (Node 24 comes from it)
query_packages "${want[@]}"
missing=()
for pkg in "${want[@]}"; do
  [[ -n ${PKG_VERSION[$pkg]:-} ]] || missing+=("$pkg")
done
if ((${#missing[@]})) && ((!CHECK)); then
  apt_install "${missing[@]}" || true
  query_packages "${want[@]}"
fi
for pkg in "${want[@]}"; do
  if [[ -n ${PKG_VERSION[$pkg]:-} ]]; then
    if [[ " ${missing[*]} " == *" $pkg "* ]]; then
      say "$pkg: installed $(upstream_version "${PKG_VERSION[$pkg]}")"
      CHANGED+=("$pkg")
    else
      say "$pkg: ok ($(upstream_version "${PKG_VERSION[$pkg]}"))"
    fi
  elif ((CHECK)); then
    problem "$pkg: MISSING (fix: $FIX)" "$pkg"
  else
    problem "$pkg: FAILED to install (see the apt output above)" "$pkg"
  fi
done

# ---------------------------------------------------------------------------------------------
# CRIU >= 4

# `criu --version` prints "Version: 4.1.1" (plus, as root without CAP_SYS_RESOURCE, a harmless
# RLIMIT_NOFILE error line on stderr).
criu_version() { "$1" --version 2>/dev/null | sed -n 's/^Version: *//p' | head -n1; }
# CRIU >= 4.2: kernels >= 6.16 refuse SO_PASSCRED/SO_PASSSEC on TCP/UDP sockets, and CRIU 4.1 then
# fails to dump any process with an inet socket ("Can't get 1:16 opt"); 4.2 handles it.
version_at_least_4() { [[ $1 =~ ^([0-9]+)\.([0-9]+) ]] && ((BASH_REMATCH[1] > 4 || (BASH_REMATCH[1] == 4 && BASH_REMATCH[2] >= 2))); }
CRIU_CHECK_MSG=""
# Runs `criu check`; sets CRIU_CHECK_MSG to what it said ("Looks good." or the error).
criu_check() {
  local out
  if ((EUID != 0)); then
    CRIU_CHECK_MSG="skipped (needs root)"
    return 0
  fi
  # "Looks good." or, warnings only, "Looks good but some kernel features are missing ..."
  out=$("$1" check 2>&1) || true
  [[ $out == *"Looks good"* ]] && {
    CRIU_CHECK_MSG=$(grep -m1 'Looks good' <<<"$out")
    return 0
  }
  CRIU_CHECK_MSG=$(grep -v 'RLIMIT_NOFILE' <<<"$out" | grep -m1 -E 'Error|error|not' ||
    tail -n1 <<<"$out")
  return 1
}

# Mounts left below DIR (an interrupted mmdebstrap) are unmounted before removing it, and rm
# never crosses into another file system: a leftover bind of /dev must not be emptied.
safe_rm() {
  local dir=$1 m
  [[ -e $dir ]] || return 0
  while read -r m; do
    umount -l "$m" 2>/dev/null || true
  done < <(awk -v d="$dir" '$5 == d || index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo |
    sort -r)
  rm -rf --one-file-system "$dir"
}

# The mirror of the host's Debian release, from its apt sources (one-line and deb822 formats).
debian_mirror() {
  if [[ -n ${RUNTOOLS_DEBIAN_MIRROR:-} ]]; then
    echo "${RUNTOOLS_DEBIAN_MIRROR%/}"
    return
  fi
  local codename f files=()
  # shellcheck source=/dev/null
  codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [[ -f $f ]] && files+=("$f")
  done
  ((${#files[@]})) || return 1
  awk -v codename="$codename" '
    function consider(uri, suites,   n, s, i) {
      n = split(suites, s, /[ \t]+/)
      for (i = 1; i <= n; i++) {
        if (s[i] == codename && first == "") first = uri
        if (s[i] ~ /^[a-z]+$/ && uri ~ /\/debian\/?$/ && fallback == "") fallback = uri
      }
    }
    function stanza() {
      if (types ~ /(^|[ \t])deb([ \t]|$)/ && tolower(enabled) != "no" && uris != "") {
        split(uris, u, /[ \t]+/); consider(u[1], suites)
      }
      types = uris = suites = enabled = ""
    }
    FILENAME ~ /\.sources$/ {
      if (FNR == 1) stanza()
      if ($0 ~ /^[ \t]*$/) { stanza(); next }
      if ($0 ~ /^#/) next
      key = tolower($1); sub(/:$/, "", key); val = $0; sub(/^[^:]*:[ \t]*/, "", val)
      if (key == "types") types = val
      else if (key == "uris") uris = val
      else if (key == "suites") suites = val
      else if (key == "enabled") enabled = val
      next
    }
    {
      stanza()
      line = $0; sub(/#.*/, "", line); gsub(/\[[^]]*\]/, "", line)
      n = split(line, f, /[ \t]+/); i = (f[1] == "" ? 2 : 1)
      if (f[i] == "deb" && n >= i + 2) consider(f[i + 1], f[i + 2])
    }
    END { stanza(); if (first != "") print first; else if (fallback != "") print fallback }
  ' "${files[@]}" | sed 's:/*$::' | grep . || return 1
}

# The wrapper: the private root's criu run by the root's own dynamic loader with --library-path, so criu gets
# the root's libraries while what it spawns from PATH (iptables-restore, ip) keeps the host's.
# LD_LIBRARY_PATH would be inherited by those children and break them.
write_wrapper() {
  local root=$1 dest=$2 ldso=$3 libdir=$4
  cat >"$dest.tmp" <<EOF
#!/bin/sh
# CRIU from the private Debian $CRIU_SUITE root $root (written by RunTools' scripts/setup.sh).
# The root's dynamic loader with --library-path gives criu that root's libraries without putting
# them in the environment: programs criu spawns from PATH (iptables-restore, ip) keep the host's.
exec '$root$ldso' --library-path '$root$libdir:$root/usr/lib' --argv0 "\$0" '$root/usr/sbin/criu' "\$@"
EOF
  chmod 0755 "$dest.tmp"
  mv -f "$dest.tmp" "$dest"
}

# Verifies a built root through a wrapper: every library resolves inside the root, and
# `criu --version` / `criu check` work. Sets CRIU_FOUND_VERSION.
verify_root() {
  local root=$1 wrapper=$2 ldso=$3 libdir=$4 listing outside
  listing=$("$root$ldso" --library-path "$root$libdir:$root/usr/lib" --list "$root/usr/sbin/criu" 2>&1) || {
    echo "$root$ldso --list failed: $listing" >&2
    return 1
  }
  outside=$(awk -v r="$root" '/not found/ || (/=>/ && index($3, r) != 1) { print $1, $2, $3 }' \
    <<<"$listing")
  if [[ -n $outside ]]; then
    echo "criu's libraries are not all in $root: $(tr '\n' ';' <<<"$outside" | sed 's/;$//; s/;/; /g')" >&2
    return 1
  fi
  CRIU_FOUND_VERSION=$(criu_version "$wrapper")
  version_at_least_4 "$CRIU_FOUND_VERSION" || {
    echo "unexpected criu version '$CRIU_FOUND_VERSION' from $wrapper" >&2
    return 1
  }
  criu_check "$wrapper" || {
    echo "criu check failed: $CRIU_CHECK_MSG" >&2
    return 1
  }
}

# Finds criu and the dynamic loader in a root; sets LDSO and LIBDIR (paths inside the root).
root_loader() {
  local root=$1 ldso
  [[ -x $root/usr/sbin/criu ]] || {
    echo "$root has no /usr/sbin/criu" >&2
    return 1
  }
  ldso=$(cd "$root" && compgen -G 'usr/lib/*-linux-gnu*/ld-linux*.so.[0-9]' | head -n1)
  [[ -n $ldso ]] || {
    echo "no dynamic loader found in $root" >&2
    return 1
  }
  LDSO=/$ldso
  LIBDIR=${LDSO%/*}
}

CRIU_TMP=""
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
  if [[ -n $CRIU_TMP ]]; then
    safe_rm "$CRIU_TMP"
    rm -f "$CRIU_TMP.wrapper" "$CRIU_TMP.log"
  fi
  if [[ -n ${RUNC_TMP:-} ]]; then
    safe_rm "$RUNC_TMP"
    rm -f "$RUNC_TMP.log"
  fi
}
# On Ctrl-C or TERM bash first waits for the running step (mmdebstrap undoes its own mounts),
# then exits through cleanup, which removes the half-built root.
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

build_criu_root() {
  local mirror log ldso libdir leftover old=""
  if ! command -v mmdebstrap >/dev/null; then
    echo "mmdebstrap is not installed" >&2
    return 1
  fi
  mirror=$(debian_mirror) || {
    echo "cannot find the Debian mirror in /etc/apt/sources.list*; set RUNTOOLS_DEBIAN_MIRROR" >&2
    return 1
  }
  # Leftovers of interrupted runs (we hold the lock, so nobody else is building).
  for leftover in "$RT_PREFIX"/.criu-root.*; do
    [[ -e $leftover ]] && safe_rm "$leftover"
  done
  CRIU_TMP=$(mktemp -d "$RT_PREFIX/.criu-root.tmp.XXXXXX")
  log=$CRIU_TMP.log
  say "criu: building a private $CRIU_SUITE root with mmdebstrap from $mirror (10-30 s)"
  if ! mmdebstrap --mode=root --variant=minbase --include=criu --format=directory \
    --aptopt='Acquire::Retries "3"' --aptopt='Acquire::Check-Valid-Until "false"' \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    "$CRIU_SUITE" "$CRIU_TMP" "deb $mirror $CRIU_SUITE main" >"$log" 2>&1; then
    echo "mmdebstrap failed:" >&2
    show_log "$log"
    return 1
  fi
  root_loader "$CRIU_TMP" || return 1
  ldso=$LDSO
  libdir=$LIBDIR
  write_wrapper "$CRIU_TMP" "$CRIU_TMP.wrapper" "$ldso" "$libdir" || return 1
  verify_root "$CRIU_TMP" "$CRIU_TMP.wrapper" "$ldso" "$libdir" || return 1
  echo "$CRIU_FOUND_VERSION" >"$CRIU_TMP/.runtools-criu-version" || return 1
  rm -f "$CRIU_TMP.wrapper" "$log"
  # Swap in the finished root. Between the two renames there is no root at all (the wrapper
  # fails, and the next run rebuilds); there is never a half-built one.
  if [[ -e $CRIU_ROOT ]]; then
    old=$RT_PREFIX/.criu-root.old.$$
    mv -T "$CRIU_ROOT" "$old" || return 1
  fi
  mv -T "$CRIU_TMP" "$CRIU_ROOT" || return 1
  CRIU_TMP=""
  write_wrapper "$CRIU_ROOT" "$CRIU_WRAPPER" "$ldso" "$libdir" || return 1
  [[ -n $old ]] && safe_rm "$old"
  verify_root "$CRIU_ROOT" "$CRIU_WRAPPER" "$ldso" "$libdir"
}

setup_criu() {
  local c v reason=""
  # 1. A system criu >= 4 that passes `criu check` (newer distributions: `apt install criu`).
  while read -r c; do
    [[ $c == "$CRIU_WRAPPER" ]] && continue
    v=$(criu_version "$c")
    if ! version_at_least_4 "$v"; then
      reason="system criu ${v:-(unknown version)} at $c is older than 4.2"
      continue
    fi
    if criu_check "$c"; then
      say "criu: ok ($v, system $c; criu check: $CRIU_CHECK_MSG)"
      return 0
    fi
    reason="system criu $v at $c fails criu check: $CRIU_CHECK_MSG"
  done < <(type -ap criu | xargs -r readlink -f | awk '!seen[$0]++')

  # 2. The private $CRIU_SUITE root, if its wrapper works and criu's libraries all come from the root
  #    (the loader would silently fall back to a host library missing from the root).
  if [[ -x $CRIU_WRAPPER && -d $CRIU_ROOT ]]; then
    local errf
    errf=$(mktemp /tmp/runtools-criu.XXXXXX)
    if { root_loader "$CRIU_ROOT" &&
      verify_root "$CRIU_ROOT" "$CRIU_WRAPPER" "$LDSO" "$LIBDIR"; } 2>"$errf"; then
      rm -f "$errf"
      v=$(cat "$CRIU_VERSION_FILE" 2>/dev/null || true)
      [[ $v == "$CRIU_FOUND_VERSION" ]] || echo "$CRIU_FOUND_VERSION" >"$CRIU_VERSION_FILE"
      say "criu: ok ($CRIU_FOUND_VERSION, private $CRIU_SUITE root; criu check: $CRIU_CHECK_MSG)"
      return 0
    fi
    reason="the private root $CRIU_ROOT is broken: $(head -n3 "$errf")"
    rm -f "$errf"
  elif [[ -n $reason ]]; then
    reason="$reason, and $CRIU_ROOT is not built"
  else
    reason="no criu >= 4.2 found"
  fi

  if ((CHECK)); then
    problem "criu: MISSING: $reason (fix: $FIX)" criu
    return 0
  fi
  say "criu: $reason"

  # 3. The distribution's criu, when its candidate is >= 4 and not the installed one (Debian 13+).
  if [[ ! -e $CRIU_WRAPPER ]]; then
    local policy candidate installed
    policy=$(apt-cache policy criu 2>/dev/null || true)
    candidate=$(sed -n 's/^ *Candidate: *//p' <<<"$policy")
    installed=$(sed -n 's/^ *Installed: *//p' <<<"$policy")
    if [[ -n $candidate && $candidate != "(none)" && $candidate != "$installed" ]] &&
      version_at_least_4 "$(upstream_version "$candidate")"; then
      if apt_install criu && c=$(command -v criu) && v=$(criu_version "$c") &&
        version_at_least_4 "$v" && criu_check "$c"; then
        say "criu: installed $v (system $c; criu check: $CRIU_CHECK_MSG)"
        CHANGED+=(criu)
        return 0
      fi
    fi
  fi

  # 4. Build the private $CRIU_SUITE root.
  if build_criu_root; then
    say "criu: installed $CRIU_FOUND_VERSION (private $CRIU_SUITE root $CRIU_ROOT, wrapper $CRIU_WRAPPER; criu check: $CRIU_CHECK_MSG)"
    CHANGED+=(criu)
  else
    problem "criu: FAILED to build the private $CRIU_SUITE root (see above)" criu
  fi
}
setup_criu

# ---------------------------------------------------------------------------------------------
# Ubuntu's archive keyring, for templates with `os: ubuntu-*` (mmdebstrap verifies the mirror
# with it). Debian 12 has no ubuntu-keyring package; the next Debian release's one is taken from
# the same mirror with a private apt configuration that leaves the host's apt state alone.
UBUNTU_KEYRING=/usr/share/keyrings/ubuntu-archive-keyring.gpg
setup_ubuntu_keyring() {
  if [[ -f $UBUNTU_KEYRING ]]; then
    say "ubuntu-keyring: ok"
    return 0
  fi
  if ((CHECK)); then
    problem "ubuntu-keyring: MISSING (Ubuntu templates need it; fix: $FIX)" ubuntu-keyring
    return 0
  fi
  local tmp mirror opts
  tmp=$(mktemp -d /tmp/runtools-keyring.XXXXXX)
  mirror=$(debian_mirror) || mirror=http://deb.debian.org/debian
  mkdir -p "$tmp/state/lists/partial" "$tmp/cache/archives/partial"
  echo "deb $mirror $CRIU_SUITE main" >"$tmp/sources.list"
  opts=(-o "Dir::Etc::SourceList=$tmp/sources.list" -o Dir::Etc::SourceParts=/dev/null
    -o "Dir::State=$tmp/state" -o "Dir::Cache=$tmp/cache" -o Acquire::Check-Valid-Until=false
    -o Debug::NoLocking=1 -o APT::Sandbox::User=root)
  if apt-get "${opts[@]}" -qq update >"$tmp/log" 2>&1 &&
    (cd "$tmp" && apt-get "${opts[@]}" -qq download ubuntu-keyring >>"$tmp/log" 2>&1) &&
    dpkg -i "$tmp"/ubuntu-keyring_*.deb >>"$tmp/log" 2>&1; then
    say "ubuntu-keyring: installed ($(dpkg-query -W -f='${Version}' ubuntu-keyring))"
    CHANGED+=(ubuntu-keyring)
  else
    show_log "$tmp/log"
    problem "ubuntu-keyring: FAILED to install (Ubuntu templates will not build)" ubuntu-keyring
  fi
  rm -rf "$tmp"
}
setup_ubuntu_keyring

# ---------------------------------------------------------------------------------------------
# node_modules (npm ci). npm's hidden lockfile is rewritten by every install; the directory's
# own mtime is not (it can be older than package-lock.json right after `npm ci`).

cd "$REPO_ROOT"
stamp=node_modules/.package-lock.json
[[ -e $stamp ]] || stamp=node_modules
if [[ ! -e node_modules ]] || [[ package-lock.json -nt $stamp ]]; then
  if ((CHECK)); then
    problem "node_modules: missing or older than package-lock.json (fix: $FIX, or npm ci)" \
      node_modules
  elif ! command -v npm >/dev/null; then
    problem "node_modules: npm is not installed" node_modules
  else
    say "node_modules: npm ci"
    if npm ci --no-audit --no-fund --loglevel=error >/tmp/runtools-npm-ci.log 2>&1; then
      ((QUIET)) || sed -n '/added\|removed\|changed/p' /tmp/runtools-npm-ci.log | sed 's/^/    /'
      say "node_modules: installed (node $(node_modules/.bin/node --version 2>/dev/null || echo '?'))"
      CHANGED+=(node_modules)
    else
      show_log /tmp/runtools-npm-ci.log
      problem "node_modules: npm ci FAILED" node_modules
    fi
    rm -f /tmp/runtools-npm-ci.log
  fi
else
  say "node_modules: ok (node $(node_modules/.bin/node --version 2>/dev/null || echo 'missing'))"
fi

# ---------------------------------------------------------------------------------------------
# runc with the known container-escape fixes. Debian 12's runc (1.1.5) has the 2024 fix backported
# but not the 2025/2026 ones (fixed upstream in 1.2.8/1.3.3 and 1.3.6); Debian 13's 1.1.15 lacks
# them too. When the system's runc lacks any, runc from Debian $RUNC_SUITE goes in a private root
# and /opt/runtools/bin/runc is that binary with its loader and library path pointed into the root
# (patchelf): a loader wrapper as for criu would not do, as runc re-executes /proc/self/exe.
# The engine prefers /opt/runtools/bin/runc when it exists (packages/sandbox/src/host/runc.ts,
# which also holds the list of fixes; this script asks it through runc-fixes-cli.ts).

RUNC_SUITE=forky
RUNC_ROOT=$RT_PREFIX/runc-root
RUNC_BIN=$RT_PREFIX/bin/runc
RUNC_FIXES_CLI=packages/sandbox/src/host/runc-fixes-cli.ts
RUNC_TMP=""

# Prints the CVEs runc $1 lacks (one per line); fails when it cannot be asked.
runc_missing() { node_modules/.bin/node --conditions=@runtools/source "$RUNC_FIXES_CLI" "$@" 2>/dev/null; }

build_runc_root() {
  local mirror log ldso libdir leftover old="" missing
  mirror=$(debian_mirror) || {
    echo "cannot find the Debian mirror in /etc/apt/sources.list*; set RUNTOOLS_DEBIAN_MIRROR" >&2
    return 1
  }
  for leftover in "$RT_PREFIX"/.runc-root.*; do
    [[ -e $leftover ]] && safe_rm "$leftover"
  done
  RUNC_TMP=$(mktemp -d "$RT_PREFIX/.runc-root.tmp.XXXXXX")
  chmod 0755 "$RUNC_TMP"
  log=$RUNC_TMP.log
  say "runc: building a private $RUNC_SUITE root with mmdebstrap from $mirror (10-30 s)"
  if ! mmdebstrap --mode=root --variant=minbase --include=runc --format=directory \
    --aptopt='Acquire::Retries "3"' --aptopt='Acquire::Check-Valid-Until "false"' \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-include=/usr/share/doc/runc/changelog.Debian.gz' \
    "$RUNC_SUITE" "$RUNC_TMP" "deb $mirror $RUNC_SUITE main" >"$log" 2>&1; then
    echo "mmdebstrap failed:" >&2
    show_log "$log"
    return 1
  fi
  rm -f "$log"
  ldso=$(cd "$RUNC_TMP" && compgen -G 'usr/lib/*-linux-gnu*/ld-linux*.so.[0-9]' | head -n1)
  [[ -n $ldso && -x $RUNC_TMP/usr/sbin/runc ]] || {
    echo "no runc or no dynamic loader in the $RUNC_SUITE root" >&2
    return 1
  }
  libdir=${ldso%/*}
  # The root first, then the binary that points into it: a runc with no root never exists.
  if [[ -e $RUNC_ROOT ]]; then
    old=$RT_PREFIX/.runc-root.old.$$
    mv -T "$RUNC_ROOT" "$old" || return 1
  fi
  mv -T "$RUNC_TMP" "$RUNC_ROOT" || return 1
  RUNC_TMP=""
  [[ -n $old ]] && safe_rm "$old"
  cp "$RUNC_ROOT/usr/sbin/runc" "$RUNC_BIN.tmp" &&
    patchelf --set-interpreter "$RUNC_ROOT/$ldso" --set-rpath "$RUNC_ROOT/$libdir" "$RUNC_BIN.tmp" &&
    chmod 0755 "$RUNC_BIN.tmp" || return 1
  verify_runc "$RUNC_BIN.tmp" || {
    rm -f "$RUNC_BIN.tmp"
    return 1
  }
  missing=$(runc_missing "$RUNC_BIN.tmp" "$RUNC_ROOT/usr/share/doc/runc/changelog.Debian.gz") || return 1
  if [[ -n $missing ]]; then
    echo "Debian $RUNC_SUITE's runc $RUNC_FOUND_VERSION lacks $(echo $missing)" >&2
    rm -f "$RUNC_BIN.tmp"
    return 1
  fi
  mv -f "$RUNC_BIN.tmp" "$RUNC_BIN"
}

# runc $1 runs, says its version (RUNC_FOUND_VERSION) and its features, and takes every library
# from the private root.
verify_runc() {
  local bin=$1 outside interp
  RUNC_FOUND_VERSION=$("$bin" --version 2>/dev/null | sed -n 's/^runc version //p')
  [[ -n $RUNC_FOUND_VERSION ]] && "$bin" features >/dev/null 2>&1 || {
    echo "$bin does not run" >&2
    return 1
  }
  # Listed by the binary's own loader (the host's ldd would show the host's loader).
  interp=$(patchelf --print-interpreter "$bin") || return 1
  [[ $interp == "$RUNC_ROOT"/* ]] || {
    echo "$bin uses the loader $interp, not the private root's" >&2
    return 1
  }
  outside=$("$interp" --list "$bin" 2>&1 | awk -v r="$RUNC_ROOT" '/not found/ || (/=>/ && index($3, r) != 1) { print $1 }')
  [[ -z $outside ]] || {
    echo "$bin takes libraries from outside $RUNC_ROOT: $(echo $outside)" >&2
    return 1
  }
}

setup_runc() {
  local sys missing
  sys=$(command -v runc || true)
  if [[ -n $sys ]] && missing=$(runc_missing "$sys") && [[ -z $missing ]]; then
    say "runc: ok (system $sys has every known escape fix)"
    return 0
  fi
  if [[ -x $RUNC_BIN ]] && verify_runc "$RUNC_BIN" 2>/dev/null &&
    missing=$(runc_missing "$RUNC_BIN") && [[ -z $missing ]]; then
    say "runc: ok ($RUNC_FOUND_VERSION, private $RUNC_SUITE root; the system's lacks $(echo ${missing:-fixes}))"
    return 0
  fi
  missing=$(runc_missing "${sys:-runc}" || echo "(unknown)")
  if ((CHECK)); then
    problem "runc: system ${sys:-runc} lacks escape fixes ($(echo $missing)) and $RUNC_BIN is not installed (fix: $FIX)" runc
    return 0
  fi
  if ! command -v patchelf >/dev/null; then
    problem "runc: patchelf is not installed" runc
    return 0
  fi
  if build_runc_root; then
    say "runc: installed $RUNC_FOUND_VERSION ($RUNC_BIN from a private $RUNC_SUITE root; the system's lacks $(echo $missing))"
    CHANGED+=(runc)
  else
    problem "runc: FAILED to install a runc with the escape fixes (see above); sandboxes run on ${sys:-runc}" runc
  fi
}
if [[ -x node_modules/.bin/node ]]; then
  setup_runc
else
  problem "runc: not checked (node_modules missing)" runc
fi

# ---------------------------------------------------------------------------------------------
# The sandbox supervisor

NATIVE_BUILD=packages/sandbox/native/build.sh
RT_INIT=packages/sandbox/native/build/rt-init
if [[ ! -f $NATIVE_BUILD ]]; then
  say "supervisor: skipped ($NATIVE_BUILD does not exist yet)"
elif ((CHECK)); then
  if [[ -x $RT_INIT ]]; then
    say "supervisor: ok ($RT_INIT)"
  else
    problem "supervisor: $RT_INIT is not built (fix: $FIX)" supervisor
  fi
else
  log=$(mktemp /tmp/runtools-native.XXXXXX)
  before=$(stat -c %Y.%s "$RT_INIT" 2>/dev/null || true)
  if bash "$NATIVE_BUILD" >"$log" 2>&1; then
    if [[ $(stat -c %Y.%s "$RT_INIT" 2>/dev/null || true) == "$before" ]]; then
      say "supervisor: ok ($RT_INIT)"
    else
      say "supervisor: built $RT_INIT"
      CHANGED+=(supervisor)
    fi
  else
    show_log "$log"
    problem "supervisor: bash $NATIVE_BUILD FAILED" supervisor
  fi
  rm -f "$log"
fi

# ---------------------------------------------------------------------------------------------
# The sandboxes' host uid/gid range, reserved for RunTools in /etc/subuid and /etc/subgid, so that
# no other user's containers (podman, buildah, LXC) run as the same host ids as the sandboxes.
# The engine refuses to start when another user owns part of it
# (packages/sandbox/src/host/subid-range.ts). RUNTOOLS_SUBID_DIR (tests) reads another directory.

SUBID_START=100000
SUBID_COUNT=65536
SUBID_ENTRY="runtools:$SUBID_START:$SUBID_COUNT"
for f in "${RUNTOOLS_SUBID_DIR:-/etc}/subuid" "${RUNTOOLS_SUBID_DIR:-/etc}/subgid"; do
  clash=$(awk -F: -v s=$SUBID_START -v c=$SUBID_COUNT \
    'NF == 3 && $1 != "runtools" && $1 !~ /^#/ && $2 < s + c && s < $2 + $3 { printf "%s%s", sep, $0; sep = ", " }' \
    "$f" 2>/dev/null || true)
  if [[ -n $clash ]]; then
    problem "$f: $clash overlaps the sandboxes' ids $SUBID_START-$((SUBID_START + SUBID_COUNT - 1)) (fix: move that user's range, e.g. usermod --del-subuids/--add-subuids and --del-subgids/--add-subgids, then run $FIX again)" "$(basename "$f")"
  elif grep -qx "$SUBID_ENTRY" "$f" 2>/dev/null && (($(grep -c '^runtools:' "$f") == 1)); then
    say "$(basename "$f"): ok ($SUBID_ENTRY)"
  elif ((CHECK)); then
    problem "$(basename "$f"): no $SUBID_ENTRY entry in $f (fix: $FIX)" "$(basename "$f")"
  else
    # Replace any other runtools line; written beside the file and renamed, keeping its mode.
    tmp=$(mktemp "$f.runtools.XXXXXX")
    { grep -v '^runtools:' "$f" 2>/dev/null || true; echo "$SUBID_ENTRY"; } >"$tmp"
    chmod 0644 "$tmp"
    if [[ -f $f ]]; then chmod --reference="$f" "$tmp" && chown --reference="$f" "$tmp"; fi
    mv -f "$tmp" "$f"
    say "$(basename "$f"): reserved $SUBID_ENTRY"
    CHANGED+=("$(basename "$f")")
  fi
done

# ---------------------------------------------------------------------------------------------
# Kernel key quota. runc gives every container a session keyring, charged to the container's host
# uid; all sandboxes share one (100000), and the default quota (kernel.keys.maxkeys 200,
# maxbytes 20000) would cap the sandboxes running at once at ~200. Raised, never lowered, and
# persisted in /etc/sysctl.d.

KEYS_CONF=/etc/sysctl.d/60-runtools-keys.conf
keys_low=()
for kv in maxkeys=20000 maxbytes=2000000; do
  cur=$(cat "/proc/sys/kernel/keys/${kv%%=*}" 2>/dev/null || echo 0)
  ((cur >= ${kv#*=})) || keys_low+=("kernel.keys.$kv")
done
if ((${#keys_low[@]} == 0)); then
  say "kernel key quota: ok (maxkeys $(cat /proc/sys/kernel/keys/maxkeys))"
elif ((CHECK)); then
  problem "kernel key quota: needs ${keys_low[*]} for many sandboxes (fix: $FIX)" "key quota"
else
  {
    echo '# Written by RunTools scripts/setup.sh: one session keyring per sandbox, all on one uid.'
    for kv in "${keys_low[@]}"; do echo "${kv/=/ = }"; done
  } >"$KEYS_CONF"
  if sysctl -q -p "$KEYS_CONF" >/dev/null; then
    say "kernel key quota: raised (${keys_low[*]}, in $KEYS_CONF)"
    CHANGED+=("key quota")
  else
    problem "kernel key quota: sysctl -p $KEYS_CONF FAILED" "key quota"
  fi
fi

# ---------------------------------------------------------------------------------------------
# Kernel and host features (warnings: setup.sh cannot install these)

if ! grep -qw overlay /proc/filesystems && ((!CHECK)); then
  modprobe overlay 2>/dev/null || true
fi
if grep -qw overlay /proc/filesystems; then
  say "overlayfs: ok"
else
  warning "overlayfs: not available (fix: modprobe overlay, or a kernel with CONFIG_OVERLAY_FS)" \
    overlayfs
fi

max_userns=$(cat /proc/sys/user/max_user_namespaces 2>/dev/null || echo 0)
if ((max_userns > 0)) && unshare --user --map-root-user true 2>/dev/null; then
  say "user namespaces: ok (max_user_namespaces $max_userns)"
else
  warning "user namespaces: disabled (max_user_namespaces=$max_userns; fix: sysctl -w user.max_user_namespaces=65536, and persist it in /etc/sysctl.d/)" \
    "user namespaces"
fi

# "fstype superoptions" of every cgroup mount (mountinfo has a variable number of optional fields
# before its " - " separator).
cgroup_mounts=$(awk '{ for (i = 7; i < NF; i++) if ($i == "-") { print $(i + 1), $(i + 3); break } }' \
  /proc/self/mountinfo | grep -E '^cgroup2? ' || true)
if [[ -f /sys/fs/cgroup/cgroup.controllers ]]; then
  cg_missing=()
  for c in memory pids cpu; do
    grep -qw "$c" /sys/fs/cgroup/cgroup.controllers || cg_missing+=("$c")
  done
  if ((${#cg_missing[@]} == 0)); then
    say "cgroups: ok (v2: $(cat /sys/fs/cgroup/cgroup.controllers))"
  else
    warning "cgroups: v2 controllers not available: ${cg_missing[*]} (fix: enable them in the kernel config or boot parameters)" \
      cgroups
  fi
else
  cg_missing=()
  for c in memory pids cpu freezer; do
    grep -Eq "^cgroup (.*,)?$c(,|\$)" <<<"$cgroup_mounts" || cg_missing+=("$c")
  done
  if ((${#cg_missing[@]} == 0)); then
    hybrid=""
    if grep -q '^cgroup2 ' <<<"$cgroup_mounts"; then hybrid=", hybrid with cgroup2"; fi
    say "cgroups: ok (v1$hybrid: memory pids cpu freezer)"
  else
    warning "cgroups: v1 controllers not mounted: ${cg_missing[*]} and no cgroup v2 (fix: boot with systemd.unified_cgroup_hierarchy=1, or mount the v1 controllers under /sys/fs/cgroup)" \
      cgroups
  fi
fi

if ((EUID == 0)); then
  ns=runtools-setup-$$
  if ip netns add "$ns" 2>/dev/null && ip netns exec "$ns" ip link show lo >/dev/null 2>&1; then
    say "ip netns: ok"
  else
    warning "ip netns: does not work (fix: apt-get install iproute2; the kernel needs CONFIG_NET_NS)" \
      "ip netns"
  fi
  ip netns del "$ns" 2>/dev/null || true
fi

finish
