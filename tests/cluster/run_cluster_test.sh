#!/usr/bin/env bash
# End-to-end test of the SLURM profile on a real (single-node) SLURM cluster.
#
#   sudo tests/cluster/run_cluster_test.sh [study|toy]
#
#  1. installs (apt) and starts slurmctld + slurmd + slurmdbd/MariaDB + munge on
#     loopback where no cluster runs (tests/cluster/start_cluster.sh), and
#     installs snakemake-executor-plugin-slurm into $PYTHON's environment;
#  2. runs the workflow on its tiny config through
#     `snakemake --profile workflow/profiles/slurm` (every job goes through
#     sbatch, status through sacct);
#  3. checks in sacct / scontrol that each job's threads, mem_mb and runtime
#     (and account, partition, QOS) reached SLURM;
#  4. runs the same config locally and checks that both runs' results are
#     identical (metrics.json field by field, timings excluded);
#  5. stops the cluster again if this script started it.
#
# study (default): workflow/Snakefile with .test/config/config.yaml (+ the
#                  per-stage resources of tests/cluster/resources.yaml)
# toy:             tests/cluster/toy/Snakefile (no engine needed)
#
# Environment:
#   PYTHON        Python of the env to use (default: python3 on PATH); the
#                 plugin is pip-installed into it when missing
#   SNAKEMAKE     snakemake command (default: "$PYTHON -m snakemake")
#   SLURM_PLUGIN_SPEC  pip spec installed when the plugin is missing
#                 (default: the version tested here)
#   STOP_CLUSTER  auto (default: stop it if this script started it) | 1 | 0
#   KEEP_WORK     1: keep the run folders (kept anyway on failure)
#   RUN_TIMEOUT   seconds allowed for each snakemake run (default 1800)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
# shellcheck source=lib.sh
source "$HERE/lib.sh"

MODE="${1:-study}"
STOP_CLUSTER="${STOP_CLUSTER:-auto}"
KEEP_WORK="${KEEP_WORK:-0}"
RUN_TIMEOUT="${RUN_TIMEOUT:-1800}"
SLURM_PLUGIN_SPEC="${SLURM_PLUGIN_SPEC:-snakemake-executor-plugin-slurm==2.8.0}"
T0=$SECONDS
phase() { log "=== $* (t=$((SECONDS - T0))s)"; }

[ "$(id -u)" = 0 ] || die "run as root: the cluster is installed and started by this script"

case "$MODE" in
    study)
        SNAKEFILE="$REPO/workflow/Snakefile"
        # the tiny config, with distinct resources per stage (same in both runs)
        CONFIGFILES=("$REPO/.test/config/config.yaml" "$HERE/resources.yaml")
        ;;
    toy)
        SNAKEFILE="$HERE/toy/Snakefile"
        CONFIGFILES=("$HERE/toy/config.yaml")
        ;;
    *) die "usage: $0 [study|toy]" ;;
esac
for f in "$SNAKEFILE" "${CONFIGFILES[@]}"; do
    [ -f "$f" ] || die "$f not found"
done

# --- Python env: snakemake, the plugin (and the project for the study) -------
if [ -z "${PYTHON:-}" ]; then
    if [ -n "${SNAKEMAKE:-}" ] && [ -x "$(dirname "$(command -v "${SNAKEMAKE%% *}")")/python" ]; then
        PYTHON="$(dirname "$(command -v "${SNAKEMAKE%% *}")")/python"
    else
        PYTHON="$(command -v python3)"
    fi
fi
SNAKEMAKE="${SNAKEMAKE:-$PYTHON -m snakemake}"
phase "python env: $PYTHON"
pip_install() { "$PYTHON" -m pip install -q --disable-pip-version-check "$@"; }
"$PYTHON" -c 'import snakemake' 2>/dev/null || pip_install "snakemake>=8"
if [ "$MODE" = study ]; then
    "$PYTHON" -c 'import pipeline' 2>/dev/null || pip_install -e "$REPO"
fi
"$PYTHON" -c 'import snakemake_executor_plugin_slurm' 2>/dev/null || pip_install "$SLURM_PLUGIN_SPEC"
PLUGIN_VERSION="$("$PYTHON" -c 'from importlib.metadata import version as v; print(v("snakemake-executor-plugin-slurm"), "/ jobstep", v("snakemake-executor-plugin-slurm-jobstep"))')"
SMK_VERSION="$($SNAKEMAKE --version)"

# --- cluster --------------------------------------------------------------------
phase "cluster"
was_up=0
# (no Slurm client command without a slurm.conf: it would look for the
# controller in DNS)
if [ -e "$SLURM_ETC/slurm.conf" ] && scontrol ping 2>/dev/null | grep -q UP; then
    was_up=1
fi
own_cluster=0
ours_or_absent "$SLURM_ETC/slurm.conf" && own_cluster=1

