"""Bad input and failures: one clear line on stderr (and in --log), a
non-zero exit, and nothing left behind on the host: no state directory,
cgroup, mount, process or fd."""
import json
import os
import subprocess

import pytest

from conftest import cgroup_dirs_named, host_mounts


def berth_processes(root):
    """Pids of berth processes of this test (their command line names its
    --root; an init blocked before exec keeps the argv of its `create`)."""
    pids = set()
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            exe = os.readlink(f"/proc/{pid}/exe")
        except OSError:
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read()
        except OSError:
            continue
        if exe.endswith("/runtime/berth") and root.encode() in cmdline:
            pids.add(int(pid))
    return pids


def assert_fails_cleanly(berth, args, expected, cid=None):
    """Runs `berth create` (or args) expecting failure; checks the message and
    that nothing remains."""
    cid = cid or berth.new_id()
    mounts = set(host_mounts())
    procs = berth_processes(berth.root)
    log = os.path.join(os.path.dirname(berth.root), "berth.log")
    p = subprocess.run([berth.cmd()[0], "--root", berth.root, "--log", log, "--log-format", "json",
                        *args(cid)], capture_output=True, text=True, stdin=subprocess.DEVNULL,
                       timeout=60)
    assert p.returncode != 0
    lines = [l for l in p.stderr.splitlines() if l]
    assert len(lines) == 1, p.stderr
    assert expected in lines[0], lines[0]
    # The json log holds exactly one error line with the same message.
    with open(log) as f:
        records = [json.loads(l) for l in f if l.strip()]
    errors = [r for r in records if r["level"] == "error"]
    assert len(errors) == 1 and expected in errors[0]["msg"]
    assert set(errors[0]) >= {"level", "msg", "time"}
    os.unlink(log)
    # Nothing left behind.
    assert not os.path.exists(os.path.join(berth.root, cid))
    assert cgroup_dirs_named(cid) == []
    assert set(host_mounts()) == mounts
    assert berth_processes(berth.root) <= procs
    return lines[0]


def container_tasks(cid):
    """Pids in the container's cgroups (every hierarchy it has one in)."""
    pids = set()
    for d in cgroup_dirs_named(cid):
        try:
            with open(os.path.join(d, "cgroup.procs")) as f:
                pids |= {int(p) for p in f.read().split()}
        except OSError:
            pass
    return pids


def assert_exec_fails_cleanly(berth, cid, args, expected):
    """Runs `berth exec [args]` in container `cid` expecting failure: exit
    255 (as runc), one clear line on stderr and in --log, and the container
    as it was: no new process in its cgroups, no runtime process, no mount,
    the same files in its state directory (none, if it has none)."""
    state_dir = os.path.join(berth.root, cid)
    state_files = sorted(os.listdir(state_dir)) if os.path.isdir(state_dir) else None
    tasks = container_tasks(cid)
    mounts = set(host_mounts())
    procs = berth_processes(berth.root)
    log = os.path.join(os.path.dirname(berth.root), "berth.log")
    p = subprocess.run([berth.cmd()[0], "--root", berth.root, "--log", log, "--log-format", "json",
                        "exec", *args], capture_output=True, text=True, stdin=subprocess.DEVNULL,
                       timeout=60)
    assert p.returncode == 255, (p.returncode, p.stdout, p.stderr)
    lines = [l for l in p.stderr.splitlines() if l]
    assert len(lines) == 1, p.stderr
    assert expected in lines[0], lines[0]
    with open(log) as f:
        records = [json.loads(l) for l in f if l.strip()]
    os.unlink(log)
    errors = [r for r in records if r["level"] == "error"]
    assert len(errors) == 1 and expected in errors[0]["msg"], errors
    assert (sorted(os.listdir(state_dir)) if os.path.isdir(state_dir) else None) == state_files
    assert container_tasks(cid) == tasks
    assert set(host_mounts()) == mounts
    assert berth_processes(berth.root) <= procs
    return lines[0]


def create_args(berth):
    return lambda cid: ["create", "--bundle", berth.bundle, cid]


def test_malformed_json(berth):
    with open(os.path.join(berth.bundle, "config.json"), "w") as f:
        f.write('{"ociVersion": "1.0.2", "process": {')
    assert_fails_cleanly(berth, create_args(berth), "invalid JSON")


