"""The seccomp program cache (<root>/@seccomp-cache, runtime/linux/seccomp_cache.h):
a container started with a cached program is filtered exactly as one whose
program was just compiled (the same calls allowed, the same errno for those
refused, the same argument conditions), a corrupt entry is detected and
replaced, and a cache directory or entry that is not trusted is not used.

The workload is the static probe of test_seccomp_profiles.py: it reports
what each probed call returned. A forged entry (a valid entry whose program
allows everything) shows that the cache is really read where it should be,
and ignored where it should not be.
"""
import errno
import hashlib
import os
import struct
import subprocess

import pytest

from conftest import SECCOMP_CACHE
from test_seccomp import Agent, notify_profile, with_seccomp
from test_seccomp_profiles import (MINIMAL_ERRNO, PROBED, configure, docker_profile_without,
                                   minimal_profile, parse, probe)  # noqa: F401 (fixture)
from test_userns import open_path_to, with_userns

HEADER = struct.Struct("=8sIIII32s32s")
MAGIC = b"BERTHSC1"
SECCOMP_RET_ALLOW = 0x7FFF0000
BPF_RET_K = 0x06


def conditions_profile():
    """Argument conditions and several errnos on the probed calls (the probe
    calls getcwd(buf, 256), close_range(1000, 1000, 0), fcntl(1, F_GETFD),
    statx(AT_FDCWD, "/", 0, 0x7ff, buf), openat2(AT_FDCWD, "/", how, 24))."""
    profile = minimal_profile()
    profile["syscalls"] += [
        {"names": ["fcntl"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 1, "value": 1, "op": "SCMP_CMP_EQ"}]},
        {"names": ["getcwd"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 1, "value": 4096, "op": "SCMP_CMP_GT"}]},
        {"names": ["close_range"], "action": "SCMP_ACT_ERRNO", "errnoRet": errno.EXDEV,
         "args": [{"index": 0, "value": 1000, "op": "SCMP_CMP_EQ"}]},
        {"names": ["statx"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 3, "value": 0x7FF, "valueTwo": 0x7FF, "op": "SCMP_CMP_MASKED_EQ"}]},
        {"names": ["openat2"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 3, "value": 24, "op": "SCMP_CMP_EQ"}]},
        {"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": errno.ESRCH},
    ]
    return profile


CONDITIONS_EXPECTED = {"getcwd": -MINIMAL_ERRNO, "close_range": -errno.EXDEV, "fcntl": 0,
                       "statx": 0, "openat2": 0, "getppid": -errno.ESRCH}


def cache_dir(berth):
    return os.path.join(berth.root, SECCOMP_CACHE)


def entries(berth):
    d = cache_dir(berth)
    return sorted(os.listdir(d)) if os.path.isdir(d) else []


def the_entry(berth):
    names = entries(berth)
    assert len(names) == 1, names
    return os.path.join(cache_dir(berth), names[0])


def read(path):
    with open(path, "rb") as f:
        return f.read()


def write(path, data, mode=0o600):
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, mode)


def forged_allow_all(entry):
    """A valid entry for the same key whose program allows every call."""
    magic, version, flags, _, _, key, _ = HEADER.unpack_from(read(entry))
    assert magic == MAGIC and key.hex() == os.path.basename(entry)
    program = struct.pack("=HBBI", BPF_RET_K, 0, 0, SECCOMP_RET_ALLOW)
    head = HEADER.pack(magic, version, flags, 1, 0, key, b"\0" * 32)[:56]
    return head + hashlib.sha256(head + program).digest() + program


def probe_run(berth):
    p = berth.run("run", "--bundle", berth.bundle, berth.new_id())
    assert p.returncode == 0, p.stderr
    out = parse(p.stdout)
    return {name: int(out[name]) for name in PROBED}


ALLOWED_ALL = {name: 0 for name in PROBED}


