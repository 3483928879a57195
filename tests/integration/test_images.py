"""Images in berthd through berthctl: import of OCI layouts (umoci's, and
hand-written ones), docker save archives (skopeo's docker-archive), a tar on
stdin; layers unpacked once with whiteouts and opaque directories as overlay
sees them; hostile layers refused without a byte outside; corrupt blobs;
run of an image with its Entrypoint/Cmd/Env/WorkingDir/User; rm with
garbage collection; a kill -9 of berthd in the middle of an import."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from berthd_util import *  # noqa: F401,F403
from test_berthctl import Ctl, ctl  # noqa: F401 (the ctl fixture)

sys.path.insert(0, os.path.join(ROOT, "tests", "fixtures"))
import oci_image  # noqa: E402


def store_files(bd):
    """What the content and layer stores hold (digests, layer dirs, temporaries)."""
    content = os.path.join(bd.root, "content")
    layers = os.path.join(bd.root, "layers")
    return {
        "blobs": sorted(os.listdir(os.path.join(content, "sha256"))),
        "ingest": sorted(os.listdir(os.path.join(content, "ingest"))),
        "layers": sorted(d for d in os.listdir(layers) if d != "tmp"),
        "tmp": sorted(os.listdir(os.path.join(layers, "tmp"))),
    }


def images(ctl):
    return [json.loads(l) for l in ctl.ok("images", "--format", "json").splitlines() if l.strip()]


@pytest.fixture
def rootfs_layer(berthd):
    return oci_image.tar_of_dir(berthd.rootfs)


def layout(tmp_path, name, layers, **kw):
    path = str(tmp_path / name)
    oci_image.write_layout(path, layers, **kw)
    return path


# ---------------------------------------------------------------------------
# import and run

@pytest.mark.timeout(300)
def test_umoci_layout_imports_and_runs_with_its_config(ctl, berthd, tmp_path):
    lay = str(tmp_path / "umoci")
    bundle = str(tmp_path / "bundle")
    subprocess.run(["umoci", "init", "--layout", lay], check=True)
    subprocess.run(["umoci", "new", "--image", lay + ":latest"], check=True)
    subprocess.run(["umoci", "unpack", "--image", lay + ":latest", bundle], check=True,
                   capture_output=True)
    shutil.rmtree(os.path.join(bundle, "rootfs"))
    shutil.copytree(berthd.rootfs, os.path.join(bundle, "rootfs"), symlinks=True)
    subprocess.run(["umoci", "repack", "--image", lay + ":latest", bundle], check=True)
    subprocess.run(["umoci", "config", "--image", lay + ":latest",
                    "--config.entrypoint", "/bin/sh", "--config.entrypoint", "-c",
                    "--config.cmd", 'echo "cmd:$0:$GREETING:$(pwd):$(id -u):$(id -g)"',
                    "--config.env", "GREETING=hello", "--config.env", "PATH=/bin:/usr/bin",
                    "--config.workingdir", "/home/berth", "--config.user", "berth",
                    "--config.label", "org.example.kind=test"], check=True)
    # umoci names the image only by its tag: the repository comes from --name.
    r = ctl("load", "-i", lay)
    assert r.returncode != 0 and "--name" in r.stderr, r.stderr
    out = ctl.ok("load", "-i", lay, "--name", "example.com/test/busybox")
    assert "Loaded image: example.com/test/busybox:latest" in out
    [img] = images(ctl)
    assert img["name"] == "example.com/test/busybox:latest"
    assert img["config"]["user"] == "berth" and img["config"]["working_dir"] == "/home/berth"
    # Defaults from the image; the User's name resolved in the image's /etc/passwd.
    r = ctl("run", "--rm", "example.com/test/busybox")
    assert (r.returncode, r.stdout) == (0, "cmd:/bin/sh:hello:/home/berth:1000:1000\n"), r.stderr
    # Args replace Cmd; -e overrides Env; -w and -u replace WorkingDir and User.
    r = ctl("run", "--rm", "-e", "GREETING=bye", "-w", "/tmp", "-u", "nobody:audio",
            "example.com/test/busybox", 'echo "$GREETING $(pwd) $(id -u) $(id -g)"')
    assert (r.returncode, r.stdout) == (0, "bye /tmp 65534 29\n"), r.stderr
    # --entrypoint replaces the Entrypoint and drops the image's Cmd.
    r = ctl("run", "--rm", "--entrypoint", "/bin/echo", "example.com/test/busybox", "plain")
    assert (r.returncode, r.stdout) == (0, "plain\n"), r.stderr
    # The container writes to its own upper layer, never to the image.
    ctl.ok("run", "--name", "writer", "-u", "root", "example.com/test/busybox",
           "echo changed > /etc/motd")
    r = ctl("run", "--rm", "example.com/test/busybox", "cat /etc/motd 2>&1 || echo absent")
    assert r.stdout.strip().endswith("absent")
    ctl.ok("rm", "writer")
    # Labels of the image are the container's too.
    cid = ctl.ok("create", "example.com/test/busybox").strip()
    assert ctl.inspect(cid)["container"]["labels"]["org.example.kind"] == "test"
    assert ctl.inspect(cid)["container"]["image"] == "example.com/test/busybox:latest"


@pytest.mark.timeout(300)
def test_docker_archive_from_skopeo_imports_from_a_file_and_from_stdin(ctl, berthd, tmp_path,
                                                                        rootfs_layer):
    lay = layout(tmp_path, "oci", [rootfs_layer], config={"Cmd": ["echo", "from-docker-save"]})
    archive = str(tmp_path / "busybox-docker.tar")
    subprocess.run(["skopeo", "copy", "oci:" + lay + ":latest",
                    "docker-archive:" + archive + ":docker.io/library/busybox:1.36"],
                   check=True, capture_output=True)
    with open(archive, "rb") as f:
        r = subprocess.run(ctl.argv("load"), stdin=f, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "Loaded image: busybox:1.36" in r.stdout
    r = ctl("run", "--rm", "busybox:1.36")
    assert (r.returncode, r.stdout) == (0, "from-docker-save\n"), r.stderr
    # The same archive by path gives the same image (layers unpacked once).
    before = store_files(berthd)
    ctl.ok("image", "import", archive)
    assert store_files(berthd)["layers"] == before["layers"]
    # docker's own table.
    table = ctl.ok("images").splitlines()
    assert table[0].split() == ["REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE"]
    assert table[1].split()[:2] == ["busybox", "1.36"]


@pytest.mark.timeout(120)
def test_whiteouts_and_opaque_directories_across_layers(ctl, berthd, tmp_path, rootfs_layer):
    E = oci_image.entry
    lower = oci_image.tar_of_entries([
        E("data", "dir", mode=0o755), E("data/a", data=b"a"), E("data/b", data=b"b"),
        E("opaque", "dir", mode=0o755), E("opaque/old", data=b"old"),
        E("opaque/sub", "dir", mode=0o755), E("opaque/sub/deep", data=b"deep"),
        E("link", "symlink", target="/data/b"), E("hard", "hardlink", target="data/a"),
        E("owned", data=b"o", mode=0o4750, uid=1000, gid=29),
    ])
    upper = oci_image.tar_of_entries([
        E("data/.wh.a", data=b""), E("opaque", "dir", mode=0o700),
        E("opaque/.wh..wh..opq", data=b""), E("opaque/new", data=b"new"),
    ])
    lay = layout(tmp_path, "wh", [rootfs_layer, lower, upper], ref="latest")
    ctl.ok("load", "-i", lay, "--name", "wh")
    script = ("ls /data; echo --; ls -R /opaque; echo --; cat /link /hard; echo; "
              "stat -c '%a %u %g' /owned /opaque")
    r = ctl("run", "--rm", "wh", "sh", "-c", script)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split("--\n") == ["b\n", "/opaque:\nnew\n", "ba\n4750 1000 29\n700 0 0\n"]


@pytest.mark.timeout(120)
@pytest.mark.parametrize("case", ["dotdot", "absolute-symlink-parent", "relative-symlink-parent",
                                  "hardlink-dotdot", "hardlink-through-symlink", "overlay-xattr"])
def test_hostile_layers_never_write_outside(ctl, berthd, tmp_path, case):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_text("host")
    E = oci_image.entry
    o = str(outside)
    entries = {
        "dotdot": [E("../../../../../../" + o.lstrip("/") + "/pwned", data=b"x")],
        "absolute-symlink-parent": [E("esc", "symlink", target=o), E("esc/pwned", data=b"x")],
        "relative-symlink-parent": [E("esc", "symlink", target="../" * 12 + o.lstrip("/")),
                                    E("esc/pwned", data=b"x")],
        "hardlink-dotdot": [E("h", "hardlink", target="../" * 12 + o.lstrip("/") + "/secret")],
        "hardlink-through-symlink": [E("esc", "symlink", target=o),
                                     E("h", "hardlink", target="esc/secret")],
        "overlay-xattr": [E("d", "dir", mode=0o755,
                            xattrs={"trusted.overlay.redirect": "/etc"})],
    }[case]
    lay = layout(tmp_path, "bad", [oci_image.tar_of_entries(entries)])
    r = ctl("load", "-i", lay, "--name", "bad")
    assert sorted(os.listdir(outside)) == ["secret"] and (outside / "secret").read_text() == "host"
    left = store_files(berthd)
    assert left["ingest"] == [] and left["tmp"] == []
    if r.returncode != 0:
        # Refused: the message names the entry; nothing of it is kept.
        assert "layer entry" in r.stderr or "leaves the layer" in r.stderr, r.stderr
        assert left["blobs"] == [] and left["layers"] == []
        assert images(ctl) == []
    else:
        # Accepted: everything landed inside the layer.
        [layer_dir] = [os.path.join(berthd.root, "layers", d) for d in left["layers"]]
        for dirpath, _, files in os.walk(layer_dir):
            for f in files:
                p = os.path.join(dirpath, f)
                assert os.path.realpath(p).startswith(layer_dir) or os.path.islink(p)
        if case == "overlay-xattr":
            attrs = os.listxattr(os.path.join(layer_dir, "d"))
            assert not [a for a in attrs if a.startswith("trusted.overlay.")]


@pytest.mark.timeout(120)
def test_a_corrupt_blob_is_refused_and_nothing_is_kept(ctl, berthd, tmp_path, rootfs_layer):
    lay = layout(tmp_path, "corrupt", [rootfs_layer], corrupt=0)
    r = ctl("load", "-i", lay, "--name", "corrupt")
    assert r.returncode != 0
    assert "failed verification" in r.stderr, r.stderr
    assert store_files(berthd) == {"blobs": [], "ingest": [], "layers": [], "tmp": []}
    assert images(ctl) == []
    # A tarball of it, streamed: the same.
    tar = oci_image.tar_dir_to_file(lay, str(tmp_path / "corrupt.tar"))
    r = ctl("load", "-i", tar, "--name", "corrupt")
    assert r.returncode != 0 and "failed verification" in r.stderr, r.stderr
    assert store_files(berthd) == {"blobs": [], "ingest": [], "layers": [], "tmp": []}


@pytest.mark.timeout(180)
def test_rm_keeps_shared_layers_refuses_images_in_use_and_collects_garbage(ctl, berthd, tmp_path,
                                                                           rootfs_layer):
    E = oci_image.entry
    one = oci_image.tar_of_entries([E("one", data=b"1")])
    two = oci_image.tar_of_entries([E("two", data=b"2")])
    ctl.ok("load", "-i", layout(tmp_path, "a", [rootfs_layer, one]), "--name", "img-a")
    ctl.ok("load", "-i", layout(tmp_path, "b", [rootfs_layer, two]), "--name", "img-b")
    files = store_files(berthd)
    assert len(files["layers"]) == 3  # the shared base once
    # Compressed layer blobs are dropped after the unpack: manifest + config each.
    assert len(files["blobs"]) == 4
    cid = ctl.ok("run", "-d", "img-a", "sleep", "100").strip()
    r = ctl("rmi", "img-a")
    assert r.returncode != 0 and "used by container" in r.stderr, r.stderr
    ctl.ok("tag", "img-b", "img-b-alias")
    assert ctl.ok("rmi", "img-b") == "Untagged: img-b:latest\n"
    assert len(store_files(berthd)["layers"]) == 3  # img-b-alias keeps them
    ctl.ok("rmi", "img-b-alias")
    assert len(store_files(berthd)["layers"]) == 2
    # -f removes the name; the running container keeps its layers.
    ctl.ok("rmi", "-f", "img-a")
    assert images(ctl) == [] and len(store_files(berthd)["layers"]) == 2
    assert ctl.exec_ok(cid, "cat", "/one") == "1"
    ctl.ok("rm", "-f", cid)
    empty = {"blobs": [], "ingest": [], "layers": [], "tmp": []}
    assert wait_for(lambda: store_files(berthd) == empty, 20), store_files(berthd)
    df = ctl.ok("system", "df")
    assert df.splitlines()[1].split()[:2] == ["Images", "0"]


@pytest.mark.timeout(300)
def test_kill9_during_import_leaves_a_consistent_store(ctl, berthd, tmp_path, rootfs_layer):
    E = oci_image.entry
    big = oci_image.tar_of_entries([E(f"f{i}", data=os.urandom(4 << 20)) for i in range(40)])
    lay = layout(tmp_path, "big", [rootfs_layer, big], compress=True)
    for delay in (0.3, 1.5):
        p = ctl.popen("load", "-i", lay, "--name", "big", stdout=subprocess.DEVNULL,
                      stderr=subprocess.DEVNULL)
        time.sleep(delay)
        berthd.kill9()
        p.wait(30)
        berthd.start()
        # The sweep at start removes what was never recorded.
        assert wait_for(lambda: store_files(berthd)["ingest"] == [] and
                        store_files(berthd)["tmp"] == [], 20), store_files(berthd)
        names = [i["name"] for i in images(ctl)]
        files = store_files(berthd)
        if names:
            assert len(files["layers"]) == 2
        else:
            assert wait_for(lambda: store_files(berthd)["layers"] == [] and
                            store_files(berthd)["blobs"] == [], 20), store_files(berthd)
        ctl("rmi", "big")
    out = ctl.ok("load", "-i", lay, "--name", "big")
    assert "Loaded image: big:latest" in out
    r = ctl("run", "--rm", "big", "sh", "-c", "ls / | grep -c '^f'")
    assert r.stdout.strip() == "40", r.stderr


@pytest.mark.timeout(120)
def test_containers_berthd_builds_get_a_default_seccomp_profile(ctl):
    # As docker: a filter on every container (mode 2), none with --privileged;
    # the calls a capability makes legitimate are allowed with it.
    r = ctl.run("grep", "^Seccomp:", "/proc/self/status")
    assert r.stdout.split() == ["Seccomp:", "2"], r.stderr
    r = ctl.run("--privileged", "grep", "^Seccomp:", "/proc/self/status")
    assert r.stdout.split() == ["Seccomp:", "0"], r.stderr
    r = ctl.run("--cap-add", "SYS_ADMIN", "sh", "-c", "mount -t tmpfs t /tmp && echo mounted")
    assert r.stdout == "mounted\n", r.stderr
    r = ctl.run("sh", "-c", "mount -t tmpfs t /tmp 2>&1; echo rc=$?")
    assert "rc=0" not in r.stdout


@pytest.mark.timeout(180)
def test_image_volumes_and_stop_signal(ctl, berthd, tmp_path, rootfs_layer):
    lay = layout(tmp_path, "vol", [rootfs_layer],
                 config={"Cmd": ["sh", "-c", "trap 'echo got-usr1; exit 7' USR1; "
                                 "echo ready; while :; do sleep 0.1; done"],
                         "Volumes": {"/data": {}}, "StopSignal": "SIGUSR1"})
    ctl.ok("load", "-i", lay, "--name", "vol")
    cid = ctl.ok("run", "-d", "vol").strip()
    ctl.wait_running(cid)
    # /data is a volume of the container's own: a bind mount, not the overlay.
    mounts = ctl.exec_ok(cid, "cat", "/proc/self/mountinfo")
    assert [l for l in mounts.splitlines() if l.split()[4] == "/data"], mounts
    ctl.exec_ok(cid, "sh", "-c", "echo kept > /data/f")
    vols = os.path.join(berthd.root, "containers")
    found = [os.path.join(d, f) for d, _, fs in os.walk(vols) for f in fs if f == "f"]
    assert len(found) == 1 and "/volumes/0/" in found[0]
    # stop sends the image's StopSignal first.
    ctl.ok("stop", "-t", "10", cid)
    assert ctl.inspect(cid)["task"]["init"]["exit_status"] == 7
    ctl.ok("rm", cid)
    assert not [d for d, _, fs in os.walk(vols) for f in fs if f == "f"]


@pytest.mark.timeout(120)
def test_uncompressed_gzip_and_zstd_layers(ctl, berthd, tmp_path, rootfs_layer):
    E = oci_image.entry
    big = os.urandom(3 << 20)  # more than the unpacker's buffers, in every format
    layers = [rootfs_layer,
              oci_image.tar_of_entries([E("plain", data=b"none" + big)]),
              oci_image.tar_of_entries([E("gz", data=b"gzip" + big)]),
              oci_image.tar_of_entries([E("zs", data=b"zstd" + big)])]
    lay = layout(tmp_path, "mixed", layers, compress=["gzip", "none", "gzip", "zstd"])
    ctl.ok("load", "-i", lay, "--name", "mixed")
    r = ctl("run", "--rm", "mixed", "sh", "-c", "head -c4 /plain /gz /zs; echo; wc -c < /zs")
    assert r.returncode == 0, r.stderr
    assert "none" in r.stdout and "gzip" in r.stdout and "zstd" in r.stdout, r.stdout
    assert r.stdout.split()[-1] == str(4 + len(big))
