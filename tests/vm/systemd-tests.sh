#!/bin/sh
# berth's systemd cgroup driver tests (--systemd-cgroup), run by the
# berth-tests unit of the systemd VM (run-systemd.sh) with systemd as pid 1
# on cgroup v2. Each t_NAME function is one case, run in a subshell; `fail`
# ends it. One line per case on stdout:
#   RESULT NAME pass|fail|skip MESSAGE
# and DONE at the end. Details go to stderr (the console). Every case
# checks the scope both as systemd sees it (systemctl show) and in the
# cgroup files.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
CG=/sys/fs/cgroup
ROOTFS=/payload/rootfs
B=/tmp/b

fail() {
  echo "FAIL: $*"
  exit 1
}
eq() { [ "$2" = "$3" ] || fail "$1: got '$2', want '$3'"; }
has() { case "$2" in *"$3"*) ;; *) fail "$1: '$2' lacks '$3'" ;; esac; }
ok() { "$@" || fail "failed: $*"; }
rd() { cat "$1" 2>/dev/null || echo "<missing $1>"; }
berth() { LD_LIBRARY_PATH=/payload/lib /payload/berth --systemd-cgroup "$@"; }
cgberth() { LD_LIBRARY_PATH=/payload/lib /payload/berth "$@"; }
show() { systemctl show -p "$2" --value "$1"; }
# no_unit UNIT: systemd knows no such unit, in any state
no_unit() {
  systemctl list-units --all --no-legend "$1" | grep -q . &&
    fail "unit $1 still there: $(systemctl list-units --all --no-legend "$1")"
  return 0
}

# bundle ID ARGS_JSON [MORE_LINUX_MEMBERS]
bundle() {
  mkdir -p "$B/$1"
  cat >"$B/$1/config.json" <<JSON
{"ociVersion": "1.2.0",
 "process": {"terminal": false, "user": {"uid": 0, "gid": 0}, "args": $2,
   "env": ["PATH=/bin"], "cwd": "/",
   "capabilities": {"bounding": ["CAP_KILL", "CAP_MKNOD"], "effective": ["CAP_KILL", "CAP_MKNOD"],
                    "permitted": ["CAP_KILL", "CAP_MKNOD"]}},
 "root": {"path": "$ROOTFS", "readonly": true},
 "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "mode=755"]},
            {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs"}],
 "linux": {"namespaces": [{"type": "pid"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}, {"type": "cgroup"}]${3:+, $3}}}
JSON
}
# create ID ARGS_JSON [MORE]: created and started
create() {
  bundle "$@"
  berth create --bundle "$B/$1" "$1" || fail "create $1"
  berth start "$1" || fail "start $1"
}
pid_of() { berth state "$1" | sed -n 's/.*"pid": *\([0-9]*\).*/\1/p'; }
status_of() { berth state "$1" | sed -n 's/.*"status": *"\([a-z]*\)".*/\1/p'; }
SLEEP='["sleep", "1000"]'

cleanup() {
  for id in $(cgberth list -q 2>/dev/null); do timeout 40 /bin/sh -c "LD_LIBRARY_PATH=/payload/lib /payload/berth --systemd-cgroup delete --force $id" >/dev/null 2>&1; done
  rm -rf "$B"
}

run_test() {
  name=$1
  log=/tmp/log.$name
  (set -x; t_"$name") >"$log" 2>&1 &
  tpid=$!
  (sleep 90 && { ps -eo pid,ppid,stat,wchan:20,args; timeout 5 systemctl list-jobs --no-pager; echo "FAIL: timed out after 90 s"; } >>"$log" 2>&1 && kill -9 $tpid) >/dev/null 2>&1 &
  watchdog=$!
  wait $tpid
  rc=$?
  kill $watchdog 2>/dev/null
  # What a killed case left running would hold the containers' locks.
  [ $rc -eq 137 ] && pkill -9 -f /payload/berth
  msg=$(tail -n 3 "$log" | tr '\n' ' ' | cut -c1-600)
  case $rc in
    0) echo "RESULT $name pass" ;;
    77) echo "RESULT $name skip $msg" ;;
    *) echo "RESULT $name fail $msg" ;;
  esac
  echo "--- $name: rc $rc" >&2
  [ $rc -eq 0 ] || cat "$log" >&2
  cleanup
}

