"""berthctl pull against Debian's docker-registry on loopback: images pushed
with skopeo (OCI and Docker schema 2 manifests, an index of two platforms),
pulled through berthd, unpacked and run; a missing tag, credentials from a
docker config.json, a corrupt blob served on purpose, and a kill -9 of
berthd in the middle of a pull."""
import json
import os
import shutil
import subprocess
import time

import pytest

from berthd_util import *  # noqa: F401,F403
from test_berthctl import Ctl, ctl  # noqa: F401 (the ctl fixture)
from test_images import images, store_files
from test_registry import (PASSWORD, USER, Registry, add_index, basic, credentials_file, run,
                           skopeo_push, umoci)

EMPTY = {"blobs": [], "ingest": [], "layers": [], "tmp": []}


@pytest.fixture(scope="module")
def pull_layout(tmp_path_factory, base_rootfs):
    """A runnable busybox image (the tests' rootfs as one layer), its arm64
    twin and an index of the two, made with umoci; and a big image."""
    work = str(tmp_path_factory.mktemp("pull"))
    lay = os.path.join(work, "layout")
    bundle = os.path.join(work, "bundle")
    umoci("init", "--layout", lay)
    umoci("new", "--image", f"{lay}:busybox")
    run("umoci", "unpack", "--image", f"{lay}:busybox", bundle)
    shutil.rmtree(os.path.join(bundle, "rootfs"))
    shutil.copytree(base_rootfs, os.path.join(bundle, "rootfs"), symlinks=True)
    umoci("repack", "--image", f"{lay}:busybox", bundle)
    umoci("config", "--image", f"{lay}:busybox", "--config.cmd", "echo",
          "--config.cmd", "pulled-and-ran")
    umoci("new", "--image", f"{lay}:arm64")
    umoci("insert", "--image", f"{lay}:arm64", "/bin/busybox", "/bin/busybox")
    umoci("config", "--image", f"{lay}:arm64", "--architecture", "arm64")
    add_index(lay, "multi")
    big = os.path.join(work, "big")
    os.makedirs(big)
    for i in range(12):
        with open(os.path.join(big, f"f{i}"), "wb") as f:
            f.write(os.urandom(4 << 20))
    umoci("tag", "--image", f"{lay}:busybox", "big")
    umoci("insert", "--image", f"{lay}:big", big, "/big")
    shutil.rmtree(big)
    return lay


@pytest.fixture(scope="module")
def registry(tmp_path_factory, pull_layout):
    reg = Registry(str(tmp_path_factory.mktemp("registry")))
    try:
        reg.digests = {
            "oci": skopeo_push(f"{pull_layout}:busybox", f"{reg.host}/test/busybox:1",
                               "--format", "oci"),
            "v2s2": skopeo_push(f"{pull_layout}:busybox", f"{reg.host}/test/busybox:v2s2",
                                "--format", "v2s2"),
            "multi": skopeo_push(f"{pull_layout}:multi", f"{reg.host}/test/multi:1", "--all"),
            "big": skopeo_push(f"{pull_layout}:big", f"{reg.host}/test/big:1", "--format", "oci"),
        }
        yield reg
    finally:
        reg.stop()


@pytest.mark.timeout(300)
def test_pull_by_tag_and_digest_both_manifest_families_and_run(ctl, berthd, registry):
    host = registry.host
    out = ctl.ok("pull", f"{host}/test/busybox:1")
    assert f"Digest: {registry.digests['oci']}" in out
    assert f"Pulled: {host}/test/busybox:1" in out
    r = ctl("run", "--rm", f"{host}/test/busybox:1")
    assert (r.returncode, r.stdout) == (0, "pulled-and-ran\n"), r.stderr
    ctl.ok("pull", "-q", f"{host}/test/busybox:v2s2")
    r = ctl("run", "--rm", f"{host}/test/busybox:v2s2", "echo", "docker-schema-2")
    assert (r.returncode, r.stdout) == (0, "docker-schema-2\n"), r.stderr
    ctl.ok("pull", f"{host}/test/busybox@{registry.digests['oci']}")
    names = sorted(i["name"] for i in images(ctl))
    assert names == [f"{host}/test/busybox:1", f"{host}/test/busybox:v2s2",
                     f"{host}/test/busybox@{registry.digests['oci']}"]
    # One layer for all three (the same diff id), and no compressed blob kept.
    assert len(store_files(berthd)["layers"]) == 1


@pytest.mark.timeout(300)
def test_pull_of_an_index_takes_the_platform(ctl, berthd, registry):
    ctl.ok("pull", f"{registry.host}/test/multi:1")
    [img] = images(ctl)
    assert img["platform"] == "linux/amd64"
    ctl.ok("rmi", f"{registry.host}/test/multi:1")
    ctl.ok("pull", "--platform", "linux/arm64", f"{registry.host}/test/multi:1")
    [img] = images(ctl)
    assert img["platform"] == "linux/arm64"
    r = ctl("pull", "--platform", "linux/s390x", f"{registry.host}/test/multi:1")
    assert r.returncode != 0 and "no image for platform linux/s390x" in r.stderr, r.stderr


