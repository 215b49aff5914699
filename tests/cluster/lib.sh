# shellcheck shell=bash disable=SC2034
# Shared settings of the single-node test cluster (sourced by the scripts here).
#
# Everything can be overridden from the environment; the defaults make a
# cluster that only listens on / talks to loopback.

CLUSTER_NAME="${REGSTUDY_SLURM_CLUSTER:-regstudy}"
# The account, partition and QOS that the test run asks for through the
# profile's REGSTUDY_SLURM_* variables. None of them is a default (the user's
# default account is "root", the default partition "debug", the default QOS
# "normal"), so a setting that does not reach sbatch shows in sacct.
SLURM_TEST_ACCOUNT="${REGSTUDY_SLURM_ACCOUNT:-regstudy}"
SLURM_TEST_PARTITION="${REGSTUDY_SLURM_PARTITION:-study}"
SLURM_TEST_QOS="${REGSTUDY_SLURM_QOS:-regstudy}"
SLURM_DEFAULT_PARTITION=debug
# State, spool, logs, pid files and the MariaDB data of the test cluster.
CLUSTER_DIR="${REGSTUDY_SLURM_DIR:-/var/tmp/regstudy-slurm}"
# MariaDB for slurmdbd: TCP on loopback only, on a port of its own so that a
# MariaDB/MySQL already on this machine is left alone.
DB_PORT="${REGSTUDY_SLURM_DB_PORT:-33061}"
DB_PASS="${REGSTUDY_SLURM_DB_PASS:-regstudy-test-only}"
SLURMCTLD_PORT="${REGSTUDY_SLURMCTLD_PORT:-6817}"
SLURMD_PORT="${REGSTUDY_SLURMD_PORT:-6818}"
SLURMDBD_PORT="${REGSTUDY_SLURMDBD_PORT:-6819}"

SLURM_ETC=/etc/slurm
# First line of every config file these scripts write: a file without it is
# a site's own and is never overwritten.
MARKER="# written by regstudy tests/cluster/start_cluster.sh"

APT_PACKAGES="slurm-wlm slurmdbd munge mariadb-server mariadb-client"

log() { printf '[cluster %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# wait_for SECONDS DESCRIPTION COMMAND...: poll COMMAND once a second.
wait_for() {
    local secs="$1" what="$2"; shift 2
    local i
    for ((i = 0; i < secs; i++)); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 1
    done
    log "timed out after ${secs}s waiting for: $what"
    return 1
}

# Is the slurm.conf here written by us (or absent)?
ours_or_absent() {
    [ ! -e "$1" ] || head -n1 "$1" | grep -qxF "$MARKER"
}

# proc_is PID NAME: process PID runs and is NAME (not a reused pid).
proc_is() {
    [ -n "$1" ] && kill -0 "$1" 2>/dev/null \
        && [ "$(cat "/proc/$1/comm" 2>/dev/null)" = "$2" ]
}

# pid_alive PIDFILE NAME: the process named in PIDFILE runs and is NAME.
pid_alive() {
    [ -s "$1" ] && proc_is "$(cat "$1")" "$2"
}