def profiles():
    return {
        "minimal": (minimal_profile, {name: -MINIMAL_ERRNO for name in PROBED}),
        "conditions": (conditions_profile, CONDITIONS_EXPECTED),
        "docker-without-getcwd": (lambda: docker_profile_without("getcwd", []),
                                  dict(ALLOWED_ALL, getcwd=-errno.EPERM)),
    }


@pytest.mark.parametrize("nnp", [True, False])
@pytest.mark.parametrize("name", list(profiles()))
def test_warm_cache_filters_as_a_fresh_compile(berth, probe, name, nnp):
    make, expected = profiles()[name]
    configure(berth, probe, make(), nnp, "root")
    cold = probe_run(berth)  # compiles, stores
    entry = the_entry(berth)
    stored = os.stat(entry)
    warm = probe_run(berth)  # from the entry
    after = os.stat(entry)
    assert (after.st_ino, after.st_mtime_ns) == (stored.st_ino, stored.st_mtime_ns), \
        "a hit must not rewrite the entry"
    assert cold == expected
    assert warm == cold
    # The entry is what the runtime loads: a valid forged one is obeyed.
    write(entry, forged_allow_all(entry))
    assert probe_run(berth) == ALLOWED_ALL


@pytest.mark.parametrize("nnp", [False, True])
def test_warm_cache_in_a_user_namespace(berth, probe, nnp):
    """The runtime reads and writes the cache, not the init: a user-namespaced
    init (root mapped to 100000) could not open a root-owned 0700 directory."""
    configure(berth, probe, conditions_profile(), nnp, "uid1000")
    open_path_to(berth.bundle + "/rootfs")
    subprocess.run(["chown", "-R", "-h", "100000:100000", berth.bundle + "/rootfs"], check=True)
    berth.write_config(with_userns(berth.config()))
    cold = probe_run(berth)
    entry = the_entry(berth)
    assert os.stat(entry).st_uid == 0 and os.stat(cache_dir(berth)).st_mode & 0o777 == 0o700
    assert probe_run(berth) == cold == CONDITIONS_EXPECTED
    write(entry, forged_allow_all(entry))
    assert probe_run(berth) == ALLOWED_ALL


def test_exec_uses_the_cache(berth, probe):
    configure(berth, probe, conditions_profile(), True, "root", args=["/seccomp_probe", "wait"])
    cid = berth.new_id()
    berth.run("run", "-d", "--bundle", berth.bundle, cid, check=True)
    try:
        entry = the_entry(berth)
        p = berth.run("exec", cid, "/seccomp_probe")
        assert p.returncode == 0, p.stderr
        out = parse(p.stdout)
        assert {n: int(out[n]) for n in PROBED} == CONDITIONS_EXPECTED
        write(entry, forged_allow_all(entry))
        p = berth.run("exec", cid, "/seccomp_probe")
        assert p.returncode == 0, p.stderr
        out = parse(p.stdout)
        assert {n: int(out[n]) for n in PROBED} == ALLOWED_ALL
    finally:
        berth.run("delete", "--force", cid, check=True)


def flip_last_byte(data):
    return data[:-1] + bytes([data[-1] ^ 0x01])


CORRUPTIONS = {
    "flipped program byte": flip_last_byte,
    "flipped header byte": lambda d: d[:13] + bytes([d[13] ^ 0x10]) + d[14:],
    "truncated": lambda d: d[:-8],
    "header only": lambda d: d[:88],
    "empty": lambda d: b"",
    "extended": lambda d: d + b"\0" * 8,
}


@pytest.mark.parametrize("how", list(CORRUPTIONS))
def test_corrupt_entry_is_replaced(berth, probe, how):
    configure(berth, probe, conditions_profile(), False, "root")
    assert probe_run(berth) == CONDITIONS_EXPECTED
    entry = the_entry(berth)
    good = read(entry)
    write(entry, CORRUPTIONS[how](good))
    assert probe_run(berth) == CONDITIONS_EXPECTED
    assert read(entry) == good, "the corrupt entry was not rewritten"
    assert entries(berth) == [os.path.basename(entry)]


