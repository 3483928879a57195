"""User namespaces (maps written before anything else) and rootless berth run
by an unprivileged user."""
import json
import os
import pwd
import shutil
import subprocess

import pytest

from conftest import BERTH, ROOT, bundle_fixture

MAP = [{"containerID": 0, "hostID": 100000, "size": 65536}]


def open_path_to(path):
    """Lets any user traverse the directories above path (pytest's tmp dirs
    are 0700): the container's mapped root is not the host's root."""
    path = os.path.dirname(str(path))
    while path not in ("/", ""):
        st = os.stat(path)
        os.chmod(path, st.st_mode | 0o111)
        path = os.path.dirname(path)


def with_userns(spec):
    spec["linux"]["namespaces"].append({"type": "user"})
    spec["linux"]["uidMappings"] = MAP
    spec["linux"]["gidMappings"] = MAP
    return spec


def test_user_namespace_maps_and_ownership(berth, tmp_path):
    open_path_to(berth.bundle + "/rootfs")
    # As with any user-namespaced image, the rootfs belongs to the mapped root.
    subprocess.run(["chown", "-R", "-h", "100000:100000", berth.bundle + "/rootfs"], check=True)
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o777)
    spec = with_userns(berth.config())
    spec["mounts"].append({"destination": "/shared", "type": "bind", "source": str(shared),
                           "options": ["rbind"]})
    spec["process"]["args"] = ["sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map; id -u; "
                               "touch /shared/made-inside; readlink /proc/self/ns/user"]
    berth.write_config(spec)
    p = berth.run("run", "--bundle", berth.bundle, berth.new_id())
    assert p.returncode == 0, p.stderr
    lines = p.stdout.split("\n")
    assert lines[0].split() == ["0", "100000", "65536"]
    assert lines[1].split() == ["0", "100000", "65536"]
    assert lines[2] == "0"
    assert lines[3] != os.readlink("/proc/self/ns/user")
    st = os.stat(shared / "made-inside")
    assert (st.st_uid, st.st_gid) == (100000, 100000)


def test_user_namespace_needs_mappings(berth):
    spec = berth.config()
    spec["linux"]["namespaces"].append({"type": "user"})
    berth.write_config(spec)
    p = berth.run("create", "--bundle", berth.bundle, berth.new_id())
    assert p.returncode != 0 and "linux.uidMappings: required" in p.stderr
    assert not os.path.exists(berth.root) or os.listdir(berth.root) == []


def test_mappings_without_user_namespace_refused(berth):
    spec = berth.config()
    spec["linux"]["uidMappings"] = MAP
    spec["linux"]["gidMappings"] = MAP
    berth.write_config(spec)
    p = berth.run("create", "--bundle", berth.bundle, berth.new_id())
    assert p.returncode != 0 and "need a user namespace" in p.stderr


USER = "berthtest"


@pytest.fixture
def unprivileged_user():
    try:
        pw = pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(["useradd", "--no-create-home", "--shell", "/bin/sh", USER], check=True)
        pw = pwd.getpwnam(USER)
    return pw


def test_rootless_run(unprivileged_user, tmp_path):
    pw = unprivileged_user
    home = tmp_path / "rootless"
    home.mkdir()
    open_path_to(home / "x")
    bundle = home / "bundle"
    runtime_dir = home / "xdg"
    runtime_dir.mkdir()
    bundle_fixture.make_rootfs(str(bundle / "rootfs"))
    subprocess.run(["chown", "-R", f"{pw.pw_uid}:{pw.pw_gid}", str(home)], check=True)
    # berth itself must be reachable by the user
    as_user = ["runuser", "-u", USER, "--", "env", f"XDG_RUNTIME_DIR={runtime_dir}"]
    subprocess.run(as_user + [BERTH, "spec", "--rootless", "--bundle", str(bundle)], check=True)
    with open(bundle / "config.json") as f:
        spec = json.load(f)
    assert any(n["type"] == "user" for n in spec["linux"]["namespaces"])
    spec["process"]["terminal"] = False
    spec["process"]["args"] = ["sh", "-c", "cat /proc/self/uid_map; id -u; hostname; echo $$"]
    with open(bundle / "config.json", "w") as f:
        json.dump(spec, f)
    p = subprocess.run(as_user + [BERTH, "run", "--bundle", str(bundle), "rootless1"],
                       capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60)
    assert p.returncode == 0, p.stderr
    out = p.stdout.splitlines()
    assert out[0].split() == ["0", str(pw.pw_uid), "1"]
    assert out[1] == "0"
    assert out[3] == "1"
    assert "running without cgroups (rootless)" in p.stderr
    # state lived in $XDG_RUNTIME_DIR/berth and is gone after run
    assert os.listdir(runtime_dir / "berth") == []
    shutil.rmtree(home, ignore_errors=True)