@pytest.mark.timeout(120)
def test_pull_of_a_missing_tag_names_the_reference(ctl, berthd, registry):
    r = ctl("pull", f"{registry.host}/test/busybox:nope")
    assert r.returncode != 0
    assert f"{registry.host}/test/busybox:nope" in r.stderr and "not found" in r.stderr, r.stderr
    assert store_files(berthd) == EMPTY


@pytest.mark.timeout(300)
def test_pull_with_credentials_from_a_docker_config(ctl, berthd, pull_layout, tmp_path,
                                                   monkeypatch):
    htpasswd = str(tmp_path / "htpasswd")
    with open(htpasswd, "w") as f:
        f.write(run("htpasswd", "-Bbn", USER, PASSWORD).stdout)
    os.makedirs(tmp_path / "reg")
    reg = Registry(str(tmp_path / "reg"), htpasswd=htpasswd)
    try:
        skopeo_push(f"{pull_layout}:busybox", f"{reg.host}/private/busybox:1", "--format", "oci",
                    creds=f"{USER}:{PASSWORD}")
        ref = f"{reg.host}/private/busybox:1"
        r = ctl("pull", ref)
        assert r.returncode != 0 and "requires authentication" in r.stderr, r.stderr
        confdir = tmp_path / "docker"
        confdir.mkdir()
        with open(confdir / "config.json", "w") as f:
            json.dump({"auths": {reg.host: basic(USER, PASSWORD)}}, f)
        berthd.stop()
        monkeypatch.setenv("DOCKER_CONFIG", str(confdir))
        berthd.start()
        ctl.ok("pull", ref)
        r = ctl("run", "--rm", ref)
        assert r.stdout == "pulled-and-ran\n", r.stderr
    finally:
        reg.stop()


@pytest.mark.timeout(300)
def test_a_corrupt_blob_from_the_registry_fails_the_pull_and_leaves_nothing(
        ctl, berthd, pull_layout, tmp_path):
    os.makedirs(tmp_path / "reg")
    reg = Registry(str(tmp_path / "reg"))
    try:
        digest = skopeo_push(f"{pull_layout}:big", f"{reg.host}/test/big:1", "--format", "oci")
        blobs = os.path.join(reg.storage, "docker", "registry", "v2", "blobs", "sha256")
        manifest = json.load(open(os.path.join(blobs, digest[7:9], digest[7:], "data")))
        layer = manifest["layers"][-1]["digest"]
        path = reg.blob_data_path(layer)
        with open(path, "r+b") as f:
            f.seek(os.path.getsize(path) // 2)
            f.write(b"corrupt!")
        r = ctl("pull", f"{reg.host}/test/big:1")
        assert r.returncode != 0 and "failed verification" in r.stderr, r.stderr
        assert wait_for(lambda: store_files(berthd) == EMPTY or
                        store_files(berthd)["layers"] == [], 10), store_files(berthd)
        assert store_files(berthd)["layers"] == [] and store_files(berthd)["ingest"] == []
        assert images(ctl) == []
    finally:
        reg.stop()


@pytest.mark.timeout(300)
def test_kill9_during_pull_leaves_a_consistent_store(ctl, berthd, registry):
    ref = f"{registry.host}/test/big:1"
    for delay in (0.2, 0.8):
        p = ctl.popen("pull", ref, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        berthd.kill9()
        p.wait(30)
        berthd.start()
        assert wait_for(lambda: store_files(berthd)["ingest"] == [] and
                        store_files(berthd)["tmp"] == [], 20), store_files(berthd)
        if not images(ctl):
            assert wait_for(lambda: store_files(berthd)["layers"] == [], 20), store_files(berthd)
        ctl("rmi", ref)
    ctl.ok("pull", ref)
    r = ctl("run", "--rm", ref, "sh", "-c", "ls /big | wc -l")
    assert r.stdout.strip() == "12", r.stderr


@pytest.mark.timeout(300)
def test_run_pulls_a_missing_image_as_docker_does(ctl, berthd, registry):
    ref = f"{registry.host}/test/busybox:1"
    r = ctl("run", "--rm", "--pull", "never", ref)
    assert r.returncode != 0 and "not found" in r.stderr, r.stderr
    assert images(ctl) == []
    r = ctl("run", "--rm", ref)
    assert (r.returncode, r.stdout) == (0, "pulled-and-ran\n"), r.stderr
    assert f"Unable to find image '{ref}' locally" in r.stderr
    r = ctl("run", "--rm", "--pull", "always", ref, "echo", "again")
    assert (r.returncode, r.stdout) == (0, "again\n"), r.stderr
    r = ctl("run", "--rm", "--pull", "sometimes", ref)
    assert r.returncode != 0 and "--pull" in r.stderr