def test_invalid_field_names_its_path(berth):
    spec = berth.config()
    spec["process"]["args"] = []
    berth.write_config(spec)
    assert_fails_cleanly(berth, create_args(berth), "process.args: must be a non-empty array of strings")
    spec["process"]["args"] = ["sh"]
    spec["root"]["readonly"] = "yes"
    berth.write_config(spec)
    assert_fails_cleanly(berth, create_args(berth), "root.readonly: must be a boolean")
    spec["root"]["readonly"] = True
    spec["mounts"][2]["destination"] = "relative/path"
    berth.write_config(spec)
    assert_fails_cleanly(berth, create_args(berth), "mounts[2].destination")


def test_unsupported_oci_version(berth):
    spec = berth.config()
    spec["ociVersion"] = "2.0.0"
    berth.write_config(spec)
    assert_fails_cleanly(berth, create_args(berth), "ociVersion")


def test_unknown_fields_are_ignored(berth):
    spec = berth.config()
    spec["somethingNew"] = {"x": 1}
    spec["process"]["futureField"] = [1, 2]
    spec["linux"]["futureLinux"] = "y"
    spec["process"]["args"] = ["true"]
    berth.write_config(spec)
    p = berth.run("run", "--bundle", berth.bundle, berth.new_id())
    assert p.returncode == 0, p.stderr


def test_missing_config(berth):
    os.unlink(os.path.join(berth.bundle, "config.json"))
    assert_fails_cleanly(berth, create_args(berth), "config.json")


def test_missing_rootfs(berth):
    spec = berth.config()
    spec["root"]["path"] = "no-such-rootfs"
    berth.write_config(spec)
    msg = assert_fails_cleanly(berth, create_args(berth), "root.path")
    assert "no-such-rootfs" in msg


def test_unknown_mount_type(berth):
    spec = berth.config()
    spec["mounts"].append({"destination": "/x", "type": "nosuchfs", "source": "none"})
    berth.write_config(spec)
    msg = assert_fails_cleanly(berth, create_args(berth), "unknown filesystem type \"nosuchfs\"")
    assert "/x" in msg


def test_mount_failure_inside_init_cleans_up(berth):
    spec = berth.config()
    # Known type, bad data: fails in the init, after clone and cgroup creation.
    spec["mounts"].append({"destination": "/x", "type": "tmpfs", "source": "tmpfs", "options": ["size=bogus"]})
    berth.write_config(spec)
    assert_fails_cleanly(berth, create_args(berth), "mounts[")


def test_missing_bind_source(berth):
    spec = berth.config()
    spec["mounts"].append({"destination": "/x", "type": "bind", "source": "/no/such/dir", "options": ["bind"]})
    berth.write_config(spec)
    assert_fails_cleanly(berth, create_args(berth), "/no/such/dir")


def test_command_not_found(berth):
    spec = berth.config()
    spec["process"]["args"] = ["no-such-command"]
    berth.write_config(spec)
    assert_fails_cleanly(berth, create_args(berth),
                         'exec: "no-such-command": executable file not found in $PATH')
    spec["process"]["args"] = ["/bin/no-such-binary"]
    berth.write_config(spec)
    assert_fails_cleanly(berth, create_args(berth), "/bin/no-such-binary")


def test_run_command_not_found(berth):
    spec = berth.config()
    spec["process"]["args"] = ["no-such-command"]
    berth.write_config(spec)
    assert_fails_cleanly(berth, lambda cid: ["run", "--bundle", berth.bundle, cid],
                         "executable file not found")


def test_bad_cwd(berth):
    spec = berth.config()
    spec["process"]["cwd"] = "relative"
    berth.write_config(spec)
    assert_fails_cleanly(berth, create_args(berth), "process.cwd")


def test_hostname_without_uts_namespace(berth):
    spec = berth.config()
    spec["hostname"] = "x"
    spec["linux"]["namespaces"] = [n for n in spec["linux"]["namespaces"] if n["type"] != "uts"]
    berth.write_config(spec)
    assert_fails_cleanly(berth, create_args(berth), "uts namespace")


def test_missing_namespace_path(berth):
    spec = berth.config()
    spec["linux"]["namespaces"][1]["path"] = "/no/such/ns"
    berth.write_config(spec)
    assert_fails_cleanly(berth, create_args(berth), "linux.namespaces[1].path")


