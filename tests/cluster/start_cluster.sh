#!/usr/bin/env bash
# Install (where absent) and start a real single-node SLURM cluster on loopback:
#   munged -> MariaDB (own datadir, 127.0.0.1:$DB_PORT) -> slurmdbd -> slurmctld -> slurmd
# with accounting (sacct / sacctmgr), an account and a default partition.
#
# Made for a container without systemd and without cgroups (gVisor, docker):
# proctrack/linuxproc, task/none, select/cons_tres with CR_Core_Memory.
# Must run as root. Idempotent: daemons already running are left as they are.
# A slurm.conf that these scripts did not write (a real site) is never touched:
# then this script only checks that the cluster answers.
#
# Usage: tests/cluster/start_cluster.sh
# Settings: see tests/cluster/lib.sh (REGSTUDY_SLURM_* variables).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$HERE/lib.sh"

[ "$(id -u)" = 0 ] || die "start_cluster.sh must run as root (it installs packages and starts daemons)"

# --- a site's own cluster: use, do not touch -------------------------------
if ! ours_or_absent "$SLURM_ETC/slurm.conf"; then
    log "$SLURM_ETC/slurm.conf was not written by these scripts: using the existing cluster as is"
    scontrol ping >/dev/null || die "existing cluster does not answer 'scontrol ping'"
    exit 0
fi

# --- packages ---------------------------------------------------------------
missing=""
for bin in slurmctld slurmd slurmdbd sbatch sacct sacctmgr scontrol munged mariadbd mariadb mariadb-install-db; do
    command -v "$bin" >/dev/null 2>&1 || missing="$missing $bin"
