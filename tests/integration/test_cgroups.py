"""cgroups: linux.resources applied at create, update, pause/resume, ps,
events, device rules (v1 files and the cgroup2 eBPF program), and the v1, v2
and hybrid back ends.

This host is hybrid (v1 controllers, cgroup2 at /sys/fs/cgroup/unified with
no controller enabled). Pure v1 and pure v2 are tested by running berth in a
private mount namespace whose /sys/fs/cgroup is rearranged (the host's
mounts are never touched): for v2, the host's own cgroup2 hierarchy is
mounted at /sys/fs/cgroup, so the container's cgroup is
/sys/fs/cgroup/unified/ID seen from the host. No controller is enabled
there, so cgroup2 resource files are absent: those tests check freezing,
ps, stats, the device eBPF program and the errors for absent files.
"""
import json
import os
import select
import subprocess
import tempfile
import time

import pytest

from conftest import BERTH, wait_for

CG = "/sys/fs/cgroup"

# A shell for berth with a pure cgroup2 or pure v1 /sys/fs/cgroup, in a
# private mount namespace (unshare's default propagation is private, so
# nothing reaches the host).
V2_SETUP = "umount -l /sys/fs/cgroup && mount -t cgroup2 cgroup2 /sys/fs/cgroup && exec \"$@\""
V1_SETUP = "umount -l /sys/fs/cgroup/unified && exec \"$@\""


def read(path):
    with open(path) as f:
        return f.read().strip()


def set_config(berth, args, resources=None, cgroups_path=None, caps=()):
    spec = berth.config()
    spec["process"]["args"] = list(args)
    if resources is not None:
        spec["linux"]["resources"] = resources
    if cgroups_path is not None:
        spec["linux"]["cgroupsPath"] = cgroups_path
    for cap in caps:
        for kind in ("bounding", "effective", "permitted"):
            if cap not in spec["process"]["capabilities"][kind]:
                spec["process"]["capabilities"][kind].append(cap)
    berth.write_config(spec)


def create(berth, args, resources=None, cgroups_path=None, start=False):
    set_config(berth, args, resources, cgroups_path)
    cid = berth.new_id()
    berth.run("create", "--bundle", berth.bundle, cid, check=True)
    if start:
        berth.run("start", cid, check=True)
    return cid


def run_ok(berth, script, resources=None, caps=()):
    set_config(berth, ["sh", "-c", script], resources, caps=caps)
    p = berth.run("run", "--bundle", berth.bundle, berth.new_id())
    assert p.returncode == 0, f"exit {p.returncode}: {p.stdout} {p.stderr}"
    return p.stdout


def saved_state(berth, cid):
    with open(os.path.join(berth.root, cid, "state.json")) as f:
        return json.load(f)


def run_in(setup, berth, *args, input=None, timeout=60):
    """berth ARGS in a private mount namespace prepared by `setup`."""
    cmd = ["unshare", "-m", "--propagation", "private", "sh", "-c", setup, "sh",
           *berth.cmd(*args)]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        p = subprocess.run(cmd, stdout=out, stderr=err, timeout=timeout,
                           input=input.encode() if input is not None else None,
                           stdin=None if input is not None else subprocess.DEVNULL)
        out.seek(0)
        err.seek(0)
        return subprocess.CompletedProcess(cmd, p.returncode, out.read().decode(),
                                           err.read().decode())


def v2(berth, *args, **kw):
    return run_in(V2_SETUP, berth, *args, **kw)


def v1(berth, *args, **kw):
    return run_in(V1_SETUP, berth, *args, **kw)


# ---- resources at create (hybrid host: v1 controllers) ----

def test_state_records_mode_and_paths(berth):
    cid = create(berth, ["sleep", "1000"])
    st = saved_state(berth, cid)
    assert st["cgroupMode"] == "hybrid"
    paths = st["cgroupPaths"]
    assert paths["memory"] == f"{CG}/memory/{cid}"
    assert paths["unified"] == f"{CG}/unified/{cid}"
    pid = berth.state(cid)["pid"]
    # hybrid: the init is in every v1 hierarchy and in the cgroup2 one
    for path in paths.values():
        assert str(pid) in read(f"{path}/cgroup.procs").split()
    berth.run("delete", "--force", cid, check=True)
    for path in paths.values():
        assert not os.path.exists(path)


