"""linux.seccomp profiles that deny by default, with and without
process.noNewPrivileges, as root and as an unprivileged user: the runtime's
own work must not depend on what the profile allows.

Without noNewPrivileges the filter has to be loaded while the runtime still
holds CAP_SYS_ADMIN, so whatever berth does after loading it runs under the
container's filter. The workload is a static probe without libc
(tests/fixtures/seccomp_probe.c): it makes only the system calls a profile
allows here, prints that it ran, and what each probed call returned.
"""
import errno
import json
import os
import shutil
import subprocess
import sys
import tempfile

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(os.path.dirname(HERE), "fixtures")
sys.path.insert(0, FIXTURES)
import docker_seccomp  # noqa: E402
from conftest import wait_for  # noqa: E402
from test_userns import open_path_to, with_userns  # noqa: E402

# The calls the probe reports on, in its output order.
PROBED = ["getcwd", "close_range", "fcntl", "statx", "openat2", "getppid"]
# The probe's own needs, and the container's init while it waits.
PROBE_NEEDS = ["write", "getuid", "capget", "pause", "exit_group"]
# What the runtime may need once the filter is in: exec, and the
# capability calls of the final switch.
RUNTIME_NEEDS = ["execve", "capset", "capget", "prctl"]
# An errno no system call returns here by itself: a call that fails with it
# was refused by the filter.
MINIMAL_ERRNO = errno.ENOANO

NO_CAPS = {k: [] for k in ("bounding", "effective", "inheritable", "permitted", "ambient")}
USERS = {"root": None, "uid1000": {"uid": 1000, "gid": 1000}}


@pytest.fixture(scope="session")
def probe(tmp_path_factory):
    if os.uname().machine != "x86_64":
        pytest.skip("the probe is x86_64 assembly")
    path = str(tmp_path_factory.mktemp("probe") / "seccomp_probe")
    subprocess.run(["cc", "-static", "-nostdlib", "-no-pie", "-ffreestanding", "-fno-builtin",
                    "-fno-stack-protector", "-O2", "-o", path,
                    os.path.join(FIXTURES, "seccomp_probe.c")], check=True)
    return path


def minimal_profile(*extra):
    return {"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": MINIMAL_ERRNO,
            "architectures": ["SCMP_ARCH_X86_64"],
            "syscalls": [{"names": sorted(set(RUNTIME_NEEDS + PROBE_NEEDS + list(extra))),
                          "action": "SCMP_ACT_ALLOW"}]}


def docker_profile_without(name, caps):
    if not docker_seccomp.available():
        pytest.skip(f"{docker_seccomp.PROFILE} missing (golang-github-docker-docker-dev)")
    profile = docker_seccomp.oci_profile(caps)
    for rule in profile["syscalls"]:
        rule["names"] = [n for n in rule["names"] if n != name]
    profile["syscalls"] = [r for r in profile["syscalls"] if r["names"]]
    assert profile["defaultAction"] == "SCMP_ACT_ERRNO"
    return profile


def configure(berth, probe, profile, nnp, user, args=("/seccomp_probe",)):
    rootfs = os.path.join(berth.bundle, "rootfs")
    subprocess.run(["cp", probe, os.path.join(rootfs, "seccomp_probe")], check=True)
    spec = berth.config()
    spec["process"]["args"] = list(args)
    spec["process"]["noNewPrivileges"] = nnp
    if USERS[user]:
        spec["process"]["user"] = dict(USERS[user])
        spec["process"]["capabilities"] = dict(NO_CAPS)
    spec["linux"]["seccomp"] = profile
    berth.write_config(spec)
    return spec


def parse(stdout):
    """The probe's line as a dict; fails unless the probe ran."""
    lines = [l for l in stdout.splitlines() if l.startswith("ran ")]
    assert len(lines) == 1, f"the container did not run the probe: {stdout!r}"
    return dict(f.split("=", 1) for f in lines[0].split()[1:])


def check_probe(out, user, refused, err):
    """The probe ran as `user`, the calls in `refused` failed with the
    profile's errno `err`, every other probed call succeeded."""
    if user == "root":
        assert out["uid"] == "0"
    else:
        assert out["uid"] == "1000" and out["capeff"] == "0:0", out
    for name in PROBED:
        want = str(-err) if name in refused else "0"
        assert out[name] == want, f"{name}: {out}"


def spec_caps(berth):
    return berth.config()["process"]["capabilities"]["bounding"]


# ---- a profile that allows (almost) nothing ----