done
if [ -n "$missing" ]; then
    log "installing $APT_PACKAGES (missing:$missing)"
    export DEBIAN_FRONTEND=noninteractive
    # the packages' maintainer scripts must not start their services (with
    # Debian's default configs): this script starts them its own way
    added_policy=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        added_policy=1
    fi
    apt-get update -qq
    # shellcheck disable=SC2086  # word lists on purpose
    apt-get install -y -qq --no-install-recommends $APT_PACKAGES >/dev/null
    if [ "$added_policy" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
fi
# (no Slurm client command before slurm.conf exists: they would look for the
# controller in DNS SRV records)
log "slurm-wlm $(dpkg-query -W -f='${Version}' slurmctld) / munge $(dpkg-query -W -f='${Version}' munge) / mariadb $(dpkg-query -W -f='${Version}' mariadb-server)"

HOST="$(hostname -s)"
mkdir -p "$CLUSTER_DIR"/{pids,log}
install -d -o slurm -g slurm -m 755 "$CLUSTER_DIR/run" "$CLUSTER_DIR/state" "$CLUSTER_DIR/slurmlog"
install -d -o root -g root -m 755 "$CLUSTER_DIR/slurmd"
install -d -o mysql -g mysql -m 750 "$CLUSTER_DIR/mysql" "$CLUSTER_DIR/mysql-run"

# --- munge ------------------------------------------------------------------
if (munge -n | unmunge) >/dev/null 2>&1; then
    log "munged already running"
else
    if [ ! -s /etc/munge/munge.key ]; then
        log "creating /etc/munge/munge.key"
        install -d -o munge -g munge -m 700 /etc/munge
        mungekey --create --keyfile=/etc/munge/munge.key
    fi
    chown munge:munge /etc/munge/munge.key
    chmod 600 /etc/munge/munge.key
    install -d -o munge -g munge -m 755 /run/munge
    install -d -o munge -g munge -m 700 /var/lib/munge /var/log/munge
    log "starting munged"
    # --force: run even if a killed munged left its socket behind
    runuser -u munge -- /usr/sbin/munged --force
    wait_for 20 "munged" bash -c 'munge -n | unmunge' || die "munged did not start"
    cp /run/munge/munged.pid "$CLUSTER_DIR/pids/munged.pid"
fi

# --- MariaDB for slurmdbd ----------------------------------------------------
MYSQL_SOCK="$CLUSTER_DIR/mysql-run/mysqld.sock"
sql() { mariadb --no-defaults -S "$MYSQL_SOCK" -u root "$@"; }
if pid_alive "$CLUSTER_DIR/pids/mariadbd.pid" mariadbd && sql -e 'SELECT 1' >/dev/null 2>&1; then
    log "mariadbd already running"
else
    if [ ! -d "$CLUSTER_DIR/mysql/mysql" ]; then
        log "initialising MariaDB datadir $CLUSTER_DIR/mysql"
        mariadb-install-db --no-defaults --user=mysql --datadir="$CLUSTER_DIR/mysql" \
            --auth-root-authentication-method=socket --skip-test-db \
            >"$CLUSTER_DIR/log/mariadb-install-db.log" 2>&1 \
            || { cat "$CLUSTER_DIR/log/mariadb-install-db.log" >&2; die "mariadb-install-db failed"; }
    fi
    log "starting mariadbd on 127.0.0.1:$DB_PORT"
    # innodb settings as recommended by the Slurm accounting docs
    setsid /usr/sbin/mariadbd --no-defaults --user=mysql \
        --datadir="$CLUSTER_DIR/mysql" --socket="$MYSQL_SOCK" \
        --pid-file="$CLUSTER_DIR/mysql-run/mariadbd.pid" \
        --log-error="$CLUSTER_DIR/mysql-run/mariadbd.err" \
        --bind-address=127.0.0.1 --port="$DB_PORT" --skip-name-resolve \
        --innodb-buffer-pool-size=128M --innodb-log-file-size=64M \
        --innodb-lock-wait-timeout=900 --innodb-use-native-aio=0 \
        </dev/null >/dev/null 2>&1 &
    echo $! >"$CLUSTER_DIR/pids/mariadbd.pid"
    wait_for 60 "mariadbd" sql -e 'SELECT 1' \
        || { cat "$CLUSTER_DIR/mysql-run/mariadbd.err" >&2 || true; die "mariadbd did not start"; }
fi
sql <<SQL
CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY '${DB_PASS}';
ALTER USER 'slurm'@'127.0.0.1' IDENTIFIED BY '${DB_PASS}';
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';
FLUSH PRIVILEGES;
SQL

# --- configuration ------------------------------------------------------------
# The node as slurmd sees it (CPUs, sockets, cores, RealMemory) with our name/address.
NODE_LINE="$(slurmd -C | head -n1 | sed -e "s/^NodeName=[^ ]*/NodeName=$HOST NodeAddr=127.0.0.1/")"

cat >"$SLURM_ETC/slurm.conf.new" <<EOF
$MARKER
# Single-node test cluster for tests/cluster/run_cluster_test.sh. Do not use on a real site.
ClusterName=$CLUSTER_NAME
SlurmctldHost=$HOST(127.0.0.1)
SlurmctldPort=$SLURMCTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=slurm
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=$CLUSTER_DIR/state
SlurmdSpoolDir=$CLUSTER_DIR/slurmd
SlurmctldPidFile=$CLUSTER_DIR/run/slurmctld.pid
SlurmdPidFile=$CLUSTER_DIR/run/slurmd.pid
SlurmctldLogFile=$CLUSTER_DIR/slurmlog/slurmctld.log
SlurmdLogFile=$CLUSTER_DIR/slurmlog/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
# no cgroups in a container: track processes via /proc, no task binding
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=task=5
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
MpiDefault=none
SwitchType=switch/none
ReturnToService=2
# accounting through slurmdbd (sacct / sacctmgr), jobs need a valid account
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=127.0.0.1
AccountingStoragePort=$SLURMDBD_PORT
AccountingStorageEnforce=associations
AccountingStoreFlags=job_comment
JobCompType=jobcomp/none
MinJobAge=300
KillWait=10
InactiveLimit=0
SlurmctldTimeout=60
SlurmdTimeout=60
$NODE_LINE State=UNKNOWN
PartitionName=$SLURM_DEFAULT_PARTITION Nodes=ALL Default=YES MaxTime=INFINITE State=UP
PartitionName=$SLURM_TEST_PARTITION Nodes=ALL Default=NO MaxTime=INFINITE State=UP
EOF

cat >"$SLURM_ETC/slurmdbd.conf.new" <<EOF
$MARKER
AuthType=auth/munge
DbdHost=$HOST
DbdAddr=127.0.0.1
DbdPort=$SLURMDBD_PORT
SlurmUser=slurm
PidFile=$CLUSTER_DIR/run/slurmdbd.pid
LogFile=$CLUSTER_DIR/slurmlog/slurmdbd.log
DebugLevel=info
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$DB_PORT
StorageUser=slurm
StoragePass=$DB_PASS
StorageLoc=slurm_acct_db
EOF
for f in slurm.conf slurmdbd.conf; do
    ours_or_absent "$SLURM_ETC/$f" || die "$SLURM_ETC/$f is a site's own file; not overwriting"
    mv "$SLURM_ETC/$f.new" "$SLURM_ETC/$f"
done
chmod 644 "$SLURM_ETC/slurm.conf"
chown slurm:slurm "$SLURM_ETC/slurmdbd.conf"
chmod 600 "$SLURM_ETC/slurmdbd.conf"

# --- slurmdbd ------------------------------------------------------------------
if pid_alive "$CLUSTER_DIR/run/slurmdbd.pid" slurmdbd; then
    log "slurmdbd already running"
else
    log "starting slurmdbd"
    slurmdbd
    wait_for 60 "slurmdbd" sacctmgr -n list cluster \
        || { tail -n 30 "$CLUSTER_DIR/slurmlog/slurmdbd.log" >&2 || true; die "slurmdbd did not start"; }
fi
cp "$CLUSTER_DIR/run/slurmdbd.pid" "$CLUSTER_DIR/pids/slurmdbd.pid"

# cluster, account, QOS, association of the submitting user (root here);
# the test account and QOS are allowed, not defaults
if [ -z "$(sacctmgr -n -P list cluster "$CLUSTER_NAME" format=cluster)" ]; then
    sacctmgr -i add cluster "$CLUSTER_NAME" >/dev/null
fi
if [ -z "$(sacctmgr -n -P list account "$SLURM_TEST_ACCOUNT" format=account)" ]; then
    sacctmgr -i add account "$SLURM_TEST_ACCOUNT" Cluster="$CLUSTER_NAME" \
        Description="regstudy test account" Organization=regstudy >/dev/null
fi
USER_NAME="$(id -un)"
if ! sacctmgr -n -P list assoc user="$USER_NAME" account="$SLURM_TEST_ACCOUNT" cluster="$CLUSTER_NAME" format=account | grep -qx "$SLURM_TEST_ACCOUNT"; then
    sacctmgr -i add user "$USER_NAME" Account="$SLURM_TEST_ACCOUNT" Cluster="$CLUSTER_NAME" >/dev/null
fi
if [ -z "$(sacctmgr -n -P list qos "$SLURM_TEST_QOS" format=name)" ]; then
    sacctmgr -i add qos "$SLURM_TEST_QOS" >/dev/null
fi
if ! sacctmgr -n -P list assoc user="$USER_NAME" account="$SLURM_TEST_ACCOUNT" cluster="$CLUSTER_NAME" format=qos | tr ',' '\n' | grep -qx "$SLURM_TEST_QOS"; then
    sacctmgr -i modify user "$USER_NAME" where account="$SLURM_TEST_ACCOUNT" cluster="$CLUSTER_NAME" set QOS+="$SLURM_TEST_QOS" >/dev/null
fi

# --- slurmctld and slurmd -------------------------------------------------------
if pid_alive "$CLUSTER_DIR/run/slurmctld.pid" slurmctld; then
    log "slurmctld already running; re-reading slurm.conf"
    scontrol reconfigure || true
else
    log "starting slurmctld"
    slurmctld
    wait_for 60 "slurmctld" bash -c 'scontrol ping | grep -q UP' \
        || { tail -n 30 "$CLUSTER_DIR/slurmlog/slurmctld.log" >&2 || true; die "slurmctld did not start"; }
fi
cp "$CLUSTER_DIR/run/slurmctld.pid" "$CLUSTER_DIR/pids/slurmctld.pid"

if pid_alive "$CLUSTER_DIR/run/slurmd.pid" slurmd; then
    log "slurmd already running"
else
    log "starting slurmd"
    slurmd
fi
node_ready() {
    local st
    st="$(sinfo -h -n "$HOST" -o %T 2>/dev/null | head -n1)"
    case "$st" in
        idle|mixed|allocated|completing) return 0 ;;
        down*|drain*|fail*) scontrol update nodename="$HOST" state=resume >/dev/null 2>&1 || true; return 1 ;;
        *) return 1 ;;
    esac
}
wait_for 60 "node $HOST to be up" node_ready \
    || { sinfo -N -l >&2 || true; tail -n 30 "$CLUSTER_DIR/slurmlog/slurmd.log" >&2 || true; die "slurmd did not come up"; }
cp "$CLUSTER_DIR/run/slurmd.pid" "$CLUSTER_DIR/pids/slurmd.pid"

# --- end-to-end probe: a job runs and is in the accounting database -----------------
# (a controller without working accounting would make the plugin wait forever)
probe_dir="$CLUSTER_DIR/probe"
mkdir -p "$probe_dir"
probe="$(sbatch --parsable -J regstudy-probe -A "$SLURM_TEST_ACCOUNT" -p "$SLURM_TEST_PARTITION" \
    --qos "$SLURM_TEST_QOS" -n 1 -c 1 --mem 10 -t 1 -o "$probe_dir/%j.out" -D "$probe_dir" \
    --wrap 'srun -n1 true')" || die "sbatch of the probe job failed"
probe_done() {
    [ "$(sacct -n -X -P -j "$probe" -o State 2>/dev/null | head -n1)" = COMPLETED ]
}
wait_for 60 "probe job $probe COMPLETED in sacct" probe_done \
    || { scontrol show job "$probe" >&2 || true; sacct -j "$probe" >&2 || true; die "probe job failed"; }
log "probe job $probe ran and is accounted"

log "cluster '$CLUSTER_NAME' is up:"
sinfo -N -o '%N %P %T %c %m' >&2