# ------------------------------------------------------------------ cases

# The caller's form (dockerd's): a scope in system.slice with Delegate=yes,
# the init in it; delete stops it and leaves neither unit nor cgroup.
t_scope_placement() {
  create c1 "$SLEEP" '"cgroupsPath": "system.slice:docker:c1"'
  u=docker-c1.scope
  eq ActiveState "$(show $u ActiveState)" active
  eq Slice "$(show $u Slice)" system.slice
  eq Delegate "$(show $u Delegate)" yes
  eq ControlGroup "$(show $u ControlGroup)" /system.slice/docker-c1.scope
  has cgroup.procs "$(rd $CG/system.slice/$u/cgroup.procs)" "$(pid_of c1)"
  has "state.json" "$(cat /run/berth/c1/state.json)" '"systemdUnit":"docker-c1.scope"'
  ok berth delete --force c1
  no_unit $u
  [ -d $CG/system.slice/$u ] && fail "cgroup $CG/system.slice/$u still there"
  return 0
}

# No cgroupsPath: system.slice, berth-ID.scope; a nested slice is expanded
# as systemd names it; "-" is the root slice.
t_scope_names() {
  create d1 "$SLEEP"
  eq default "$(show berth-d1.scope ControlGroup)" /system.slice/berth-d1.scope
  create d2 "$SLEEP" '"cgroupsPath": "berthtest-inner.slice:p:d2"'
  eq nested "$(show p-d2.scope ControlGroup)" /berthtest.slice/berthtest-inner.slice/p-d2.scope
  [ -d $CG/berthtest.slice/berthtest-inner.slice/p-d2.scope ] || fail "no nested scope cgroup"
  create d3 "$SLEEP" '"cgroupsPath": "-:p:d3"'
  eq root "$(show p-d3.scope ControlGroup)" /p-d3.scope
  for id in d1 d2 d3; do ok berth delete --force $id; done
  no_unit berth-d1.scope
  no_unit p-d2.scope
  no_unit p-d3.scope
  [ -d $CG/berthtest.slice/berthtest-inner.slice/p-d2.scope ] && fail "nested scope cgroup left"
  return 0
}

# Every resource systemd has a property for: as a property and in the file.
t_resources_all() {
  create r1 "$SLEEP" '"cgroupsPath": "system.slice:berth:r1", "resources": {
    "memory": {"limit": 67108864, "reservation": 33554432, "swap": 134217728},
    "cpu": {"shares": 1024, "quota": 25000, "period": 50000, "cpus": "0", "mems": "0"},
    "pids": {"limit": 42}, "blockIO": {"weight": 500}}'
  u=berth-r1.scope
  d=$CG/system.slice/$u
  eq MemoryMax "$(show $u MemoryMax)" 67108864
  eq memory.max "$(rd $d/memory.max)" 67108864
  eq MemoryLow "$(show $u MemoryLow)" 33554432
  eq memory.low "$(rd $d/memory.low)" 33554432
  eq MemorySwapMax "$(show $u MemorySwapMax)" 67108864
  eq memory.swap.max "$(rd $d/memory.swap.max)" 67108864
  eq CPUWeight "$(show $u CPUWeight)" 100
  eq cpu.weight "$(rd $d/cpu.weight)" 100
  eq CPUQuotaPerSecUSec "$(show $u CPUQuotaPerSecUSec)" 500ms
  eq CPUQuotaPeriodUSec "$(show $u CPUQuotaPeriodUSec)" 50ms
  eq cpu.max "$(rd $d/cpu.max)" "25000 50000"
  eq AllowedCPUs "$(show $u AllowedCPUs)" 0
  eq cpuset.cpus "$(rd $d/cpuset.cpus)" 0
  eq AllowedMemoryNodes "$(show $u AllowedMemoryNodes)" 0
  eq cpuset.mems "$(rd $d/cpuset.mems)" 0
  eq TasksMax "$(show $u TasksMax)" 42
  eq pids.max "$(rd $d/pids.max)" 42
  eq IOWeight "$(show $u IOWeight)" 4950
  has io.weight "$(rd $d/io.weight)" "default"
  eq DevicePolicy "$(show $u DevicePolicy)" strict
  has DeviceAllow "$(show $u DeviceAllow)" "/dev/char/1:3 rwm"
  eq MemoryAccounting "$(show $u MemoryAccounting)" yes
  eq TasksAccounting "$(show $u TasksAccounting)" yes
  ok berth delete --force r1
  no_unit $u
}