@pytest.mark.parametrize("user", list(USERS))
@pytest.mark.parametrize("nnp", [False, True])
def test_minimal_profile(berth, probe, nnp, user):
    configure(berth, probe, minimal_profile(), nnp, user)
    p = berth.run("run", "--bundle", berth.bundle, berth.new_id())
    assert p.returncode == 0, p.stderr
    check_probe(parse(p.stdout), user, PROBED, MINIMAL_ERRNO)


@pytest.mark.parametrize("user", list(USERS))
@pytest.mark.parametrize("nnp", [False, True])
def test_minimal_profile_create_start(berth, probe, nnp, user, tmp_path):
    """create and start as separate commands: the init waits on the exec
    fifo between them, its stdout a file."""
    configure(berth, probe, minimal_profile(), nnp, user)
    cid = berth.new_id()
    out, err = tmp_path / "out", tmp_path / "err"
    # Files, not pipes: the init keeps its stdio open until it exits.
    with open(out, "w") as o, open(err, "w") as e:
        p = subprocess.run(berth.cmd("create", "--bundle", berth.bundle, cid),
                           stdin=subprocess.DEVNULL, stdout=o, stderr=e, timeout=30)
    assert p.returncode == 0, err.read_text()
    assert berth.state(cid)["status"] == "created"
    berth.run("start", cid, check=True)
    assert wait_for(lambda: berth.state(cid)["status"] == "stopped")
    check_probe(parse(out.read_text()), user, PROBED, MINIMAL_ERRNO)
    berth.run("delete", cid, check=True)


@pytest.mark.parametrize("user", list(USERS))
@pytest.mark.parametrize("nnp", [False, True])
def test_minimal_profile_exec(berth, probe, nnp, user):
    configure(berth, probe, minimal_profile(), nnp, user, args=["/seccomp_probe", "wait"])
    cid = berth.new_id()
    berth.run("run", "-d", "--bundle", berth.bundle, cid, check=True)
    try:
        p = berth.run("exec", cid, "/seccomp_probe")
        assert p.returncode == 0, p.stderr
        check_probe(parse(p.stdout), user, PROBED, MINIMAL_ERRNO)
    finally:
        berth.run("delete", "--force", cid, check=True)


# ---- Docker's default profile, minus one call the runtime would like ----

@pytest.mark.parametrize("user", list(USERS))
@pytest.mark.parametrize("nnp", [False, True])
@pytest.mark.parametrize("removed", ["close_range", "getcwd", "fcntl", "openat2", "statx"])
def test_docker_profile_without(berth, probe, removed, nnp, user):
    caps = spec_caps(berth) if user == "root" else []
    configure(berth, probe, docker_profile_without(removed, caps), nnp, user)
    p = berth.run("run", "--bundle", berth.bundle, berth.new_id())
    assert p.returncode == 0, p.stderr
    check_probe(parse(p.stdout), user, [removed], errno.EPERM)


@pytest.mark.parametrize("user", list(USERS))
@pytest.mark.parametrize("nnp", [False, True])
@pytest.mark.parametrize("removed", ["close_range", "getcwd", "fcntl", "openat2", "statx"])
def test_docker_profile_without_exec(berth, probe, removed, nnp, user):
    caps = spec_caps(berth) if user == "root" else []
    configure(berth, probe, docker_profile_without(removed, caps), nnp, user,
              args=["/seccomp_probe", "wait"])
    cid = berth.new_id()
    berth.run("run", "-d", "--bundle", berth.bundle, cid, check=True)
    try:
        p = berth.run("exec", cid, "/seccomp_probe")
        assert p.returncode == 0, p.stderr
        check_probe(parse(p.stdout), user, [removed], errno.EPERM)
    finally:
        berth.run("delete", "--force", cid, check=True)


def test_docker_profile_busybox_without_getcwd(berth, probe):
    """A real shell as uid 1000 without capabilities, no getcwd: it runs,
    and its own getcwd is refused (busybox pwd falls back to $PWD, so ask
    the kernel through readlink instead)."""
    configure(berth, probe, docker_profile_without("getcwd", []), False, "uid1000",
              args=["sh", "-c", "echo hi; id -u; /seccomp_probe"])
    p = berth.run("run", "--bundle", berth.bundle, berth.new_id())
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines()[:2] == ["hi", "1000"]
    check_probe(parse(p.stdout), "uid1000", ["getcwd"], errno.EPERM)


# ---- the user's own errors stay theirs ----