def test_rlimit_needing_cap_sys_resource(berth):
    with open("/proc/self/limits") as f:
        hard = [l for l in f if l.startswith("Max open files")][0].split()[4]
    if hard == "unlimited":
        pytest.skip("the hard RLIMIT_NOFILE is unlimited: there is no limit to ask above")
    spec = berth.config()
    spec["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": 1024, "hard": int(hard) + 1}]
    berth.write_config(spec)
    msg = assert_fails_cleanly(berth, create_args(berth), "RLIMIT_NOFILE")
    assert "CAP_SYS_RESOURCE" in msg


def test_unknown_capability(berth):
    spec = berth.config()
    spec["process"]["capabilities"]["bounding"].append("CAP_NOT_A_THING")
    berth.write_config(spec)
    assert_fails_cleanly(berth, create_args(berth), "process.capabilities.bounding: unknown capability")


def test_terminal_without_console_socket(berth):
    spec = berth.config()
    spec["process"]["terminal"] = True
    berth.write_config(spec)
    assert_fails_cleanly(berth, create_args(berth), "--console-socket")


def test_duplicate_id(berth):
    spec = berth.config()
    spec["process"]["args"] = ["sleep", "1000"]
    berth.write_config(spec)
    cid = berth.new_id()
    berth.run("create", "--bundle", berth.bundle, cid, check=True)
    p = berth.run("create", "--bundle", berth.bundle, cid)
    assert p.returncode != 0
    assert "container with given ID already exists" in p.stderr
    assert berth.state(cid)["status"] == "created"  # the first one is untouched
    berth.run("delete", "--force", cid, check=True)


def test_invalid_id(berth):
    for bad in ["a/b", "..", "with space"]:
        p = berth.run("create", "--bundle", berth.bundle, bad)
        assert p.returncode != 0 and "invalid container ID" in p.stderr
    assert not os.path.exists(berth.root) or os.listdir(berth.root) == []


def test_unknown_id(berth):
    for cmd in (["state"], ["start"], ["kill"], ["delete"]):
        p = berth.run(*cmd, "nonexistent")
        assert p.returncode != 0, cmd
        assert p.stderr == 'berth: container "nonexistent" does not exist\n', (cmd, p.stderr)
    assert berth.run("delete", "--force", "nonexistent").returncode == 0


def test_unknown_command_and_flag(berth):
    p = berth.run("frobnicate")
    assert p.returncode != 0 and "unknown command" in p.stderr
    p = berth.run("create", "--bogus", "x")
    assert p.returncode != 0 and "flag provided but not defined: -bogus" in p.stderr
    p = berth.run("checkpoint", "x")
    assert p.returncode != 0 and "not supported yet" in p.stderr


def test_version():
    from conftest import BERTH
    out = subprocess.run([BERTH, "--version"], capture_output=True, text=True, check=True).stdout
    assert out.splitlines()[0].startswith("berth version ")
    assert any(l.startswith("commit: ") for l in out.splitlines())
    assert any(l.startswith("spec: ") for l in out.splitlines())


def test_systemd_cgroup_flag_is_a_clear_error_without_systemd(berth):
    if os.path.exists("/run/systemd/system"):
        pytest.skip("systemd runs on this host: --systemd-cgroup is not an error here")
    p = berth.run("--systemd-cgroup", "create", "--bundle", berth.bundle, berth.new_id())
    assert p.returncode != 0
    assert "--systemd-cgroup: systemd is not running on this host" in p.stderr
    assert not os.path.exists(berth.root) or os.listdir(berth.root) == []


def test_rootless_global_flag_accepted(berth):
    for value in ("true", "false", "auto"):
        p = berth.run(f"--rootless={value}", "list", "--format", "json")
        assert p.returncode == 0, p.stderr
    p = berth.run("--rootless=maybe", "list")
    assert p.returncode != 0 and "--rootless must be true, false or auto" in p.stderr


def test_intel_rdt_refused_not_ignored(berth):
    spec = berth.config()
    spec["linux"]["intelRdt"] = {"closID": "x", "l3CacheSchema": "L3:0=f"}
    berth.write_config(spec)
    assert_fails_cleanly(berth, create_args(berth), "linux.intelRdt: Intel RDT is not supported")
