"""Process attributes read back from the kernel: scheduler, I/O priority,
personality, time namespace offsets, LSM errors, capability names."""
import os

import pytest

from test_failures import assert_fails_cleanly


def run_ok(berth, script, **spec_changes):
    spec = berth.config()
    for path, value in spec_changes.items():
        section, key = path.split("__")
        spec[section][key] = value
    spec["process"]["args"] = ["sh", "-c", script]
    berth.write_config(spec)
    p = berth.run("run", "--bundle", berth.bundle, berth.new_id())
    assert p.returncode == 0, p.stderr
    return p


def test_scheduler_batch_with_nice(berth):
    p = run_ok(berth, "cat /proc/self/sched | grep -E '^policy'; cut -d' ' -f19 /proc/self/stat",
               process__scheduler={"policy": "SCHED_BATCH", "nice": 5})
    lines = p.stdout.split("\n")
    assert lines[0].split()[-1] == "3"  # SCHED_BATCH
    assert lines[1].strip() == "5"       # nice, field 19 of /proc/PID/stat


def test_io_priority(berth):
    # ioprio is not in /proc; the shell's `ionice` (busybox) reads it back.
    p = run_ok(berth, "ionice -p $$", process__ioPriority={"class": "IOPRIO_CLASS_BE", "priority": 6})
    assert p.stdout == "best-effort: prio 6\n"  # busybox's words for class 2 (BE), level 6


def test_personality_linux32(berth):
    p = run_ok(berth, "uname -m", linux__personality={"domain": "LINUX32"})
    assert p.stdout == "i686\n"  # what x86_64 reports under PER_LINUX32


def test_time_namespace_offsets(berth):
    spec = berth.config()
    spec["linux"]["namespaces"].append({"type": "time"})
    spec["linux"]["timeOffsets"] = {"boottime": {"secs": 86400 * 365, "nanosecs": 0},
                                    "monotonic": {"secs": 1000}}
    spec["process"]["args"] = ["sh", "-c", "cut -d. -f1 /proc/uptime; cat /proc/self/timens_offsets"]
    berth.write_config(spec)
    p = berth.run("run", "--bundle", berth.bundle, berth.new_id())
    assert p.returncode == 0, p.stderr
    uptime = int(p.stdout.split()[0])
    with open("/proc/uptime") as f:
        host_uptime = float(f.read().split()[0])
    assert uptime - host_uptime > 86400 * 364
    offsets = [l.split() for l in p.stdout.splitlines()[1:]]
    assert sorted(offsets) == [["boottime", str(86400 * 365), "0"], ["monotonic", "1000", "0"]]


def test_time_offsets_need_time_namespace(berth):
    spec = berth.config()
    spec["linux"]["timeOffsets"] = {"boottime": {"secs": 5}}
    berth.write_config(spec)
    assert_fails_cleanly(berth, lambda cid: ["create", "--bundle", berth.bundle, cid],
                         "linux.timeOffsets: needs a new time namespace")


def test_lsm_absent_is_a_clear_error(berth):
    apparmor = os.path.exists("/sys/module/apparmor/parameters/enabled") and \
        open("/sys/module/apparmor/parameters/enabled").read().startswith("Y")
    selinux = os.path.exists("/sys/fs/selinux/enforce")
    if apparmor and selinux:
        pytest.skip("AppArmor and SELinux are both enabled: neither can be absent")
    spec = berth.config()
    if not apparmor:
        spec["process"]["apparmorProfile"] = "docker-default"
        berth.write_config(spec)
        assert_fails_cleanly(berth, lambda cid: ["create", "--bundle", berth.bundle, cid],
                             "process.apparmorProfile: AppArmor is not enabled on this host")
        spec["process"]["apparmorProfile"] = ""
    if not selinux:
        spec["process"]["selinuxLabel"] = "system_u:system_r:container_t:s0"
        berth.write_config(spec)
        assert_fails_cleanly(berth, lambda cid: ["create", "--bundle", berth.bundle, cid],
                             "process.selinuxLabel: SELinux is not enabled on this host")


def test_capability_newer_than_kernel_is_a_warning(berth):
    # CAP_CHECKPOINT_RESTORE (40) is known to libcap; this kernel has it, so
    # emulate "newer than the kernel" only when the kernel lacks it.
    with open("/proc/sys/kernel/cap_last_cap") as f:
        last = int(f.read())
    spec = berth.config()
    spec["process"]["capabilities"]["bounding"].append("CAP_CHECKPOINT_RESTORE")
    spec["process"]["args"] = ["true"]
    berth.write_config(spec)
    p = berth.run("run", "--bundle", berth.bundle, berth.new_id())
    assert p.returncode == 0, p.stderr
    if last < 40:
        assert "not supported by this kernel" in p.stderr
    else:
        assert p.stderr == ""  # the kernel knows it: no warning