# systemd re-applies a unit's properties on daemon-reload: the limits set
# as properties survive it.
t_limits_survive_daemon_reload() {
  create r2 "$SLEEP" '"resources": {"memory": {"limit": 50331648}, "pids": {"limit": 33}}'
  d=$CG/system.slice/berth-r2.scope
  ok systemctl daemon-reload
  eq memory.max "$(rd $d/memory.max)" 50331648
  eq pids.max "$(rd $d/pids.max)" 33
}

# The lifecycle through the systemd driver: state, ps, exec, pause/resume,
# update (property and file), events --stats, kill --all, delete.
t_lifecycle() {
  create l1 "$SLEEP" '"cgroupsPath": "system.slice:berth:l1", "resources": {"memory": {"limit": 67108864}}'
  u=berth-l1.scope
  d=$CG/system.slice/$u
  eq status "$(status_of l1)" running
  has ps "$(berth ps --format json l1)" "$(pid_of l1)"
  bundle l1x '["sleep", "1000"]'
  cat >$B/l1x/process.json <<'JSON'
{"args": ["sleep", "999"], "cwd": "/", "env": ["PATH=/bin"], "user": {"uid": 0, "gid": 0}}
JSON
  ok berth exec -d --process $B/l1x/process.json l1
  n=$(wc -l <$d/cgroup.procs)
  eq "processes in the scope after exec" "$n" 2
  ok berth pause l1
  eq "status paused" "$(status_of l1)" paused
  has cgroup.events "$(rd $d/cgroup.events)" "frozen 1"
  ok berth resume l1
  eq "status resumed" "$(status_of l1)" running
  ok berth update --memory 134217728 --pids-limit 77 l1
  eq "MemoryMax after update" "$(show $u MemoryMax)" 134217728
  eq "memory.max after update" "$(rd $d/memory.max)" 134217728
  eq "TasksMax after update" "$(show $u TasksMax)" 77
  eq "pids.max after update" "$(rd $d/pids.max)" 77
  stats=$(berth events --stats l1)
  has stats "$stats" '"type":"stats"'
  has "stats pids" "$stats" '"current":2'
  ok berth kill --all l1 KILL
  i=0
  while [ "$(status_of l1)" != stopped ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
  eq "status after kill --all" "$(status_of l1)" stopped
  ok berth delete l1
  no_unit $u
  [ -d $d ] && fail "cgroup $d still there"
  return 0
}

# A create that fails after the scope was started (the program does not
# exist) leaves no unit, cgroup or state behind.
t_failed_create_leaves_nothing() {
  bundle f1 '["/no/such/program"]' '"cgroupsPath": "system.slice:berth:f1", "resources": {"memory": {"limit": 67108864}}'
  out=$(berth create --bundle $B/f1 f1 2>&1) && fail "create of a missing program succeeded"
  has error "$out" "/no/such/program"
  no_unit berth-f1.scope
  [ -d $CG/system.slice/berth-f1.scope ] && fail "cgroup left behind"
  [ -e /run/berth/f1 ] && fail "state left behind"
  return 0
}

# An active unit of the same name belongs to someone else.
t_unit_name_taken() {
  create t1 "$SLEEP" '"cgroupsPath": "system.slice:berth:same"'
  bundle t2 "$SLEEP" '"cgroupsPath": "system.slice:berth:same"'
  out=$(berth create --bundle $B/t2 t2 2>&1) && fail "a second container took berth-same.scope"
  has error "$out" "berth-same.scope already exists"
  eq "first still active" "$(show berth-same.scope ActiveState)" active
  ok berth delete --force t1
  no_unit berth-same.scope
}

# The wrong form for the driver in use: errors naming the field and form.
t_wrong_form() {
  bundle w1 "$SLEEP" '"cgroupsPath": "/berth/w1"'
  out=$(berth create --bundle $B/w1 w1 2>&1) && fail "a path was taken with --systemd-cgroup"
  has systemd "$out" "slice:prefix:name"
  bundle w2 "$SLEEP" '"cgroupsPath": "system.slice:berth:w2"'
  out=$(cgberth create --bundle $B/w2 w2 2>&1) && fail "slice:prefix:name was taken by cgroupfs"
  has cgroupfs "$out" "needs --systemd-cgroup"
  no_unit berth-w2.scope
  [ -e /run/berth/w1 ] || [ -e /run/berth/w2 ] && fail "state left behind"
  return 0
}

# The default device policy: /dev/null works, an unlisted device does not,
# as with the cgroupfs driver (systemd's program and berth's both hold).
t_devices() {
  out=$(bundle v1 '["sh", "-c", "head -c 1 /dev/null; echo null-ok; mknod /tmp/vda b 254 0 && head -c 1 /tmp/vda >/dev/null && echo readable"]' \
    '"resources": {"devices": [{"allow": false, "access": "rwm"}]}' && berth run --bundle $B/v1 v1 2>&1)
  has "/dev/null" "$out" null-ok
  case "$out" in *readable*) fail "a denied block device was readable: $out" ;; esac
  no_unit berth-v1.scope
}

