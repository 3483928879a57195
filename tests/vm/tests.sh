#!/bin/sh
# berth's cgroup v2 tests, run by the VM's init (busybox sh) on a kernel with
# only the unified hierarchy. Each t_NAME function is one test case; it runs
# in a subshell, `fail` ends it. One line per case on stdout:
#   RESULT NAME pass|fail|skip MESSAGE
# and DONE at the end. Details go to stderr (the console).
export PATH=/bin
CG=/sys/fs/cgroup
ROOTFS=/rootfs

fail() {
  echo "FAIL: $*"
  exit 1
}
skip() {
  echo "SKIP: $*"
  exit 77
}
# eq WHAT ACTUAL EXPECTED
eq() { [ "$2" = "$3" ] || fail "$1: got '$2', want '$3'"; }
# has WHAT TEXT WORD: TEXT contains WORD
has() { case "$2" in *"$3"*) ;; *) fail "$1: '$2' lacks '$3'" ;; esac; }
ok() { "$@" || fail "failed: $*"; }
rd() { cat "$1" 2>/dev/null || echo "<missing $1>"; }
berth() { /bin/berth "$@"; }

# Never `$(berth create ...)`: the created init holds the pipe open.
# bundle ID ARGS_JSON [MORE_LINUX_MEMBERS]: /b/ID/config.json with the
# busybox rootfs; MORE_LINUX_MEMBERS is JSON text ("resources":{...}, ...).
bundle() {
  mkdir -p "/b/$1"
  cat >"/b/$1/config.json" <<EOF
{"ociVersion": "1.2.0",
 "process": {"terminal": false, "user": {"uid": 0, "gid": 0}, "args": $2,
   "env": ["PATH=/bin"], "cwd": "/",
   "capabilities": {"bounding": ["CAP_KILL", "CAP_MKNOD"], "effective": ["CAP_KILL", "CAP_MKNOD"],
                    "permitted": ["CAP_KILL", "CAP_MKNOD"]}},
 "root": {"path": "$ROOTFS", "readonly": true},
 "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "mode=755"]},
            {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs"}],
 "linux": {"namespaces": ${NAMESPACES:-$ALL_NS}${3:+, $3}}}
EOF
}

# create ID ARGS_JSON [MORE]: created and started (the process runs)
create() {
  bundle "$@"
  berth create --bundle "/b/$1" "$1" || fail "create $1"
  berth start "$1" || fail "start $1"
}
pid_of() { berth state "$1" | sed -n 's/.*"pid": *\([0-9]*\).*/\1/p'; }
status_of() { berth state "$1" | sed -n 's/.*"status": *"\([a-z]*\)".*/\1/p'; }
# gone ID [CGROUP_DIR]: no state, no cgroup directory
gone() {
  berth state "$1" >/dev/null 2>&1 && fail "state of $1 still there"
  [ -d "${2:-$CG/$1}" ] && fail "cgroup ${2:-$CG/$1} still there"
  return 0
}
SLEEP='["sleep", "1000"]'
ALL_NS='[{"type": "pid"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}, {"type": "cgroup"}]'

# Removes what a test left behind: containers, then cgroups it made.
cleanup() {
  for id in $(berth list -q 2>/dev/null); do berth delete --force "$id" >/dev/null 2>&1; done
  for d in $(find $CG -mindepth 1 -type d 2>/dev/null | sort -r); do rmdir "$d" 2>/dev/null; done
  rm -rf /b
}

run_test() {
  name=$1
  log=/tmp/log.$name
  (t_"$name") >"$log" 2>&1 &
  tpid=$!
  # One hung case must not take the rest of the run with it.
  (sleep 60 && echo "FAIL: timed out after 60 s" >>"$log" && kill -9 $tpid) >/dev/null 2>&1 &
  watchdog=$!
  wait $tpid
  rc=$?
  kill $watchdog 2>/dev/null
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

# ---------------------------------------------------------------- placement

# A fresh root (cgroup.subtree_control empty): the controllers a limit
# needs are enabled from the root down, with "+" writes only.
t_placement_fresh_root() {
  eq "root subtree_control before" "$(cat $CG/cgroup.subtree_control)" ""
  create p1 "$SLEEP" '"resources": {"memory": {"limit": 67108864}, "pids": {"limit": 50}}'
  eq memory.max "$(rd $CG/p1/memory.max)" 67108864
  eq pids.max "$(rd $CG/p1/pids.max)" 50
  has cgroup.procs "$(rd $CG/p1/cgroup.procs)" "$(pid_of p1)"
  ok berth delete --force p1
  gone p1
}

# A parent that exists already and enables nothing (as a fresh systemd
# slice may): berth enables what it needs in it, and leaves it in place.
t_placement_existing_parent() {
  mkdir -p $CG/pre/sub
  create p2 "$SLEEP" '"cgroupsPath": "/pre/sub/p2", "resources": {"memory": {"limit": 33554432}, "cpu": {"quota": 20000, "period": 100000}}'
  eq memory.max "$(rd $CG/pre/sub/p2/memory.max)" 33554432
  eq cpu.max "$(rd $CG/pre/sub/p2/cpu.max)" "20000 100000"
  has pre/subtree_control "$(cat $CG/pre/cgroup.subtree_control)" memory
  ok berth delete --force p2
  gone p2 $CG/pre/sub/p2
  [ -d $CG/pre/sub ] || fail "berth removed the pre-existing parent /pre/sub"
}

# Nested cgroupsPaths berth creates itself: removed at delete, parents
# included; a parent another container still uses stays for it.
t_placement_nested() {
  create n1 "$SLEEP" '"cgroupsPath": "/a/b/c/n1", "resources": {"pids": {"limit": 9}}'
  eq pids.max "$(rd $CG/a/b/c/n1/pids.max)" 9
  has a/subtree_control "$(cat $CG/a/cgroup.subtree_control)" pids
  ok berth delete --force n1
  gone n1 $CG/a/b/c/n1
  [ -d $CG/a ] && fail "parent $CG/a left behind"
  create n2 "$SLEEP" '"cgroupsPath": "/x/y/n2", "resources": {"pids": {"limit": 7}}'
  create n3 "$SLEEP" '"cgroupsPath": "/x/y/n3", "resources": {"pids": {"limit": 8}}'
  ok berth delete --force n2
  gone n2 $CG/x/y/n2
  eq n3.pids.max "$(rd $CG/x/y/n3/pids.max)" 8
  ok berth delete --force n3
  gone n3 $CG/x/y/n3
}

# A controller the kernel does not offer below the parent (here: disabled
# in the parent's subtree by someone else beforehand) is named as missing.
t_placement_missing_controller_message() {
  mkdir -p $CG/held
  # A process in it: the kernel refuses its subtree_control any controller.
  sh -c 'echo $$ >/sys/fs/cgroup/held/cgroup.procs; exec sleep 1000' &
  holder=$!
  sleep 0.2
  bundle m1 "$SLEEP" '"cgroupsPath": "/held/m1", "resources": {"memory": {"limit": 33554432}}'
  berth create --bundle /b/m1 m1 >/tmp/m1.out 2>&1
  rc=$?
  out=$(cat /tmp/m1.out)
  kill $holder
  wait
  [ $rc -ne 0 ] || fail "create succeeded: $out"
  echo "$out"
  has message "$out" "linux.resources.memory.limit"
  has message "$out" "memory cgroup controller is not available in $CG/held/m1"
  has message "$out" "$CG/held/cgroup.subtree_control"
  gone m1 $CG/held/m1
}

# ---------------------------------------------------------------- resources

t_resources_memory() {
  create r1 "$SLEEP" '"resources": {"memory": {"limit": 67108864, "reservation": 33554432, "swap": 100663296}}'
  eq memory.max "$(rd $CG/r1/memory.max)" 67108864
  eq memory.low "$(rd $CG/r1/memory.low)" 33554432
  eq memory.swap.max "$(rd $CG/r1/memory.swap.max)" 33554432
}

t_resources_memory_unlimited() {
  create r2 "$SLEEP" '"resources": {"memory": {"limit": -1, "swap": -1}}'
  eq memory.max "$(rd $CG/r2/memory.max)" max
  eq memory.swap.max "$(rd $CG/r2/memory.swap.max)" max
}

t_resources_cpu() {
  create r3 "$SLEEP" '"resources": {"cpu": {"shares": 1024, "quota": 50000, "period": 100000, "burst": 1000, "idle": 0}}'
  eq cpu.weight "$(rd $CG/r3/cpu.weight)" 100
  eq cpu.max "$(rd $CG/r3/cpu.max)" "50000 100000"
  eq cpu.max.burst "$(rd $CG/r3/cpu.max.burst)" 1000
  eq cpu.idle "$(rd $CG/r3/cpu.idle)" 0
}

t_resources_cpu_shares_mapping() {
  create r4 "$SLEEP" '"resources": {"cpu": {"shares": 2}}'
  eq "cpu.weight for shares 2" "$(rd $CG/r4/cpu.weight)" 1
  ok berth delete --force r4
  create r4 "$SLEEP" '"resources": {"cpu": {"shares": 262144}}'
  eq "cpu.weight for shares 262144" "$(rd $CG/r4/cpu.weight)" 10000
}

t_resources_cpuset() {
  create r5 "$SLEEP" '"resources": {"cpu": {"cpus": "0", "mems": "0"}}'
  eq cpuset.cpus "$(rd $CG/r5/cpuset.cpus)" 0
  eq cpuset.mems "$(rd $CG/r5/cpuset.mems)" 0
}

t_resources_pids_enforced() {
  create r6 '["sh", "-c", "(for i in 1 2 3 4 5 6 7 8; do sleep 100 & done) 2>/tmp/err; sleep 1000"]' \
    '"resources": {"pids": {"limit": 4}}'
  i=0
  while [ "$(rd $CG/r6/pids.events | awk '{print $2}')" = 0 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
  eq pids.max "$(rd $CG/r6/pids.max)" 4
  [ "$(rd $CG/r6/pids.current)" -le 4 ] || fail "pids.current $(rd $CG/r6/pids.current) > 4"
  [ "$(rd $CG/r6/pids.events | awk '{print $2}')" -ge 1 ] || fail "no pids.events max"
}

vda() { cat /sys/block/vda/dev; } # MAJOR:MINOR

t_resources_io() {
  [ -b /dev/vda ] || fail "no /dev/vda (virtio_blk not loaded)"
  maj=$(vda | cut -d: -f1)
  min=$(vda | cut -d: -f2)
  # Per-device weights need the iocost controller on for the disk.
  echo "$maj:$min enable=1" >$CG/io.cost.qos || fail "cannot enable iocost on $maj:$min"
  create r7 "$SLEEP" "\"resources\": {\"blockIO\": {\"weight\": 500,
      \"throttleReadBpsDevice\": [{\"major\": $maj, \"minor\": $min, \"rate\": 1048576}],
      \"throttleWriteBpsDevice\": [{\"major\": $maj, \"minor\": $min, \"rate\": 2097152}],
      \"throttleReadIOPSDevice\": [{\"major\": $maj, \"minor\": $min, \"rate\": 100}],
      \"throttleWriteIOPSDevice\": [{\"major\": $maj, \"minor\": $min, \"rate\": 200}],
      \"weightDevice\": [{\"major\": $maj, \"minor\": $min, \"weight\": 100}]}}"
  eq io.max "$(rd $CG/r7/io.max)" "$maj:$min rbps=1048576 wbps=2097152 riops=100 wiops=200"
  if [ -f $CG/r7/io.bfq.weight ]; then
    has io.bfq.weight "$(rd $CG/r7/io.bfq.weight)" "500"
  else
    # 1 + (500 - 10) * 9999 / 990, and 1 + (100 - 10) * 9999 / 990 for the disk
    eq io.weight "$(rd $CG/r7/io.weight | tr '\n' ' ')" "default 4950 $maj:$min 910 "
  fi
}

# With BFQ the weights go to io.bfq.weight as given (no conversion).
t_resources_io_bfq() {
  maj=$(vda | cut -d: -f1)
  min=$(vda | cut -d: -f2)
  grep -qw bfq /sys/block/vda/queue/scheduler || insmod /lib/modules/bfq.ko ||
    fail "cannot load bfq.ko"
  echo bfq >/sys/block/vda/queue/scheduler || fail "cannot select bfq for vda"
  create r13 "$SLEEP" "\"resources\": {\"blockIO\": {\"weight\": 300,
      \"weightDevice\": [{\"major\": $maj, \"minor\": $min, \"weight\": 200}]}}"
  eq io.bfq.weight "$(rd $CG/r13/io.bfq.weight | tr '\n' ' ')" "default 300 $maj:$min 200 "
}

t_resources_hugetlb() {
  [ -f $CG/hugetlb.2MB.max ] || ls $CG/cgroup.controllers >/dev/null
  grep -qw hugetlb $CG/cgroup.controllers || skip "no hugetlb controller"
  create r8 "$SLEEP" '"resources": {"hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}]}'
  eq hugetlb.2MB.max "$(rd $CG/r8/hugetlb.2MB.max)" 4194304
  if [ -f $CG/r8/hugetlb.2MB.rsvd.max ]; then
    eq hugetlb.2MB.rsvd.max "$(rd $CG/r8/hugetlb.2MB.rsvd.max)" 4194304
  fi
}

t_resources_unified() {
  create r9 "$SLEEP" '"resources": {"memory": {"limit": 67108864}, "unified": {"memory.high": "50331648", "pids.max": "33"}}'
  eq memory.high "$(rd $CG/r9/memory.high)" 50331648
  eq pids.max "$(rd $CG/r9/pids.max)" 33
}

t_resources_kernel_refusal_names_field() {
  bundle r10 "$SLEEP" '"resources": {"cpu": {"quota": 500, "period": 100000}}'
  berth create --bundle /b/r10 r10 >/tmp/r10.out 2>&1 && fail "create succeeded"
  out=$(cat /tmp/r10.out)
  has message "$out" "linux.resources.cpu.quota"
  has message "$out" "cpu.max"
  gone r10
}

# What cgroup2 cannot do is refused, naming the field.
t_resources_v2_refusals() {
  for r in '"cpu": {"realtimePeriod": 1000000}|cpu.realtimePeriod' \
    '"network": {"classID": 1}|network' '"memory": {"swap": 1000}|memory.swap'; do
    bundle r12 "$SLEEP" "\"resources\": {${r%%|*}}"
    berth create --bundle /b/r12 r12 >/tmp/r12.out 2>&1 && fail "create with ${r%%|*} succeeded"
    has message "$(cat /tmp/r12.out)" "linux.resources.${r##*|}"
    gone r12
  done
}

t_resources_memory_limit_below_minus_one_refused() {
  bundle r11 "$SLEEP" '"resources": {"memory": {"limit": -2}}'
  berth create --bundle /b/r11 r11 >/tmp/r11.out 2>&1 && fail "create succeeded: $(cat /tmp/r11.out)"
  out=$(cat /tmp/r11.out)
  has message "$out" "linux.resources.memory.limit"
  gone r11
}

# ---------------------------------------------------------------- update

t_update_memory_and_pids() {
  create u1 "$SLEEP" '"resources": {"memory": {"limit": 67108864}, "pids": {"limit": 20}}'
  ok berth update --memory 50331648 --pids-limit 30 u1
  eq memory.max "$(rd $CG/u1/memory.max)" 50331648
  eq pids.max "$(rd $CG/u1/pids.max)" 30
}

# --cpu-period alone keeps the quota in cpu.max; --cpu-quota alone the period.
t_update_cpu_period_alone_keeps_quota() {
  create u2 "$SLEEP" '"resources": {"cpu": {"quota": 30000, "period": 100000}}'
  ok berth update --cpu-period 200000 u2
  eq cpu.max "$(rd $CG/u2/cpu.max)" "30000 200000"
  ok berth update --cpu-quota 40000 u2
  eq cpu.max "$(rd $CG/u2/cpu.max)" "40000 200000"
}

# --memory-swap alone: memory.swap.max = swap - the current memory.max.
t_update_memory_swap_alone() {
  create u3 "$SLEEP" '"resources": {"memory": {"limit": 67108864, "swap": 134217728}}'
  eq memory.swap.max "$(rd $CG/u3/memory.swap.max)" 67108864
  ok berth update --memory-swap 100663296 u3
  eq memory.swap.max "$(rd $CG/u3/memory.swap.max)" 33554432
  eq memory.max "$(rd $CG/u3/memory.max)" 67108864
}

# --memory alone keeps memory+swap (the total) where swap was limited.
t_update_memory_alone_keeps_swap_total() {
  create u4 "$SLEEP" '"resources": {"memory": {"limit": 67108864, "swap": 134217728}}'
  ok berth update --memory 33554432 u4
  eq memory.max "$(rd $CG/u4/memory.max)" 33554432
  eq memory.swap.max "$(rd $CG/u4/memory.swap.max)" 100663296
}

# A refused update leaves the values as they were (the refused write is
# the last: unified keys come after the translated ones).
t_update_failure_restores_old_values() {
  create u5 "$SLEEP" '"resources": {"memory": {"limit": 67108864}, "pids": {"limit": 20}, "cpu": {"quota": 30000, "period": 100000}}'
  cat >/tmp/u5.json <<EOF
{"memory": {"limit": 50331648}, "pids": {"limit": 40}, "unified": {"cpu.max": "500 100000"}}
EOF
  berth update -r /tmp/u5.json u5 2>/tmp/u5.err && fail "update with quota 500 succeeded"
  cat /tmp/u5.err
  eq pids.max "$(rd $CG/u5/pids.max)" 20
  eq memory.max "$(rd $CG/u5/memory.max)" 67108864
  eq cpu.max "$(rd $CG/u5/cpu.max)" "30000 100000"
}

# An update of a controller the container was created without.
t_update_enables_new_controller() {
  create u6 "$SLEEP"
  ok berth update --memory 50331648 u6
  eq memory.max "$(rd $CG/u6/memory.max)" 50331648
}

# ---------------------------------------------------------------- freezer, kill

t_freezer_pause_resume() {
  create f1 "$SLEEP"
  ok berth pause f1
  eq cgroup.freeze "$(rd $CG/f1/cgroup.freeze)" 1
  has cgroup.events "$(rd $CG/f1/cgroup.events)" "frozen 1"
  eq status "$(status_of f1)" paused
  ok berth resume f1
  has cgroup.events "$(rd $CG/f1/cgroup.events)" "frozen 0"
  eq status "$(status_of f1)" running
}

# kill --all reaches every process, also ones in sub-cgroups the container made.
t_kill_all() {
  create k1 '["sh", "-c", "sleep 1000 & sleep 1000 & wait"]'
  i=0
  while [ "$(wc -l <$CG/k1/cgroup.procs)" -lt 3 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
  ok berth kill --all k1 KILL
  i=0
  while [ -n "$(cat $CG/k1/cgroup.procs)" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
  eq "cgroup.procs after kill --all" "$(cat $CG/k1/cgroup.procs)" ""
  has cgroup.events "$(rd $CG/k1/cgroup.events)" "populated 0"
}

# Without a pid namespace the init's death takes nobody with it: delete
# --force kills the rest through cgroup.kill (and the pid list).
t_delete_force_without_pid_namespace() {
  NAMESPACES='[{"type": "mount"}]' create k2 '["sh", "-c", "sleep 1000 & sleep 1000 & wait"]'
  i=0
  while [ "$(wc -l <$CG/k2/cgroup.procs)" -lt 3 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
  pids=$(cat $CG/k2/cgroup.procs)
  ok berth pause k2
  ok berth delete --force k2
  gone k2
  for q in $pids; do [ -d /proc/$q ] && fail "process $q left"; done
  return 0
}

# delete --force of a paused container: thawed, killed, nothing left.
t_delete_force_paused() {
  create d1 '["sh", "-c", "sleep 1000 & wait"]'
  ok berth pause d1
  p=$(pid_of d1)
  ok berth delete --force d1
  gone d1
  [ -d /proc/$p ] && fail "process $p left"
  return 0
}

# delete --force when someone else froze a cgroup inside the container's.
t_delete_force_frozen_by_other() {
  create d2 '["sleep", "1000"]'
  p=$(pid_of d2)
  ok mkdir $CG/d2/inner
  # The init may not move (it is the container's); a child of it can.
  ok berth exec d2 sh -c 'sleep 1000 & echo $! >/tmp/pid; wait' &
  i=0
  while [ "$(wc -l <$CG/d2/cgroup.procs)" -lt 3 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
  for q in $(cat $CG/d2/cgroup.procs); do
    [ "$q" = "$p" ] || echo "$q" >$CG/d2/inner/cgroup.procs
  done
  echo 1 >$CG/d2/inner/cgroup.freeze
  sleep 0.2
  has inner.cgroup.events "$(rd $CG/d2/inner/cgroup.events)" "frozen 1"
  ok berth delete --force d2
  gone d2
  [ -d /proc/$p ] && fail "process $p left"
  wait
  return 0
}

# ---------------------------------------------------------------- devices

t_devices_default_deny() {
  out=$(bundle v1 '["sh", "-c", "mknod /tmp/vda b 254 0 && head -c 1 /tmp/vda >/dev/null && echo readable"]' \
    '"resources": {"devices": [{"allow": false, "access": "rwm"}]}' && berth run --bundle /b/v1 v1 2>&1)
  case "$out" in *readable*) fail "a denied block device was readable: $out" ;; esac
  has "open error" "$out" "Operation not permitted"
}

t_devices_allow_rule() {
  maj=$(vda | cut -d: -f1)
  min=$(vda | cut -d: -f2)
  out=$(bundle v2 "[\"sh\", \"-c\", \"mknod /tmp/vda b $maj $min && head -c 1 /tmp/vda >/dev/null && echo readable\"]" \
    "\"resources\": {\"devices\": [{\"allow\": false, \"access\": \"rwm\"}, {\"allow\": true, \"type\": \"b\", \"major\": $maj, \"minor\": $min, \"access\": \"rm\"}]}" &&
    berth run --bundle /b/v2 v2 2>&1)
  has "allowed read" "$out" readable
}

# The last matching rule wins: allow all, then deny the disk.
t_devices_last_match_wins() {
  maj=$(vda | cut -d: -f1)
  min=$(vda | cut -d: -f2)
  out=$(bundle v3 "[\"sh\", \"-c\", \"mknod /tmp/vda b $maj $min; head -c 1 /tmp/vda >/dev/null && echo readable; head -c 1 /dev/null && echo null-ok\"]" \
    "\"resources\": {\"devices\": [{\"allow\": true, \"access\": \"rwm\"}, {\"allow\": false, \"type\": \"b\", \"major\": $maj, \"minor\": $min, \"access\": \"rwm\"}]}" &&
    berth run --bundle /b/v3 v3 2>&1)
  case "$out" in *readable*) fail "denied by the last rule, yet readable: $out" ;; esac
  has "other devices" "$out" null-ok
}

# A linux.devices entry does not get an allow rule after the user's rules:
# a deny rule for it stays in force (runc makes rules of its defaults only).
t_devices_linux_devices_keep_user_deny() {
  maj=$(vda | cut -d: -f1)
  min=$(vda | cut -d: -f2)
  out=$(bundle v4 '["sh", "-c", "head -c 1 /dev/vda >/dev/null && echo readable; echo done"]' \
    "\"devices\": [{\"path\": \"/dev/vda\", \"type\": \"b\", \"major\": $maj, \"minor\": $min}],
     \"resources\": {\"devices\": [{\"allow\": false, \"access\": \"rwm\"}, {\"allow\": false, \"type\": \"b\", \"major\": $maj, \"minor\": $min, \"access\": \"rwm\"}]}" &&
    berth run --bundle /b/v4 v4 2>&1)
  has ran "$out" done
  case "$out" in *readable*) fail "the user's deny rule for /dev/vda was overridden: $out" ;; esac
  return 0
}

# ---------------------------------------------------------------- OOM, stats

# The init itself is OOM-killed: `berth events` reports the oom event.
t_oom_event_of_init() {
  # The kernel counts the kill at once but notifies memory.events later:
  # a few rounds, each of which must report it.
  for round in 1 2 3 4 5 6 7 8 9 10; do
    bundle o1 '["sh", "-c", "x=0123456789; while :; do x=$x$x; done"]' \
      '"resources": {"memory": {"limit": 16777216, "swap": 16777216}}'
    ok berth create --bundle /b/o1 o1
    berth events o1 >/tmp/o1.events 2>&1 &
    ev=$!
    sleep 0.3
    ok berth start o1
    p=$(pid_of o1)
    i=0
    while [ -d /proc/$p ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    i=0
    while kill -0 $ev 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
    kill $ev 2>/dev/null
    has "round $round: memory.events oom_kill" "$(rd $CG/o1/memory.events)" "oom_kill 1"
    grep -q '"type":"oom"' /tmp/o1.events ||
      fail "round $round: berth events printed no oom event ($(grep -c stats /tmp/o1.events) stats)"
    ok berth delete --force o1
  done
}

t_stats() {
  create s1 "$SLEEP" '"resources": {"memory": {"limit": 67108864}, "pids": {"limit": 10}, "cpu": {"quota": 50000, "period": 100000}}'
  out=$(berth events --stats s1) || fail "events --stats: $out"
  echo "$out"
  has type "$out" '"type":"stats"'
  has pids "$out" '"pids":{"current":1,"limit":10}'
  has memory.limit "$(echo "$out" | tr -d ' ')" '"limit":67108864'
  has cpu "$out" '"cpu":'
}

# ---------------------------------------------------------------- run them

if grep -qw berth_vm_preenable /proc/cmdline; then
  echo "+cpu +cpuset +io +memory +pids +hugetlb" >$CG/cgroup.subtree_control
fi

for t in placement_fresh_root placement_existing_parent placement_nested \
  placement_missing_controller_message \
  resources_memory resources_memory_unlimited resources_cpu resources_cpu_shares_mapping \
  resources_cpuset resources_pids_enforced resources_io resources_io_bfq resources_hugetlb \
  resources_unified \
  resources_kernel_refusal_names_field resources_v2_refusals \
  resources_memory_limit_below_minus_one_refused \
  update_memory_and_pids update_cpu_period_alone_keeps_quota update_memory_swap_alone \
  update_memory_alone_keeps_swap_total update_failure_restores_old_values \
  update_enables_new_controller \
  freezer_pause_resume kill_all delete_force_paused delete_force_frozen_by_other \
  delete_force_without_pid_namespace \
  devices_default_deny devices_allow_rule devices_last_match_wins \
  devices_linux_devices_keep_user_deny \
  oom_event_of_init stats; do
  # berth_vm_only=NAME on the kernel command line (VM_APPEND): one case.
  case " $(cat /proc/cmdline) " in
    *" berth_vm_only="*) grep -qw "berth_vm_only=$t" /proc/cmdline || continue ;;
  esac
  run_test "$t"
done
echo DONE
