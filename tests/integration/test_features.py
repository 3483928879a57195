"""`berth features`: the runtime-spec features document, and proof that what
it lists is accepted by a real container."""
import json
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
    assert linux["cgroup"]["systemd"] is False
    seccomp = linux["seccomp"]
    assert seccomp["enabled"] is True
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


def seccomp_with(berth, action=None, flags=None):
    """A profile allowing everything but, optionally, `acct` (which nothing
    in the container calls) under `action`."""
    profile = {"defaultAction": "SCMP_ACT_ALLOW"}
    if action is not None:
        profile["syscalls"] = [{"names": ["acct"], "action": action}]
    if flags is not None:
        profile["flags"] = flags
    spec = berth.config()
    spec["linux"]["seccomp"] = profile
    spec["process"]["noNewPrivileges"] = True
    spec["process"]["args"] = ["true"]
    berth.write_config(spec)


def run_true(berth):
    return berth.run("run", "--bundle", berth.bundle, berth.new_id())


def test_every_listed_seccomp_action_is_accepted(berth):
    actions = features()["linux"]["seccomp"]["actions"]
    assert "SCMP_ACT_ERRNO" in actions
    failed = []
    # SCMP_ACT_NOTIFY needs a listener (test_seccomp.py covers it).
    for action in (a for a in actions if a != "SCMP_ACT_NOTIFY"):
        seccomp_with(berth, action)
        p = run_true(berth)
        if p.returncode != 0:
            failed.append(f"{action}: exit {p.returncode}: {p.stderr.strip()}")
    assert not failed, failed


def test_every_supported_seccomp_flag_is_accepted(berth):
    """WAIT_KILLABLE_RECV only means something with a listener (berth leaves
    it out otherwise); here each flag is only checked to be accepted."""
    failed = []
    for flag in features()["linux"]["seccomp"]["supportedFlags"]:
        seccomp_with(berth, "SCMP_ACT_ERRNO", [flag])
        p = run_true(berth)
        if p.returncode != 0:
            failed.append(f"{flag}: exit {p.returncode}: {p.stderr.strip()}")
    assert not failed, failed