# Rootless: the user's own systemd (user@1000.service) over the session
# bus; the scope lives under the user's manager.
t_rootless_user_manager() {
  ok systemctl start user@1000.service
  rt=/run/user/1000
  [ -S $rt/bus ] || fail "no session bus at $rt/bus"
  mkdir -p $B/u1
  cat >$B/u1/config.json <<JSON
{"ociVersion": "1.2.0",
 "process": {"terminal": false, "user": {"uid": 0, "gid": 0}, "args": ["sleep", "1000"],
   "env": ["PATH=/bin"], "cwd": "/"},
 "root": {"path": "$ROOTFS", "readonly": true},
 "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "mode=755"]},
            {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs"}],
 "linux": {"namespaces": [{"type": "pid"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}, {"type": "user"}],
   "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}],
   "gidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}],
   "cgroupsPath": ":berth:u1",
   "resources": {"memory": {"limit": 67108864}, "pids": {"limit": 20}}}}
JSON
  chmod -R a+rX $B
  ub() {
    setpriv --reuid 1000 --regid 1000 --clear-groups env XDG_RUNTIME_DIR=$rt \
      DBUS_SESSION_BUS_ADDRESS=unix:path=$rt/bus LD_LIBRARY_PATH=/payload/lib \
      /payload/berth --root $rt/berth --systemd-cgroup "$@"
  }
  ok ub create --bundle $B/u1 u1
  ok ub start u1
  cg=$(systemctl --user -M berth@ show -p ControlGroup --value berth-u1.scope 2>/dev/null)
  [ -n "$cg" ] || cg=$(setpriv --reuid 1000 --regid 1000 --clear-groups env XDG_RUNTIME_DIR=$rt \
    systemctl --user show -p ControlGroup --value berth-u1.scope)
  eq ControlGroup "$cg" /user.slice/user-1000.slice/user@1000.service/user.slice/berth-u1.scope
  d=$CG$cg
  eq memory.max "$(rd $d/memory.max)" 67108864
  eq pids.max "$(rd $d/pids.max)" 20
  ok ub delete --force u1
  [ -d $d ] && fail "cgroup $d still there"
  left=$(setpriv --reuid 1000 --regid 1000 --clear-groups env XDG_RUNTIME_DIR=$rt \
    systemctl --user list-units --all --no-legend berth-u1.scope)
  eq "user unit left" "$left" ""
}

echo "vm: systemd $(systemctl --version | head -1), $(stat -f -c %T $CG), pid 1 $(cat /proc/1/comm)," \
  "state $(systemctl is-system-running)" >&2
only=$(sed -n 's/.*berth_vm_only=\([a-z0-9_]*\).*/\1/p' /proc/cmdline)
for t in scope_placement scope_names resources_all limits_survive_daemon_reload lifecycle \
  failed_create_leaves_nothing unit_name_taken wrong_form devices rootless_user_manager; do
  [ -z "$only" ] || [ "$only" = "$t" ] || continue
  run_test "$t"
done
echo DONE
