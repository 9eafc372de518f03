#!/usr/bin/env bash
# Runs the CI entry point (.ci/run) on fresh clones of this repository's HEAD while every core is
# kept busy by a CPU hog, to show that the suite holds on a slow, loaded machine. Run as root.
#
#   bash scripts/ci-under-load.sh            3 runs in a row, each on a new clone; stops at the first red one
#   bash scripts/ci-under-load.sh -n 1       one run
#   bash scripts/ci-under-load.sh -- CMD...  run CMD (in this checkout) under the same load instead
#
# Environment: LOAD_PROCS (default: one hog per core), LOAD=0 (no hogs, for a baseline),
# KEEP_CLONES=1 (leave the clones in /var/tmp). Each run's log goes to /var/tmp/ci-under-load/.
# Prints each run's result and wall time; exits 1 if any run failed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO=$PWD

RUNS=3
CMD=()
while (($#)); do
  case $1 in
    -n)
      RUNS=$2
      shift 2
      ;;
    --)
      shift
      CMD=("$@")
      break
      ;;
    -h | --help)
      sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "ci-under-load.sh: unknown option '$1' (try --help)" >&2
      exit 2
      ;;
  esac
done

HOGS=()
stop_hogs() {
  # Only the hogs this script started, by pid.
  for pid in "${HOGS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${HOGS[@]}"; do wait "$pid" 2>/dev/null || true; done
  HOGS=()
}
trap stop_hogs EXIT
trap 'exit 130' INT TERM

if [[ ${LOAD:-1} != 0 ]]; then
  n=${LOAD_PROCS:-$(nproc)}
  for ((i = 0; i < n; i++)); do
    # A pure CPU spinner at normal priority: the suite competes for every core.
    bash -c 'while :; do :; done' &
    HOGS+=($!)
  done
  echo "==> load: ${#HOGS[@]} CPU hogs (pids ${HOGS[*]})"
fi

if ((${#CMD[@]})); then
  "${CMD[@]}"
  exit $?
fi

LOGS=/var/tmp/ci-under-load
mkdir -p "$LOGS"
# Every run tests the commit that was HEAD when the script started, even if commits land meanwhile.
COMMIT=$(git -C "$REPO" rev-parse HEAD)
HEAD=${COMMIT:0:7}
if [[ -n $(git -C "$REPO" status --porcelain --untracked-files=no) ]]; then
  echo "==> note: uncommitted changes are not in the clones (testing $HEAD)"
fi
failed=0
for ((run = 1; run <= RUNS; run++)); do
  clone=$(mktemp -d /var/tmp/ci-clone-XXXXXX)
  git clone --quiet "$REPO" "$clone"
  git -C "$clone" checkout --quiet --detach "$COMMIT"
  log=$LOGS/run-$(date +%Y%m%d-%H%M%S)-$HEAD-$run.log
  echo "==> run $run/$RUNS of $HEAD in $clone, log $log"
  start=$EPOCHSECONDS
  status=0
  (cd "$clone" && CI=true bash .ci/run) >"$log" 2>&1 || status=$?
  secs=$((EPOCHSECONDS - start))
  summary=$(grep -E '^ℹ (tests|pass|fail) ' "$log" | tr '\n' ' ' || true)
  printf '==> run %d: %s in %dm%02ds  %s\n' "$run" "$([[ $status == 0 ]] && echo passed || echo "FAILED ($status)")" \
    $((secs / 60)) $((secs % 60)) "$summary"
  if [[ $status != 0 ]]; then
    grep -E '^✖|not ok' "$log" | head -20 || true
    failed=1
  fi
  if [[ ${KEEP_CLONES:-0} != 1 ]]; then rm -rf --one-file-system "$clone"; fi
  ((failed)) && break
done
exit $failed
