"""`berth features`: the runtime-spec features document, and proof that what
it lists is accepted by a real container."""
import json
import os
import subprocess

from conftest import BERTH


def features():
    p = subprocess.run([BERTH, "features"], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    assert p.stderr == ""
    return json.loads(p.stdout)


def test_features_is_valid_json_with_the_spec_keys():
    f = features()
    assert f["ociVersionMin"] == "1.0.0"
    assert f["ociVersionMax"] == "1.2.0"
    assert f["hooks"] == ["prestart", "createRuntime", "createContainer", "startContainer",
                          "poststart", "poststop"]
    assert "rro" in f["mountOptions"]
    assert "idmap" not in f["mountOptions"] and "ridmap" not in f["mountOptions"]
    linux = f["linux"]
    assert "user" in linux["namespaces"]
    assert "CAP_SYS_ADMIN" in linux["capabilities"]
    assert linux["mountExtensions"]["idmap"]["enabled"] is False
    assert linux["cgroup"]["systemd"] is True
    assert linux["cgroup"]["systemdUser"] is True
    seccomp = linux["seccomp"]
    assert seccomp["enabled"] is True
    assert seccomp["actions"] == sorted([*ACTION_EFFECTS, "SCMP_ACT_NOTIFY"])
    assert seccomp["operators"] == ["SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE",
                                    "SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE"]
    assert {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32",
            "SCMP_ARCH_AARCH64"} <= set(seccomp["archs"])
    assert seccomp["knownFlags"] == KNOWN_FLAGS
    # What this host's kernel (6.x) takes: all of them.
    assert set(seccomp["supportedFlags"]) >= host_seccomp_flags()
    assert set(seccomp["supportedFlags"]) <= set(seccomp["knownFlags"])
    assert f["annotations"]["org.opencontainers.runc.checkpoint.enabled"] == "false"
    assert f["annotations"]["io.github.berth.version"]


def test_features_output_looks_like_runcs():
    """Four-space indentation and a final newline, as `runc features`."""
    p = subprocess.run([BERTH, "features"], capture_output=True, text=True, timeout=30)
    assert p.stdout.startswith('{\n    "ociVersionMin": ')
    assert p.stdout.endswith("}\n")


def test_features_takes_no_arguments():
    p = subprocess.run([BERTH, "features", "extra"], capture_output=True, text=True, timeout=30)
    assert p.returncode == 1
    assert "takes no arguments" in p.stderr


# What a mkdir in a subshell reports under a rule with each action but
# SCMP_ACT_NOTIFY (test_seccomp.py covers it; it needs an agent): its exit
# status and what it prints. SIGSYS is 31.
ACTION_EFFECTS = {
    "SCMP_ACT_ALLOW": (0, ""),
    "SCMP_ACT_LOG": (0, ""),
    "SCMP_ACT_ERRNO": (1, "Operation not permitted"),  # EPERM, the default errno
    "SCMP_ACT_TRACE": (1, "Function not implemented"),  # no tracer: ENOSYS
    "SCMP_ACT_TRAP": (128 + 31, ""),
    "SCMP_ACT_KILL": (128 + 31, ""),
    "SCMP_ACT_KILL_THREAD": (128 + 31, ""),
    "SCMP_ACT_KILL_PROCESS": (128 + 31, ""),
}

KNOWN_FLAGS = ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
               "SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]


def host_seccomp_flags():
    """The flags this kernel has (TSYNC 3.17, LOG 4.14, SPEC_ALLOW 4.17,
    WAIT_KILLABLE_RECV 5.19)."""
    major, minor = (int(x) for x in os.uname().release.split(".")[:2])
    flags = {"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
             "SECCOMP_FILTER_FLAG_SPEC_ALLOW"}
    if (major, minor) >= (5, 19):
        flags.add("SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV")
    return flags


SCRIPT = "grep Seccomp: /proc/self/status; (mkdir /dev/shm/d); echo rc=$?"


def run_with_mkdir_rule(berth, action, flags=None):
    """Runs SCRIPT under a profile that allows everything but mkdir, which
    gets `action`; returns (Seccomp mode, mkdir's status, stderr)."""
    profile = {"defaultAction": "SCMP_ACT_ALLOW",
               "syscalls": [{"names": ["mkdir", "mkdirat"], "action": action}]}
    if flags is not None:
        profile["flags"] = flags
    spec = berth.config()
    spec["linux"]["seccomp"] = profile
    spec["process"]["noNewPrivileges"] = True
    spec["process"]["args"] = ["sh", "-c", SCRIPT]
    berth.write_config(spec)
    p = berth.run("run", "--bundle", berth.bundle, berth.new_id())
    assert p.returncode == 0, (action, flags, p.stderr)
    out = p.stdout.split()
    assert out[0] == "Seccomp:" and out[2].startswith("rc="), p.stdout
    return out[1], int(out[2][3:]), p.stderr


def test_every_listed_seccomp_action_is_enforced(berth):
    actions = features()["linux"]["seccomp"]["actions"]
    assert "SCMP_ACT_NOTIFY" in actions
    failed = []
    for action in (a for a in actions if a != "SCMP_ACT_NOTIFY"):
        mode, status, err = run_with_mkdir_rule(berth, action)
        want_status, want_err = ACTION_EFFECTS[action]
        if mode != "2" or status != want_status or want_err not in err:
            failed.append(f"{action}: Seccomp {mode}, mkdir exit {status}: {err.strip()}")
    assert not failed, failed


def test_every_supported_seccomp_flag_is_accepted(berth):
    """Each flag with an errno rule: the filter is in and enforced. (What
    LOG adds is in test_seccomp.py; WAIT_KILLABLE_RECV only means something
    with a listener, berth leaves it out otherwise.)"""
    supported = features()["linux"]["seccomp"]["supportedFlags"]
    assert set(supported) >= host_seccomp_flags()
    failed = []
    for flag in supported:
        mode, status, err = run_with_mkdir_rule(berth, "SCMP_ACT_ERRNO", [flag])
        if mode != "2" or status != 1 or "Operation not permitted" not in err:
            failed.append(f"{flag}: Seccomp {mode}, mkdir exit {status}: {err.strip()}")
    assert not failed, failed