WORK=""
cleanup() {
    local rc=$?
    if [ "$STOP_CLUSTER" = 1 ] || { [ "$STOP_CLUSTER" = auto ] && [ "$was_up" = 0 ]; }; then
        "$HERE/stop_cluster.sh" || true
    else
        log "leaving the cluster running (STOP_CLUSTER=$STOP_CLUSTER, was up before: $was_up)"
    fi
    if [ -n "$WORK" ]; then
        if [ "$rc" = 0 ] && [ "$KEEP_WORK" != 1 ]; then
            rm -rf "$WORK"
        else
            log "run folders and logs kept in $WORK"
        fi
    fi
    log "total: $((SECONDS - T0))s, exit $rc"
}
trap cleanup EXIT
"$HERE/start_cluster.sh"
SLURM_VERSION="$(sinfo --version)"

# The site settings go through the profile's environment variables, exactly
# as on a real site. On the test cluster: its account, partition and QOS.
if [ "$own_cluster" = 1 ]; then
    export REGSTUDY_SLURM_ACCOUNT="$SLURM_TEST_ACCOUNT"
    export REGSTUDY_SLURM_PARTITION="$SLURM_TEST_PARTITION"
    export REGSTUDY_SLURM_QOS="$SLURM_TEST_QOS"
fi

WORK="$(mktemp -d /var/tmp/regstudy-cluster-test.XXXXXX)"
chmod 755 "$WORK"
mkdir -p "$WORK/slurm" "$WORK/local"

run_smk() {  # run_smk NAME LOG ARGS...
    local name="$1" logf="$2"; shift 2
    local t=$SECONDS rc=0
    # --foreground: snakemake stays in this script's process group (an
    # interrupt of the script reaches it); -k: SIGKILL if it does not stop on
    # SIGTERM (snakemake waits for jobs it can no longer see otherwise)
    # shellcheck disable=SC2086  # word lists on purpose
    timeout --foreground -k 30 "$RUN_TIMEOUT" $SNAKEMAKE -s "$SNAKEFILE" --configfile "${CONFIGFILES[@]}" "$@" >"$logf" 2>&1 || rc=$?
    if [ "$rc" != 0 ]; then
        tail -n 60 "$logf" >&2
        die "$name run failed (exit $rc); log: $logf"
    fi
    log "$name run: $((SECONDS - t))s"
}

# --- 1. the study through the SLURM profile --------------------------------------
# Without --workflow-profile none: the local workflow profile is loaded too, as it is
# when a user forgets that option, and the account/partition/QOS must still arrive.
phase "run through --profile workflow/profiles/slurm (and the default workflow profile)"
# --verbose: the log shows each job's sbatch call; the status checks start
# after 2 s instead of 40 s (a test speed-up, no change of behaviour)
run_smk cluster "$WORK/slurm.log" \
    --directory "$WORK/slurm" \
    --profile "$REPO/workflow/profiles/slurm" \
    --slurm-init-seconds-before-status-checks 2 \
    --verbose
n_sub="$(grep -c 'has been submitted with SLURM jobid' "$WORK/slurm.log" || true)"
log "$n_sub jobs submitted with sbatch"
[ "$n_sub" -gt 0 ] || die "no job was submitted to SLURM"

# --- 2. resources in the job records (before slurmctld forgets the jobs) ---------
phase "resources in sacct / scontrol"
res_args=()
[ -n "${REGSTUDY_SLURM_ACCOUNT:-}" ] && res_args+=(--account "$REGSTUDY_SLURM_ACCOUNT")
[ -n "${REGSTUDY_SLURM_PARTITION:-}" ] && res_args+=(--partition "$REGSTUDY_SLURM_PARTITION")
[ -n "${REGSTUDY_SLURM_QOS:-}" ] && res_args+=(--qos "$REGSTUDY_SLURM_QOS")
if ! "$PYTHON" "$HERE/check_results.py" resources "$WORK/slurm.log" "${res_args[@]}" | tee "$WORK/resources.txt"; then
    die "resources check failed"
fi

# --- 3. the same config locally ----------------------------------------------------
phase "local run of the same config"
run_smk local "$WORK/local.log" --directory "$WORK/local" --cores 2

# --- 4. identical results -------------------------------------------------------------
phase "compare cluster and local results"
if ! "$PYTHON" "$HERE/check_results.py" compare "$WORK/slurm" "$WORK/local" | tee "$WORK/compare.txt"; then
    die "cluster and local results differ"
fi

phase "PASSED"
cat >&2 <<EOF
cluster test ($MODE) passed:
  $SLURM_VERSION, snakemake $SMK_VERSION, snakemake-executor-plugin-slurm $PLUGIN_VERSION
  $n_sub jobs submitted with sbatch; resources checked in sacct/scontrol; results identical to a local run
EOF