def test_capability_typo_is_an_error(berth):
    spec = berth.config()
    spec["process"]["capabilities"]["effective"].append("CAP_NET_ADMN")
    berth.write_config(spec)
    assert_fails_cleanly(berth, lambda cid: ["create", "--bundle", berth.bundle, cid],
                         'process.capabilities.effective: unknown capability "CAP_NET_ADMN"')


def test_capability_sets_read_back(berth):
    spec = berth.config()
    caps = ["CAP_CHOWN", "CAP_NET_RAW", "CAP_KILL"]
    spec["process"]["capabilities"] = {"bounding": caps + ["CAP_SETUID"], "effective": caps,
                                       "permitted": caps, "inheritable": ["CAP_KILL"],
                                       "ambient": ["CAP_KILL"]}
    spec["process"]["user"] = {"uid": 1000, "gid": 1000}
    spec["process"]["args"] = ["sh", "-c", "grep ^Cap /proc/self/status"]
    berth.write_config(spec)
    p = berth.run("run", "--bundle", berth.bundle, berth.new_id())
    assert p.returncode == 0, p.stderr
    caps_by = {l.split(":")[0]: int(l.split()[1], 16) for l in p.stdout.splitlines()}
    want = (1 << 0) | (1 << 13) | (1 << 5)
    assert caps_by["CapBnd"] == want | (1 << 7)
    # uid 1000 after exec: effective/permitted come from ambient only.
    assert caps_by["CapAmb"] == 1 << 5
    assert caps_by["CapInh"] == 1 << 5
    assert caps_by["CapPrm"] == 1 << 5 and caps_by["CapEff"] == 1 << 5


@pytest.mark.parametrize("policy,shown", [
    ({"mode": "MPOL_BIND", "nodes": "0"}, "bind:0"),
    ({"mode": "MPOL_INTERLEAVE", "nodes": "0", "flags": ["MPOL_F_STATIC_NODES"]},
     "interleave=static:0"),
    ({"mode": "MPOL_PREFERRED", "nodes": "0"}, "prefer:0"),
    ({"mode": "MPOL_LOCAL"}, "local"),
])
def test_memory_policy(berth, policy, shown):
    # runtime-spec 1.3's linux.memoryPolicy; numa_maps shows the policy the
    # process's memory is allocated with (the task's, where a mapping has none).
    if not os.path.exists("/proc/self/numa_maps"):
        pytest.skip("kernel without NUMA")
    p = run_ok(berth, "grep -m1 heap /proc/self/numa_maps || head -1 /proc/self/numa_maps",
               linux__memoryPolicy=policy)
    assert p.stdout.split()[1] == shown, p.stdout


@pytest.mark.parametrize("policy,message", [
    ({"mode": "MPOL_NOPE"}, 'linux.memoryPolicy.mode: unknown mode "MPOL_NOPE"'),
    ({"mode": "MPOL_BIND"}, "linux.memoryPolicy.nodes: is required with mode MPOL_BIND"),
    ({"mode": "MPOL_LOCAL", "nodes": "0"}, "linux.memoryPolicy.nodes: must be empty"),
    ({"mode": "MPOL_BIND", "nodes": "3-1"}, "linux.memoryPolicy.nodes:"),
    ({"mode": "MPOL_BIND", "nodes": "0", "flags": ["MPOL_F_X"]},
     'linux.memoryPolicy.flags: unknown flag "MPOL_F_X"'),
    ({"mode": "MPOL_BIND", "nodes": "4000"}, "linux.memoryPolicy: set_mempolicy MPOL_BIND"),
])
def test_memory_policy_errors_name_the_field(berth, policy, message):
    spec = berth.config()
    spec["linux"]["memoryPolicy"] = policy
    berth.write_config(spec)
    assert_fails_cleanly(berth, lambda cid: ["create", "--bundle", berth.bundle, cid], message)


def test_net_devices_are_refused_naming_the_field(berth):
    # runtime-spec 1.3's linux.netDevices: not implemented, so never ignored.
    spec = berth.config()
    spec["linux"]["netDevices"] = {"eth9": {"name": "eth0"}}
    berth.write_config(spec)
    assert_fails_cleanly(berth, lambda cid: ["create", "--bundle", berth.bundle, cid],
                         "linux.netDevices: moving network devices into the container is not "
                         "supported")