def test_entry_writable_by_others_is_not_used(berth, probe):
    configure(berth, probe, conditions_profile(), True, "root")
    probe_run(berth)
    entry = the_entry(berth)
    good = read(entry)
    write(entry, forged_allow_all(entry), mode=0o666)
    assert probe_run(berth) == CONDITIONS_EXPECTED
    assert read(entry) == good and os.stat(entry).st_mode & 0o777 == 0o600


UNTRUSTED = {
    "mode 0777": lambda d: os.chmod(d, 0o777),
    "group-writable": lambda d: os.chmod(d, 0o770),
    "another owner": lambda d: os.chown(d, 1000, 1000),
}


@pytest.mark.parametrize("how", list(UNTRUSTED))
def test_untrusted_cache_dir_is_not_used(berth, probe, how):
    configure(berth, probe, conditions_profile(), True, "root")
    probe_run(berth)
    entry = the_entry(berth)
    forged = forged_allow_all(entry)
    write(entry, forged)
    UNTRUSTED[how](cache_dir(berth))
    assert probe_run(berth) == CONDITIONS_EXPECTED
    # Neither read nor written.
    assert read(entry) == forged and entries(berth) == [os.path.basename(entry)]


def test_symlinked_cache_dir_is_not_used(berth, probe, tmp_path):
    """Not even to another root's trusted cache."""
    configure(berth, probe, conditions_profile(), True, "root")
    probe_run(berth)
    entry = the_entry(berth)
    write(entry, forged_allow_all(entry))
    elsewhere = str(tmp_path / "other-cache")
    os.rename(cache_dir(berth), elsewhere)
    os.symlink(elsewhere, cache_dir(berth))
    assert probe_run(berth) == CONDITIONS_EXPECTED
    os.unlink(cache_dir(berth))


def test_concurrent_creates_share_one_valid_entry(berth, probe, tmp_path):
    configure(berth, probe, conditions_profile(), True, "root")
    procs = []
    for i in range(8):
        out = open(tmp_path / f"out{i}", "w+")
        procs.append((subprocess.Popen(berth.cmd("run", "--bundle", berth.bundle, berth.new_id()),
                                       stdout=out, stderr=subprocess.STDOUT), out))
    for p, out in procs:
        assert p.wait(timeout=60) == 0
        out.seek(0)
        got = parse(out.read())
        out.close()
        assert {n: int(got[n]) for n in PROBED} == CONDITIONS_EXPECTED
    # One entry, no temp file left, and it is the one a lone create writes.
    assert len(os.listdir(cache_dir(berth))) == 1
    entry = read(the_entry(berth))
    os.unlink(the_entry(berth))
    probe_run(berth)
    assert read(the_entry(berth)) == entry


def test_notify_listener_fd_with_a_warm_cache(berth, tmp_path):
    """SCMP_ACT_NOTIFY: the listener fd comes from loading the program, cached
    or not."""
    path = str(tmp_path / "agent.sock")
    with_seccomp(berth, notify_profile(path), ["sh", "-c", "mkdir /dev/shm/d; echo rc=$?"])
    for run in ("cold", "warm"):
        agent = Agent(path, reply=errno.ENOMEDIUM)
        try:
            p = berth.run("run", "--bundle", berth.bundle, berth.new_id())
        finally:
            agent.close()
            os.unlink(path)
        assert p.returncode == 0, f"{run}: {p.stderr}"
        assert agent.error is None, agent.error
        assert "No medium found" in p.stderr, run
        assert p.stdout.split() == ["rc=1"], run
        assert agent.fd_link == "anon_inode:seccomp notify", run
        assert len(entries(berth)) == 1


def test_no_cache_without_seccomp(berth):
    p = berth.run_container(["true"])
    assert p.returncode == 0, p.stderr
    assert not os.path.exists(cache_dir(berth))


def test_cache_is_not_a_container(berth, probe):
    configure(berth, probe, minimal_profile(), True, "root")
    probe_run(berth)
    p = berth.run("list", "-q", check=True)
    assert p.stdout.split() == []