def test_memory_limit_in_cgroup_and_inside_container(berth):
    limit = 64 * 1024 * 1024
    out = run_ok(berth, "cat /sys/fs/cgroup/memory/memory.limit_in_bytes",
                 {"memory": {"limit": limit, "reservation": limit // 2}})
    assert int(out) == limit
    cid = create(berth, ["sleep", "1000"], {"memory": {"limit": limit, "swap": 2 * limit,
                                                       "swappiness": 10}})
    d = f"{CG}/memory/{cid}"
    assert int(read(f"{d}/memory.limit_in_bytes")) == limit
    assert int(read(f"{d}/memory.memsw.limit_in_bytes")) == 2 * limit
    assert read(f"{d}/memory.swappiness") == "10"
    berth.run("delete", "--force", cid, check=True)


def test_disable_oom_killer(berth):
    cid = create(berth, ["sleep", "1000"], {"memory": {"limit": 1 << 26,
                                                       "disableOOMKiller": True}})
    assert "oom_kill_disable 1" in read(f"{CG}/memory/{cid}/memory.oom_control")
    berth.run("delete", "--force", cid, check=True)


def test_cpu_quota_period_shares(berth):
    cid = create(berth, ["sleep", "1000"],
                 {"cpu": {"shares": 512, "quota": 25000, "period": 50000}})
    d = f"{CG}/cpu/{cid}"
    assert read(f"{d}/cpu.shares") == "512"
    assert read(f"{d}/cpu.cfs_quota_us") == "25000"
    assert read(f"{d}/cpu.cfs_period_us") == "50000"
    berth.run("delete", "--force", cid, check=True)


def test_cpu_shares_out_of_range_is_an_error(berth):
    set_config(berth, ["true"], {"cpu": {"shares": 1}})
    p = berth.run("run", "--bundle", berth.bundle, berth.new_id())
    assert p.returncode != 0
    assert "linux.resources.cpu.shares" in p.stderr and "cpu.shares to 2" in p.stderr


def test_cpuset(berth):
    if os.cpu_count() < 2:
        pytest.skip("needs two CPUs")
    out = run_ok(berth, "grep Cpus_allowed_list /proc/self/status; "
                        "cat /sys/fs/cgroup/cpuset/cpuset.cpus",
                 {"cpu": {"cpus": "1", "mems": "0"}})
    assert out.split() == ["Cpus_allowed_list:", "1", "1"]


def test_pids_limit_is_enforced(berth):
    # A subshell forks sleeps until the kernel says no (busybox sh then
    # gives up); the container's init stays.
    script = ("(for i in 1 2 3 4 5 6 7 8 9 10 11 12; do sleep 100 & done) 2>/dev/shm/err; "
              "cat /sys/fs/cgroup/pids/pids.max > /dev/shm/m; mv /dev/shm/m /dev/shm/max; sleep 1000")
    cid = create(berth, ["sh", "-c", script], {"pids": {"limit": 6}}, start=True)
    root = f"/proc/{berth.state(cid)['pid']}/root"
    assert wait_for(lambda: os.path.exists(f"{root}/dev/shm/max"), timeout=10)
    assert read(f"{root}/dev/shm/max") == "6"
    assert "can't fork" in read(f"{root}/dev/shm/err")
    assert int(read(f"{CG}/pids/{cid}/pids.current")) <= 6
    assert int(read(f"{CG}/pids/{cid}/pids.events").split()[-1]) >= 1  # "max N": refusals
    berth.run("delete", "--force", cid, check=True)


def blkio_weight_file(cid):
    for name in ("blkio.weight", "blkio.bfq.weight"):
        if os.path.exists(f"{CG}/blkio/{cid}/{name}"):
            return f"{CG}/blkio/{cid}/{name}"
    return None


def test_blkio_weight(berth):
    cid = create(berth, ["sleep", "1000"], {"blockIO": {"weight": 300}})
    path = blkio_weight_file(cid)
    if path is None:
        berth.run("delete", "--force", cid, check=True)
        pytest.skip("no blkio.weight nor blkio.bfq.weight (neither CFQ nor BFQ in the kernel)")
    assert read(path).split()[-1] == "300"
    berth.run("delete", "--force", cid, check=True)


def test_kernel_rejection_names_field_file_and_value(berth):
    cid = berth.new_id()
    set_config(berth, ["sleep", "1000"], {"cpu": {"quota": 500, "period": 100000}})
    p = berth.run("create", "--bundle", berth.bundle, cid)
    assert p.returncode != 0
    assert (f'linux.resources.cpu.quota: write "500" to {CG}/cpu/{cid}/cpu.cfs_quota_us: '
            "Invalid argument") in p.stderr
    # create undid everything (the fixture also checks for cgroups left)
    assert berth.run("state", cid).returncode != 0
    assert not os.path.exists(f"{CG}/cpu/{cid}")


def test_memory_limit_too_low_for_the_init(berth):
    cid = berth.new_id()
    set_config(berth, ["true"], {"memory": {"limit": 12}})
    p = berth.run("run", "--bundle", berth.bundle, cid)
    assert p.returncode != 0
    # Either the kernel refuses the value (usage above it) or the init is
    # OOM-killed before it runs anything; both say why.
    assert ("killed by the OOM killer during setup: linux.resources.memory.limit" in p.stderr
            or f'write "12" to {CG}/memory/{cid}/memory.limit_in_bytes' in p.stderr), p.stderr


def test_missing_controller_is_named(berth):
    set_config(berth, ["true"], {"network": {"classID": 1}})
    p = berth.run("run", "--bundle", berth.bundle, berth.new_id())
    assert p.returncode != 0
    assert "linux.resources.network.classID: the net_cls cgroup controller is not mounted" \
        in p.stderr


def test_hybrid_writes_unified_keys_to_the_cgroup2_dir(berth):
    cid = create(berth, ["sleep", "1000"], {"unified": {"cgroup.max.descendants": "3"}})
    assert read(f"{CG}/unified/{cid}/cgroup.max.descendants") == "3"
    berth.run("delete", "--force", cid, check=True)


# ---- devices (v1 devices controller) ----

# Makes a /dev/fuse node (c 10:229: not a default device) and tries it.
DEVICE_SCRIPT = ("mknod /dev/fusex c 10 229; "
                 "(: < /dev/fusex) 2>&1 && echo read-ok; "
                 "(: > /dev/fusex) 2>&1 && echo write-ok; "
                 "head -c 3 /dev/zero | wc -c; : > /dev/null && echo null-ok")


def test_devices_default_denies_other_devices(berth):
    out = run_ok(berth, DEVICE_SCRIPT, {}, caps=["CAP_MKNOD"])
    assert "read-ok" not in out and "write-ok" not in out
    assert out.count("Operation not permitted") == 2
    assert "3\nnull-ok" in out  # default devices stay usable


def test_devices_rules_apply_in_order(berth):
    rules = [{"allow": False, "access": "rwm"},
             {"allow": True, "type": "c", "major": 10, "minor": 229, "access": "rw"},
             {"allow": False, "type": "c", "major": 10, "minor": 229, "access": "w"}]
    out = run_ok(berth, DEVICE_SCRIPT, {"devices": rules}, caps=["CAP_MKNOD"])
    assert "read-ok" in out
    assert "write-ok" not in out and "Operation not permitted" in out
    cid = create(berth, ["sleep", "1000"], {"devices": rules})
    listed = read(f"{CG}/devices/{cid}/devices.list").split("\n")
    assert "c 10:229 r" in listed and "c 1:3 rwm" in listed
    berth.run("delete", "--force", cid, check=True)


def test_v1_devices_last_match_wins(berth):
    # A wider deny after a narrow allow: the v1 kernel only removes an
    # exception of exactly the same pattern, so written rule by rule the
    # allow for 10:229 would stay; the eBPF program (v2) denies it.
    rules = [{"allow": False, "access": "rwm"},
             {"allow": True, "type": "c", "major": 10, "minor": 229, "access": "rwm"},
             {"allow": False, "type": "c", "access": "rw"}]
    out = run_ok(berth, DEVICE_SCRIPT, {"devices": rules}, caps=["CAP_MKNOD"])
    assert "read-ok" not in out and "write-ok" not in out, out
    assert "3\nnull-ok" in out  # the defaults come after the config's rules
    cid = create(berth, ["sleep", "1000"], {"devices": rules})
    listed = read(f"{CG}/devices/{cid}/devices.list").split("\n")
    assert "c 10:229 m" in listed and "c 10:229 rwm" not in listed, listed
    berth.run("delete", "--force", cid, check=True)


def test_v1_devices_inexpressible_rule_is_refused(berth):
    set_config(berth, ["true"], {"devices": [
        {"allow": False, "access": "rwm"},
        {"allow": True, "type": "b", "major": 8, "access": "rw"},
        {"allow": False, "type": "b", "major": 8, "minor": 16, "access": "w"}]})
    p = berth.run("run", "--bundle", berth.bundle, berth.new_id())
    assert p.returncode != 0
    assert "linux.resources.devices[2]" in p.stderr and "cannot express" in p.stderr, p.stderr


def test_devices_spec_deny_of_default_device_does_not_stick(berth):
    # As runc and crun: the default devices are allowed after the config's
    # rules, so docker's and podman's leading "deny all" keeps /dev/null.
    out = run_ok(berth, "head -c 3 /dev/zero | wc -c",
                 {"devices": [{"allow": False, "access": "rwm"},
                              {"allow": False, "type": "c", "major": 1, "minor": 5,
                               "access": "rwm"}]})
    assert out.strip() == "3"


# ---- update ----

def test_update_flags(berth):
    cid = create(berth, ["sleep", "1000"], {"memory": {"limit": 64 << 20}}, start=True)
    berth.run("update", "--memory", "128M", "--memory-swap", "256M", "--memory-reservation",
              "32M", "--cpu-quota", "30000", "--cpu-period", "60000", "--cpu-share", "256",
              "--cpuset-cpus", "0", "--pids-limit", "42", cid, check=True)
    assert int(read(f"{CG}/memory/{cid}/memory.limit_in_bytes")) == 128 << 20
    assert int(read(f"{CG}/memory/{cid}/memory.memsw.limit_in_bytes")) == 256 << 20
    assert int(read(f"{CG}/memory/{cid}/memory.soft_limit_in_bytes")) == 32 << 20
    assert read(f"{CG}/cpu/{cid}/cpu.cfs_quota_us") == "30000"
    assert read(f"{CG}/cpu/{cid}/cpu.cfs_period_us") == "60000"
    assert read(f"{CG}/cpu/{cid}/cpu.shares") == "256"
    assert read(f"{CG}/cpuset/{cid}/cpuset.cpus") == "0"
    assert read(f"{CG}/pids/{cid}/pids.max") == "42"
    # shrinking memory below the old memsw works too (order of the writes)
    berth.run("update", "--memory", "16M", "--memory-swap", "20M", cid, check=True)
    assert int(read(f"{CG}/memory/{cid}/memory.limit_in_bytes")) == 16 << 20
    if blkio_weight_file(cid):
        berth.run("update", "--blkio-weight", "700", cid, check=True)
        assert read(blkio_weight_file(cid)).split()[-1] == "700"
    berth.run("delete", "--force", cid, check=True)


def test_update_resources_from_stdin(berth):
    cid = create(berth, ["sleep", "1000"], start=True)
    doc = {"memory": {"limit": 100 << 20}, "cpu": {"shares": 2048}, "pids": {"limit": 0},
           "devices": [{"allow": True, "access": "rwm"}]}
    berth.run("update", "--resources=-", cid, input=json.dumps(doc), check=True)
    assert int(read(f"{CG}/memory/{cid}/memory.limit_in_bytes")) == 100 << 20
    assert read(f"{CG}/cpu/{cid}/cpu.shares") == "2048"
    assert read(f"{CG}/pids/{cid}/pids.max") == "max"  # 0 leaves it alone
    # devices are not updated (as runc)
    assert "a *:* rwm" not in read(f"{CG}/devices/{cid}/devices.list")
    berth.run("delete", "--force", cid, check=True)


def test_update_resources_file_and_errors(berth, tmp_path):
    cid = create(berth, ["sleep", "1000"], start=True)
    f = tmp_path / "r.json"
    f.write_text(json.dumps({"pids": {"limit": 9}}))
    berth.run("update", "-r", str(f), cid, check=True)
    assert read(f"{CG}/pids/{cid}/pids.max") == "9"
    f.write_text('{"memory": {"limit": "big"}}')
    p = berth.run("update", "--resources", str(f), cid)
    assert p.returncode != 0 and "--resources: memory.limit: must be an integer" in p.stderr
    p = berth.run("update", "--cpu-quota", "500", cid)
    assert p.returncode != 0
    assert f'write "500" to {CG}/cpu/{cid}/cpu.cfs_quota_us' in p.stderr
    p = berth.run("update", "--memory", "lots", cid)
    assert p.returncode != 0 and "--memory" in p.stderr
    stop(berth, cid)
    p = berth.run("update", "--pids-limit", "5", cid)
    assert p.returncode != 0 and "container not running" in p.stderr
    berth.run("delete", cid, check=True)


def test_update_check_before_update(berth):
    cid = create(berth, ["sh", "-c", "head -c 20m /dev/zero | tail; sleep 1000"], start=True)
    usage = lambda: int(read(f"{CG}/memory/{cid}/memory.usage_in_bytes"))
    assert wait_for(lambda: usage() > 8 << 20, timeout=10)
    doc = {"memory": {"limit": 1 << 20, "checkBeforeUpdate": True}}
    p = berth.run("update", "--resources", "-", cid, input=json.dumps(doc))
    assert p.returncode != 0 and "below the current usage" in p.stderr
    berth.run("delete", "--force", cid, check=True)


# ---- pause / resume ----

def proc_states(cid):
    pids = read(f"{CG}/pids/{cid}/cgroup.procs").split()
    return [read(f"/proc/{p}/stat").rsplit(")", 1)[1].split()[0] for p in pids]


def test_pause_resume(berth):
    cid = create(berth, ["sh", "-c", "sleep 1000 & sleep 1000"], start=True)
    assert wait_for(lambda: len(read(f"{CG}/pids/{cid}/cgroup.procs").split()) == 2)
    berth.run("pause", cid, check=True)
    assert berth.state(cid)["status"] == "paused"
    assert read(f"{CG}/freezer/{cid}/freezer.state") == "FROZEN"
    assert all(s in ("D", "T") for s in proc_states(cid)), proc_states(cid)
    assert '"paused"' in berth.run("list", "--format", "json").stdout
    p = berth.run("pause", cid)
    assert p.returncode != 0 and "container not running" in p.stderr
    berth.run("resume", cid, check=True)
    assert berth.state(cid)["status"] == "running"
    assert read(f"{CG}/freezer/{cid}/freezer.state") == "THAWED"
    assert all(s == "S" for s in proc_states(cid))
    p = berth.run("resume", cid)
    assert p.returncode != 0 and "container not paused" in p.stderr
    berth.run("delete", "--force", cid, check=True)


def stop(berth, cid):
    berth.run("kill", cid, "KILL", check=True)
    assert wait_for(lambda: berth.state(cid)["status"] == "stopped")


def test_pause_created_container_and_stopped_errors(berth):
    cid = create(berth, ["sleep", "1000"])
    berth.run("pause", cid, check=True)
    assert berth.state(cid)["status"] == "paused"
    berth.run("resume", cid, check=True)
    assert berth.state(cid)["status"] == "created"
    berth.run("start", cid, check=True)
    assert berth.state(cid)["status"] == "running"
    stop(berth, cid)
    for cmd in ("pause", "resume"):
        p = berth.run(cmd, cid)
        assert p.returncode != 0 and "container not running" in p.stderr
    berth.run("delete", cid, check=True)
    p = berth.run("pause", cid)
    assert p.returncode != 0 and "does not exist" in p.stderr


def test_delete_force_paused_container(berth):
    cid = create(berth, ["sh", "-c", "sleep 1000 & sleep 1000"], start=True)
    pid = berth.state(cid)["pid"]
    berth.run("pause", cid, check=True)
    started = time.time()
    berth.run("delete", "--force", cid, check=True)
    assert time.time() - started < 5
    assert not os.path.exists(f"/proc/{pid}") or read(f"/proc/{pid}/stat").split()[2] == "Z"
    assert not os.path.exists(f"{CG}/freezer/{cid}")


def test_delete_force_frozen_by_someone_else_in_a_subcgroup(berth):
    # A freezer cgroup inside the container's, frozen by another tool: the
    # frozen process holds the pid namespace (and the cgroup) until thawed.
    cid = create(berth, ["sleep", "1000"], start=True)
    pid = berth.state(cid)["pid"]
    pid_file = os.path.join(berth.bundle, "frozen.pid")
    berth.run("exec", "-d", "--pid-file", pid_file, cid, "sleep", "1000", check=True)
    frozen = int(read(pid_file))
    inner = f"{CG}/freezer/{cid}/inner"
    os.mkdir(inner)
    with open(f"{inner}/cgroup.procs", "w") as f:
        f.write(str(frozen))
    with open(f"{inner}/freezer.state", "w") as f:
        f.write("FROZEN")
    assert wait_for(lambda: read(f"{inner}/freezer.state") == "FROZEN")
    try:
        started = time.time()
        p = berth.run("delete", "--force", cid)
        assert p.returncode == 0, p.stderr
        assert time.time() - started < 5
        for q in (pid, frozen):
            assert wait_for(lambda: not os.path.exists(f"/proc/{q}") or
                            read(f"/proc/{q}/stat").split(")")[1].split()[0] == "Z"), q
        assert not os.path.exists(f"{CG}/freezer/{cid}")
        assert not os.path.exists(f"{CG}/pids/{cid}")
        assert not os.path.exists(os.path.join(berth.root, cid))
    finally:  # what a berth without the fix leaves: thaw it for the cleanup
        if os.path.exists(inner):
            with open(f"{inner}/freezer.state", "w") as f:
                f.write("THAWED")
            os.kill(frozen, 9)
            wait_for(lambda: not read(f"{inner}/cgroup.procs"))
            os.rmdir(inner)
            berth.run("delete", "--force", cid)


def test_delete_force_container_frozen_by_someone_else(berth):
    # Its own freezer cgroup frozen directly, not through berth pause.
    cid = create(berth, ["sh", "-c", "sleep 1000 & sleep 1000"], start=True)
    pid = berth.state(cid)["pid"]
    with open(f"{CG}/freezer/{cid}/freezer.state", "w") as f:
        f.write("FROZEN")
    assert wait_for(lambda: read(f"{CG}/freezer/{cid}/freezer.state") == "FROZEN")
    p = berth.run("delete", "--force", cid)
    assert p.returncode == 0, p.stderr
    assert wait_for(lambda: not os.path.exists(f"/proc/{pid}") or
                    read(f"/proc/{pid}/stat").split(")")[1].split()[0] == "Z")
    assert not os.path.exists(f"{CG}/freezer/{cid}")
    assert not os.path.exists(os.path.join(berth.root, cid))


def test_use_hierarchy_false_is_not_written_where_the_kernel_refuses_it(berth):
    # Since Linux 5.11 memory cgroups are always hierarchical and writing 0
    # to memory.use_hierarchy fails with EINVAL.
    cid = create(berth, ["sleep", "1000"], {"memory": {"limit": 64 << 20, "useHierarchy": False}})
    assert read(f"{CG}/memory/{cid}/memory.use_hierarchy") == "1"
    berth.run("delete", "--force", cid, check=True)


def test_memory_limit_below_minus_one_is_refused(berth):
    set_config(berth, ["true"], {"memory": {"limit": -2}})
    p = berth.run("run", "--bundle", berth.bundle, berth.new_id())
    assert p.returncode != 0
    assert "linux.resources.memory.limit: must be a number of bytes, or -1" in p.stderr, p.stderr


def test_delete_without_force_refuses_paused(berth):
    cid = create(berth, ["sleep", "1000"], start=True)
    berth.run("pause", cid, check=True)
    p = berth.run("delete", cid)
    assert p.returncode != 0 and "container still running" in p.stderr
    berth.run("delete", "--force", cid, check=True)


# ---- ps ----

def test_ps_json_and_table(berth):
    cid = create(berth, ["sh", "-c", "sleep 1000 & sleep 1000"], start=True)
    assert wait_for(lambda: len(read(f"{CG}/pids/{cid}/cgroup.procs").split()) == 2)
    pids = sorted(int(p) for p in read(f"{CG}/pids/{cid}/cgroup.procs").split())
    out = berth.run("ps", "--format", "json", cid, check=True).stdout
    assert sorted(json.loads(out)) == pids
    table = berth.run("ps", cid, check=True).stdout.strip().split("\n")
    header = table[0].split()
    assert "PID" in header
    col = header.index("PID")
    assert sorted(int(l.split()[col]) for l in table[1:]) == pids
    # go-runc's Top: ps --format table ID <ps options>
    table = berth.run("ps", "--format", "table", cid, "-o", "pid,comm", check=True).stdout
    lines = table.strip().split("\n")
    assert lines[0].split() == ["PID", "COMMAND"]
    assert sorted(int(l.split()[0]) for l in lines[1:]) == pids
    assert all(l.split()[1] == "sleep" for l in lines[1:])
    p = berth.run("ps", cid, "-o", "comm")
    assert p.returncode != 0 and "PID" in p.stderr
    p = berth.run("ps", "--format", "yaml", cid)
    assert p.returncode != 0
    berth.run("delete", "--force", cid, check=True)


# ---- events ----

def test_events_stats_shape(berth):
    cid = create(berth, ["sleep", "1000"], {"memory": {"limit": 64 << 20}, "pids": {"limit": 50}},
                 start=True)
    out = berth.run("events", "--stats", cid, check=True).stdout
    assert out.count("\n") == 1
    e = json.loads(out)
    assert e["type"] == "stats" and e["id"] == cid
    d = e["data"]
    assert set(d["cpu"]["usage"]) >= {"total", "percpu", "kernel", "user"}
    assert d["cpu"]["usage"]["total"] > 0
    assert isinstance(d["cpu"]["throttling"], dict)
    m = d["memory"]
    assert m["usage"]["limit"] == 64 << 20
    assert m["usage"]["usage"] > 0 and "failcnt" in m["usage"]
    for k in ("swap", "kernel"):
        assert "limit" in m[k] and "failcnt" in m[k]
    assert "total_rss" in m["raw"]
    assert d["pids"] == {"current": 1, "limit": 50}
    assert isinstance(d["blkio"], dict) and isinstance(d["hugetlb"], dict)
    berth.run("delete", "--force", cid, check=True)


class EventStream:
    """`berth events` running in the background; lines read with a timeout."""

    def __init__(self, cmd):
        self.p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  stdin=subprocess.DEVNULL)
        self.buf = b""

    def next_event(self, timeout):
        deadline = time.time() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.time()
            if left <= 0 or not select.select([self.p.stdout], [], [], left)[0]:
                return None
            chunk = os.read(self.p.stdout.fileno(), 65536)
            if not chunk:
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def close(self):
        if self.p.poll() is None:
            self.p.kill()
        self.p.wait()
        self.p.stdout.close()
        self.p.stderr.close()


def test_events_stream_stats_and_oom(berth):
    # Waits for a go file in its /dev/shm, then makes tail hold 50 MB in a
    # 16 MB cgroup: the kernel OOM-kills tail, the container goes on.
    script = ("while [ ! -e /dev/shm/go ]; do sleep 0.05; done; "
              "head -c 50m /dev/zero | tail; sleep 1000")
    cid = create(berth, ["sh", "-c", script], {"memory": {"limit": 16 << 20}}, start=True)
    pid = berth.state(cid)["pid"]
    events = EventStream(berth.cmd("events", "--interval", "300ms", cid))
    try:
        first = events.next_event(10)
        assert first and first["type"] == "stats" and first["id"] == cid
        second = events.next_event(5)
        assert second and second["type"] == "stats"  # the interval repeats
        open(f"/proc/{pid}/root/dev/shm/go", "w").close()
        seen = []
        deadline = time.time() + 30
        while time.time() < deadline:
            e = events.next_event(deadline - time.time())
            if e is None:
                break
            seen.append(e["type"])
            if e["type"] == "oom":
                assert e == {"type": "oom", "id": cid}
                break
        assert "oom" in seen, seen
        # the notification can come just before the kill is counted
        assert wait_for(lambda: "oom_kill 1" in read(f"{CG}/memory/{cid}/memory.oom_control"))
        # the stream ends when the container stops
        berth.run("kill", cid, "KILL", check=True)
        events.p.wait(timeout=10)
        assert events.p.returncode == 0
    finally:
        events.close()
    berth.run("delete", cid, check=True)


def test_events_on_stopped_container_fails(berth):
    cid = create(berth, ["sleep", "1000"], start=True)
    stop(berth, cid)
    p = berth.run("events", "--stats", cid)
    assert p.returncode != 0 and "container not running" in p.stderr
    p = berth.run("events", "--interval", "soon", cid)
    assert p.returncode != 0 and "--interval" in p.stderr
    berth.run("delete", cid, check=True)


# ---- cgroupsPath ----

def own_cgroup(controller):
    for line in read("/proc/self/cgroup").split("\n"):
        _, ctrls, path = line.split(":", 2)
        if controller in ctrls.split(","):
            return path
    raise AssertionError(controller)


def test_relative_cgroups_path_is_below_own_cgroup(berth):
    cid = berth.new_id()
    parent = f"berth-rel-{cid}"
    set_config(berth, ["sleep", "1000"], {"pids": {"limit": 7}}, f"{parent}/{cid}")
    berth.run("create", "--bundle", berth.bundle, cid, check=True)
    paths = saved_state(berth, cid)["cgroupPaths"]
    for ctrl in ("memory", "pids", "cpu"):
        base = own_cgroup(ctrl).rstrip("/")
        assert paths[ctrl] == f"{CG}/{ctrl}{base}/{parent}/{cid}"
    assert read(f"{paths['pids']}/pids.max") == "7"
    berth.run("delete", "--force", cid, check=True)
    for ctrl in ("memory", "pids", "cpu"):
        assert not os.path.exists(os.path.dirname(paths[ctrl]))  # the parent berth made too


def test_absolute_cgroups_path(berth):
    cid = berth.new_id()
    parent = f"berth-abs-{cid}"
    set_config(berth, ["sleep", "1000"], None, f"/{parent}/{cid}")
    berth.run("create", "--bundle", berth.bundle, cid, check=True)
    pid = berth.state(cid)["pid"]
    for ctrl in ("memory", "pids", "freezer", "unified"):
        assert str(pid) in read(f"{CG}/{ctrl}/{parent}/{cid}/cgroup.procs").split()
    berth.run("delete", "--force", cid, check=True)
    for ctrl in ("memory", "pids", "freezer", "unified"):
        assert not os.path.exists(f"{CG}/{ctrl}/{parent}")


def test_existing_parent_cgroup_is_kept(berth):
    cid = berth.new_id()
    parent = f"{CG}/pids/berth-keep-{cid}"
    os.mkdir(parent)
    try:
        set_config(berth, ["sleep", "1000"], None, f"/berth-keep-{cid}/{cid}")
        berth.run("create", "--bundle", berth.bundle, cid, check=True)
        berth.run("delete", "--force", cid, check=True)
        assert os.path.isdir(parent)  # not made by berth: left alone
        assert not os.path.exists(f"{parent}/{cid}")
    finally:
        for ctrl in os.listdir(CG):
            d = f"{CG}/{ctrl}/berth-keep-{cid}"
            if os.path.isdir(d):
                os.rmdir(d)


# ---- pure cgroup v2 (private mount namespace) ----

def test_v2_lifecycle_freeze_ps_stats(berth):
    set_config(berth, ["sh", "-c", "sleep 1000 & sleep 1000"],
               {"unified": {"cgroup.max.descendants": "2"}})
    cid = berth.new_id()
    host_dir = f"{CG}/unified/{cid}"
    try:
        p = v2(berth, "create", "--bundle", berth.bundle, cid)
        assert p.returncode == 0, p.stderr
        st = saved_state(berth, cid)
        assert st["cgroupMode"] == "v2"
        assert st["cgroupPaths"] == {"unified": f"{CG}/{cid}"}
        assert read(f"{host_dir}/cgroup.max.descendants") == "2"
        assert v2(berth, "start", cid).returncode == 0
        assert wait_for(lambda: len(read(f"{host_dir}/cgroup.procs").split()) == 2)
        assert v2(berth, "pause", cid).returncode == 0
        assert "frozen 1" in read(f"{host_dir}/cgroup.events")
        assert json.loads(v2(berth, "state", cid).stdout)["status"] == "paused"
        assert v2(berth, "resume", cid).returncode == 0
        assert "frozen 0" in read(f"{host_dir}/cgroup.events")
        assert json.loads(v2(berth, "state", cid).stdout)["status"] == "running"
        pids = json.loads(v2(berth, "ps", "--format", "json", cid).stdout)
        assert sorted(pids) == sorted(int(x) for x in read(f"{host_dir}/cgroup.procs").split())
        e = json.loads(v2(berth, "events", "--stats", cid).stdout)
        assert e["data"]["pids"]["current"] == 2  # counted from cgroup.procs
        assert e["data"]["cpu"]["usage"]["total"] > 0  # cpu.stat is always there
        assert v2(berth, "pause", cid).returncode == 0
        p = v2(berth, "delete", "--force", cid)
        assert p.returncode == 0, p.stderr
        assert not os.path.exists(host_dir)
    finally:
        v2(berth, "delete", "--force", cid)


def test_v2_devices_ebpf_program(berth):
    rules = [{"allow": False, "access": "rwm"},
             {"allow": True, "type": "c", "major": 10, "minor": 229, "access": "r"}]
    set_config(berth, ["sh", "-c", DEVICE_SCRIPT], {"devices": rules}, caps=["CAP_MKNOD"])
    p = v2(berth, "run", "--bundle", berth.bundle, berth.new_id())
    assert p.returncode == 0, p.stderr
    assert "read-ok" in p.stdout
    assert "write-ok" not in p.stdout and "Operation not permitted" in p.stdout
    assert "3\nnull-ok" in p.stdout
    set_config(berth, ["sh", "-c", DEVICE_SCRIPT], {}, caps=["CAP_MKNOD"])
    p = v2(berth, "run", "--bundle", berth.bundle, berth.new_id())
    assert p.returncode == 0, p.stderr
    assert "read-ok" not in p.stdout and p.stdout.count("Operation not permitted") == 2
    assert "3\nnull-ok" in p.stdout


def test_v2_absent_controller_files_are_errors(berth):
    # No controller is enabled for this host's cgroup2 tree (they are bound
    # to v1): a v2 limit cannot be set and says which file is missing.
    cid = berth.new_id()
    set_config(berth, ["true"], {"memory": {"limit": 64 << 20}})
    p = v2(berth, "run", "--bundle", berth.bundle, cid)
    assert p.returncode != 0
    assert (f"linux.resources.memory.limit: the memory cgroup controller is not available in "
            f"{CG}/{cid}: not in {CG}/cgroup.controllers") in p.stderr, p.stderr
    assert not os.path.exists(f"{CG}/unified/{cid}")
    set_config(berth, ["true"], {"memory": {"limit": 64 << 20, "swap": 32 << 20}})
    p = v2(berth, "run", "--bundle", berth.bundle, berth.new_id())
    assert p.returncode != 0 and "linux.resources.memory.swap" in p.stderr


# ---- pure cgroup v1 (private mount namespace) ----

def test_v1_mode(berth):
    set_config(berth, ["sleep", "1000"], {"pids": {"limit": 11}})
    cid = berth.new_id()
    try:
        p = v1(berth, "create", "--bundle", berth.bundle, cid)
        assert p.returncode == 0, p.stderr
        st = saved_state(berth, cid)
        assert st["cgroupMode"] == "v1"
        assert "unified" not in st["cgroupPaths"]
        assert not os.path.exists(f"{CG}/unified/{cid}")
        assert read(f"{CG}/pids/{cid}/pids.max") == "11"
        assert v1(berth, "pause", cid).returncode == 0
        assert read(f"{CG}/freezer/{cid}/freezer.state") == "FROZEN"
        assert v1(berth, "delete", "--force", cid).returncode == 0
    finally:
        v1(berth, "delete", "--force", cid)
    set_config(berth, ["true"], {"unified": {"memory.high": "1"}})
    p = v1(berth, "run", "--bundle", berth.bundle, berth.new_id())
    assert p.returncode != 0
    assert "linux.resources.unified: cgroup v2 settings cannot be applied" in p.stderr


def test_parent_shared_with_a_running_container_is_left_to_it(berth):
    # cgroupsPath /<namespace>/<id>, as containerd sets it: the first
    # container's delete must succeed although its parent still holds the second.
    first, second = berth.new_id(), berth.new_id()
    parent = f"berth-shared-{first}"
    try:
        for cid in (first, second):
            set_config(berth, ["sleep", "1000"], None, f"/{parent}/{cid}")
            berth.run("create", "--bundle", berth.bundle, cid, check=True)
        p = berth.run("delete", "--force", first)
        assert p.returncode == 0, p.stderr
        assert os.path.isdir(f"{CG}/pids/{parent}/{second}")
        assert not os.path.exists(f"{CG}/pids/{parent}/{first}")
        assert berth.run("delete", "--force", second).returncode == 0
        assert not os.path.exists(f"{CG}/pids/{parent}/{second}")
    finally:
        for ctrl in os.listdir(CG):
            d = f"{CG}/{ctrl}/{parent}"
            if os.path.isdir(d):
                os.rmdir(d)


def test_existing_cgroup_with_processes_is_refused(berth):
    # Two containers with one cgroupsPath: the second must not join (and
    # overwrite the limits of) the first's cgroup.
    first, second = berth.new_id(), berth.new_id()
    path = f"/berth-dup-{first}/c"
    set_config(berth, ["sleep", "1000"], {"pids": {"limit": 50}}, path)
    berth.run("create", "--bundle", berth.bundle, first, check=True)
    try:
        set_config(berth, ["sleep", "1000"], {"pids": {"limit": 7}}, path)
        p = berth.run("create", "--bundle", berth.bundle, second)
        assert p.returncode != 0
        assert f"{CG}/pids{path}" in p.stderr or "already exists and has processes" in p.stderr, p.stderr
        assert not os.path.exists(os.path.join(berth.root, second))
        assert read(f"{CG}/pids{path}/pids.max") == "50"
    finally:
        berth.run("delete", "--force", first, check=True)
    assert not os.path.exists(f"{CG}/pids/berth-dup-{first}")


def test_processes_in_the_containers_own_subcgroups_are_killed_and_removed(berth):
    # A container may make cgroups inside its own (systemd, docker-in-docker):
    # kill --all, ps and delete must see and remove those too.
    cid = berth.new_id()
    path = f"/berth-nested-{cid}"
    set_config(berth, ["sleep", "1000"], None, path)
    berth.run("run", "-d", "--bundle", berth.bundle, cid, check=True)
    pid_file = os.path.join(berth.bundle, "nested.pid")
    berth.run("exec", "-d", "--pid-file", pid_file, cid, "sleep", "1000", check=True)
    nested_pid = int(read(pid_file))
    os.mkdir(f"{CG}/pids{path}/inner")
    with open(f"{CG}/pids{path}/inner/cgroup.procs", "w") as f:
        f.write(str(nested_pid))
    ps = berth.run("ps", "--format", "json", cid, check=True)
    assert nested_pid in json.loads(ps.stdout)
    p = berth.run("delete", "--force", cid)
    assert p.returncode == 0, p.stderr
    assert wait_for(lambda: not os.path.exists(f"/proc/{nested_pid}") or
                    read(f"/proc/{nested_pid}/stat").split(")")[1].split()[0] == "Z")
    assert not os.path.exists(f"{CG}/pids{path}")


def test_cpu_period_refused_before_the_quota_is_retried_after_it(berth):
    # Under a parent limited to half a CPU, going from 40000/100000 to
    # 20000/50000 fails if the period is written first (40000/50000 > 0.5):
    # the kernel says EINVAL, and the quota must go first (as runc does).
    cid = berth.new_id()
    parent = f"{CG}/cpu/berth-cpuq-{cid}"
    os.mkdir(parent)
    try:
        with open(f"{parent}/cpu.cfs_quota_us", "w") as f:
            f.write("50000")
        set_config(berth, ["sleep", "1000"], {"cpu": {"quota": 40000, "period": 100000}},
                   f"/berth-cpuq-{cid}/{cid}")
        berth.run("create", "--bundle", berth.bundle, cid, check=True)
        p = berth.run("update", "--cpu-period", "50000", "--cpu-quota", "20000", cid)
        assert p.returncode == 0, p.stderr
        assert read(f"{parent}/{cid}/cpu.cfs_period_us") == "50000"
        assert read(f"{parent}/{cid}/cpu.cfs_quota_us") == "20000"
        berth.run("delete", "--force", cid, check=True)
    finally:
        berth.run("delete", "--force", cid)
        for ctrl in os.listdir(CG):
            d = f"{CG}/{ctrl}/berth-cpuq-{cid}"
            if os.path.isdir(d):
                os.rmdir(d)


# --- The cgroupsPath forms of the two drivers, and --systemd-cgroup on a host
# without systemd (this one): clear errors, nothing left behind. The systemd
# driver itself runs in the systemd VM (tests/vm/run-systemd.sh).

def assert_create_refused(berth, global_args, cgroups_path, expected):
    from conftest import cgroup_dirs_named
    set_config(berth, ["true"], cgroups_path=cgroups_path)
    cid = berth.new_id()
    p = berth.run(*global_args, "create", "--bundle", berth.bundle, cid)
    assert p.returncode != 0
    lines = [l for l in p.stderr.splitlines() if l]
    assert len(lines) == 1 and expected in lines[0], p.stderr
    assert not os.path.exists(os.path.join(berth.root, cid))
    assert cgroup_dirs_named(cid) == []
    return lines[0]


@pytest.mark.skipif(os.path.exists("/run/systemd/system"), reason="systemd runs on this host")
def test_systemd_driver_without_systemd_is_a_clear_error(berth):
    for path in ("", "system.slice:docker:abc", ":berth:x", "-:p:n"):
        assert_create_refused(berth, ["--systemd-cgroup"], path,
                              "--systemd-cgroup: systemd is not running on this host")


def test_systemd_driver_refuses_a_path_naming_the_form(berth):
    for path, why in (("/docker/abc", "is a path"),
                      ("system.slice:abc", "three ':'-separated parts"),
                      ("system:docker:abc", "must end in .slice"),
                      ("a--b.slice:p:n", "cannot lead, trail or repeat"),
                      ("system.slice:docker:", "empty name")):
        msg = assert_create_refused(berth, ["--systemd-cgroup"], path, "linux.cgroupsPath")
        assert why in msg and "slice:prefix:name" in msg, msg


def test_cgroupfs_driver_refuses_the_systemd_form(berth):
    msg = assert_create_refused(berth, [], "system.slice:docker:abc", "linux.cgroupsPath")
    assert "needs --systemd-cgroup" in msg and "/docker/ID" in msg, msg


def test_cgroupfs_start_path_does_not_load_libsystemd(berth):
    # The cgroupfs driver pays nothing for the systemd one: no libsystemd in
    # the process, no bus socket. Seen from inside the container's init (same
    # binary image until execve) would be too late; the runtime's own maps
    # are checked through a prestart hook, which runs while berth is alive.
    spec = berth.config()
    spec["process"]["args"] = ["true"]
    out = os.path.join(os.path.dirname(berth.root), "maps")
    spec["hooks"] = {"prestart": [{"path": "/bin/sh",
                                   "args": ["sh", "-c", f"cat /proc/$PPID/maps > {out}"]}]}
    berth.write_config(spec)
    p = berth.run("run", "--bundle", berth.bundle, berth.new_id())
    assert p.returncode == 0, p.stderr
    with open(out) as f:
        maps = f.read()
    assert "libsystemd" not in maps
    assert "berth" in maps