BLOCK_EXECVE = {"defaultAction": "SCMP_ACT_ALLOW",
                "syscalls": [{"names": ["execve", "execveat"], "action": "SCMP_ACT_ERRNO"}]}


@pytest.mark.parametrize("user", list(USERS))
@pytest.mark.parametrize("nnp", [False, True])
def test_profile_blocking_execve_says_so(berth, probe, nnp, user):
    configure(berth, probe, BLOCK_EXECVE, nnp, user)
    p = berth.run("run", "--bundle", berth.bundle, berth.new_id())
    assert p.returncode != 0
    assert "exec /seccomp_probe: Operation not permitted" in p.stderr, p.stderr
    assert "linux.seccomp" in p.stderr and "execve" in p.stderr, p.stderr
    assert "ran " not in p.stdout


@pytest.mark.parametrize("nnp", [False, True])
def test_exec_profile_blocking_execve_says_so(berth, probe, nnp):
    # The init is started without the filter, exec gets it.
    configure(berth, probe, BLOCK_EXECVE, nnp, "root", args=["/seccomp_probe", "wait"])
    spec = berth.config()
    del spec["linux"]["seccomp"]
    berth.write_config(spec)
    cid = berth.new_id()
    berth.run("run", "-d", "--bundle", berth.bundle, cid, check=True)
    try:
        spec["linux"]["seccomp"] = BLOCK_EXECVE
        # exec reads the container's config from its state directory.
        state_config = os.path.join(berth.root, cid, "config.json")
        assert os.path.exists(state_config)
        with open(state_config, "w") as f:
            json.dump(spec, f)
        p = berth.run("exec", cid, "/seccomp_probe")
        assert p.returncode == 255, p.stderr
        assert "exec /seccomp_probe: Operation not permitted" in p.stderr, p.stderr
        assert "linux.seccomp" in p.stderr and "execve" in p.stderr, p.stderr
    finally:
        berth.run("delete", "--force", cid, check=True)


def test_missing_executable_is_still_reported_at_create(berth, probe):
    """Checks that can be made before the filter still reach create's caller."""
    configure(berth, probe, minimal_profile(), False, "uid1000", args=["/no/such/binary"])
    p = berth.run("create", "--bundle", berth.bundle, berth.new_id())
    assert p.returncode == 1
    assert 'exec: "/no/such/binary": stat /no/such/binary: no such file or directory' in p.stderr



# ---- close_range refused: the fallback ----

@pytest.mark.parametrize("error", ["ENOSYS", "EPERM"])
def test_fds_are_closed_without_close_range(berth, error, tmp_path):
    """close_range failing (an old kernel, or a filter of the caller's):
    the runtime's fds are marked close-on-exec one by one instead (strace
    makes the call fail)."""
    if shutil.which("strace") is None:
        pytest.skip("strace is not installed")
    spec = berth.config()
    spec["process"]["args"] = ["ls", "/proc/self/fd"]
    berth.write_config(spec)
    log = tmp_path / "strace.log"
    extra = os.open("/dev/null", os.O_RDONLY)  # an fd of the caller's, not marked close-on-exec
    try:
        os.set_inheritable(extra, True)
        with tempfile.TemporaryFile() as out:
            p = subprocess.run(["strace", "-f", "-qq", "-o", str(log), "-e", "trace=close_range",
                                "-e", f"inject=close_range:error={error}",
                                *berth.cmd("run", "--bundle", berth.bundle, berth.new_id())],
                               stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.PIPE,
                               text=True, timeout=60, close_fds=False)
            out.seek(0)
            fds = out.read().decode().split()
    finally:
        os.close(extra)
    assert p.returncode == 0, p.stderr
    assert "(INJECTED)" in log.read_text()
    # stdio and ls's own directory fd: nothing of the runtime's, nor ours.
    assert fds == ["0", "1", "2", "3"], fds


@pytest.mark.parametrize("nnp", [False, True])
def test_minimal_profile_in_a_user_namespace(berth, probe, nnp):
    """CAP_SYS_ADMIN of the container's own user namespace loads the filter."""
    configure(berth, probe, minimal_profile(), nnp, "uid1000")
    open_path_to(berth.bundle + "/rootfs")
    subprocess.run(["chown", "-R", "-h", "100000:100000", berth.bundle + "/rootfs"], check=True)
    berth.write_config(with_userns(berth.config()))
    p = berth.run("run", "--bundle", berth.bundle, berth.new_id())
    assert p.returncode == 0, p.stderr
    check_probe(parse(p.stdout), "uid1000", PROBED, MINIMAL_ERRNO)
