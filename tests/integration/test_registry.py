"""The registry client (supervisor/registry/) against Debian's docker-registry
on loopback: plain HTTP, TLS with a CA made here, and htpasswd auth behind
TLS, with images pushed by skopeo from OCI layouts made with umoci. Driven
through tests/registry/registry-fetch. Every server runs on 127.0.0.1 on a
free port with its storage in a private directory, and is stopped (and its
directory removed) by the fixture that started it.
"""
import base64
import hashlib
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FETCH = os.environ.get("REGISTRY_FETCH",
                       os.path.join(ROOT, "build", "tests", "registry", "registry-fetch"))
DOCKER_REGISTRY = "/usr/bin/docker-registry"
BUSYBOX = "/bin/busybox"

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"

pytestmark = pytest.mark.skipif(
    not all(os.path.exists(p) for p in (DOCKER_REGISTRY, "/usr/bin/skopeo", "/usr/bin/umoci",
                                        "/usr/bin/htpasswd", BUSYBOX)),
    reason="needs docker-registry, skopeo, umoci, apache2-utils, busybox-static "
           "(scripts/install-deps.sh)")

# No proxy for loopback, whatever the environment says.
CLEAN_ENV = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}


def run(*cmd, check=True, timeout=120, env=None):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                       env=env or CLEAN_ENV)
    if check and p.returncode != 0:
        raise AssertionError(f"{cmd} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    return p


def fetch(*args, check=True, timeout=120):
    """registry-fetch ARGS: (returncode, stdout, stderr)."""
    p = run(FETCH, *args, check=False, timeout=timeout)
    if check and p.returncode != 0:
        raise AssertionError(f"registry-fetch {args} failed:\n{p.stdout}\n{p.stderr}")
    return p


def parse_manifest_output(stdout):
    out = {}
    for line in stdout.splitlines():
        key, _, value = line.partition(": ")
        out[key] = value
    return out


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Registry:
    """One docker-registry process on 127.0.0.1 with private storage."""

    def __init__(self, workdir, tls=None, htpasswd=None):
        self.dir = workdir
        self.storage = os.path.join(workdir, "storage")
        os.makedirs(self.storage)
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.tls = tls
        config = {
            "version": 0.1,
            "log": {"level": "warn", "accesslog": {"disabled": True}},
            "storage": {"filesystem": {"rootdirectory": self.storage},
                        "delete": {"enabled": True}},
            "http": {"addr": self.host, "secret": "berth-test"},
        }
        if tls:
            config["http"]["tls"] = {"certificate": tls["cert"], "key": tls["key"]}
        if htpasswd:
            config["auth"] = {"htpasswd": {"realm": "berth-test", "path": htpasswd}}
        # JSON is YAML.
        self.config = os.path.join(workdir, "config.yml")
        with open(self.config, "w") as f:
            json.dump(config, f)
        self.log = open(os.path.join(workdir, "registry.log"), "w")
        self.proc = subprocess.Popen([DOCKER_REGISTRY, "serve", self.config], stdout=self.log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     env=CLEAN_ENV, start_new_session=True)
        self.wait_ready()

    def wait_ready(self):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"docker-registry exited: {self.read_log()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        raise AssertionError(f"docker-registry did not listen on {self.host}: {self.read_log()}")

    def read_log(self):
        self.log.flush()
        with open(self.log.name) as f:
            return f.read()

    def blob_data_path(self, digest):
        hexd = digest.split(":", 1)[1]
        return os.path.join(self.storage, "docker", "registry", "v2", "blobs", "sha256",
                            hexd[:2], hexd, "data")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def skopeo_push(layout_ref, dest, *extra, creds=None, cert_dir=None):
    """Pushes oci:LAYOUT:TAG to docker://DEST; the pushed manifest's digest."""
    with tempfile.NamedTemporaryFile(mode="r") as digestfile:
        cmd = ["skopeo", "--insecure-policy", "copy", "-q", "--digestfile", digestfile.name]
        if cert_dir:
            cmd += ["--dest-cert-dir", cert_dir]
        else:
            cmd += ["--dest-tls-verify=false"]
        cmd += ["--dest-creds", creds] if creds else ["--dest-no-creds"]
        run(*cmd, *extra, f"oci:{layout_ref}", f"docker://{dest}", timeout=300)
        return digestfile.read().strip()


def umoci(*args):
    return run("umoci", *args)


def write_blob(layout, data):
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    path = os.path.join(layout, "blobs", "sha256", digest.split(":")[1])
    with open(path, "wb") as f:
        f.write(data)
    return digest


def add_index(layout, tag):
    """An image index over every manifest of the layout's index.json, tagged
    `tag` in the same layout (skopeo copies it with --all)."""
    with open(os.path.join(layout, "index.json")) as f:
        top = json.load(f)
    manifests = []
    for desc in top["manifests"]:
        with open(os.path.join(layout, "blobs", "sha256", desc["digest"].split(":")[1])) as f:
            manifest = json.load(f)
        with open(os.path.join(layout, "blobs", "sha256",
                               manifest["config"]["digest"].split(":")[1])) as f:
            config = json.load(f)
        manifests.append({"mediaType": desc["mediaType"], "digest": desc["digest"],
                          "size": desc["size"],
                          "platform": {"os": config["os"],
                                       "architecture": config["architecture"]}})
    index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX,
                        "manifests": manifests}).encode()
    digest = write_blob(layout, index)
    top["manifests"].append({"mediaType": OCI_INDEX, "digest": digest, "size": len(index),
                             "annotations": {"org.opencontainers.image.ref.name": tag}})
    with open(os.path.join(layout, "index.json"), "w") as f:
        json.dump(top, f)
    return digest


@pytest.fixture(scope="module")
def workdir():
    d = tempfile.mkdtemp(prefix="berth-registry-test-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def layout(workdir):
    """An OCI layout made with umoci: `busybox` (busybox-static in /bin),
    `arm64` (the same with an arm64 config), `multi` (an index of the two)
    and `unique` (a layer of random bytes, for corrupting)."""
    path = os.path.join(workdir, "layout")
    umoci("init", "--layout", path)
    umoci("new", "--image", f"{path}:busybox")
    umoci("insert", "--image", f"{path}:busybox", BUSYBOX, "/bin/busybox")
    umoci("config", "--image", f"{path}:busybox", "--config.cmd", "/bin/busybox")
    umoci("new", "--image", f"{path}:arm64")
    umoci("insert", "--image", f"{path}:arm64", BUSYBOX, "/bin/busybox")
    umoci("config", "--image", f"{path}:arm64", "--architecture", "arm64")
    add_index(path, "multi")
    noise = os.path.join(workdir, "noise")
    with open(noise, "wb") as f:
        f.write(os.urandom(256 << 10))
    umoci("new", "--image", f"{path}:unique")
    umoci("insert", "--image", f"{path}:unique", noise, "/noise")
    os.unlink(noise)
    return path


def push_all(layout, host, **kw):
    """The test images in `host`; their manifest digests."""
    return {
        "oci": skopeo_push(f"{layout}:busybox", f"{host}/test/busybox:1", "--format", "oci", **kw),
        "v2s2": skopeo_push(f"{layout}:busybox", f"{host}/test/busybox:v2s2", "--format", "v2s2",
                            **kw),
        "index": skopeo_push(f"{layout}:multi", f"{host}/test/multi:1", "--all", **kw),
    }


@pytest.fixture(scope="module")
def plain(workdir, layout):
    """A plain HTTP registry with the test images."""
    reg = Registry(os.path.join(workdir, "plain"))
    try:
        reg.digests = push_all(layout, reg.host)
        yield reg
    finally:
        reg.stop()


@pytest.fixture(scope="module")
def ca(workdir):
    """A self-signed CA and a server certificate for 127.0.0.1 it signed;
    also a hashed CA directory (openssl rehash) and a docker-style cert dir
    for skopeo."""
    d = os.path.join(workdir, "pki")
    os.makedirs(d)
    p = lambda name: os.path.join(d, name)  # noqa: E731
    run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
        "-nodes", "-keyout", p("ca.key"), "-out", p("ca.crt"), "-days", "2",
        "-subj", "/CN=berth test CA", "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    run("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", p("server.key"), "-out", p("server.csr"), "-subj", "/CN=127.0.0.1")
    with open(p("ext.cnf"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n"
                "extendedKeyUsage=serverAuth\n")
    run("openssl", "x509", "-req", "-in", p("server.csr"), "-CA", p("ca.crt"), "-CAkey",
        p("ca.key"), "-CAcreateserial", "-out", p("server.crt"), "-days", "2",
        "-extfile", p("ext.cnf"))
    ca_dir = p("cadir")
    os.makedirs(ca_dir)
    shutil.copy(p("ca.crt"), os.path.join(ca_dir, "berth-test-ca.pem"))
    run("openssl", "rehash", ca_dir)
    skopeo_dir = p("skopeo-certs")
    os.makedirs(skopeo_dir)
    shutil.copy(p("ca.crt"), os.path.join(skopeo_dir, "ca.crt"))
    return {"ca": p("ca.crt"), "ca_dir": ca_dir, "cert": p("server.crt"), "key": p("server.key"),
            "skopeo_dir": skopeo_dir}


@pytest.fixture(scope="module")
def tls(workdir, layout, ca):
    reg = Registry(os.path.join(workdir, "tls"), tls=ca)
    try:
        reg.digests = {"oci": skopeo_push(f"{layout}:busybox", f"{reg.host}/test/busybox:1",
                                          "--format", "oci", cert_dir=ca["skopeo_dir"])}
        yield reg
    finally:
        reg.stop()


USER, PASSWORD = "berth", "s3cret-pass"


@pytest.fixture(scope="module")
def auth(workdir, layout, ca):
    """htpasswd (bcrypt) auth behind TLS."""
    d = os.path.join(workdir, "auth")
    os.makedirs(d)
    htpasswd = os.path.join(d, "htpasswd")
    with open(htpasswd, "w") as f:
        f.write(run("htpasswd", "-Bbn", USER, PASSWORD).stdout)
    reg = Registry(os.path.join(d, "registry"), tls=ca, htpasswd=htpasswd)
    try:
        reg.digests = {"oci": skopeo_push(f"{layout}:busybox", f"{reg.host}/test/busybox:1",
                                          "--format", "oci", cert_dir=ca["skopeo_dir"],
                                          creds=f"{USER}:{PASSWORD}")}
        yield reg
    finally:
        reg.stop()


def credentials_file(directory, entries):
    """A docker config.json with `entries` as its auths."""
    path = os.path.join(directory, f"config-{len(os.listdir(directory))}.json")
    with open(path, "w") as f:
        json.dump({"auths": entries}, f)
    return path


def basic(user, password):
    return {"auth": base64.b64encode(f"{user}:{password}".encode()).decode()}


def store_files(store):
    found = []
    for sub in ("sha256", "ingest"):
        d = os.path.join(store, "content", sub)
        if os.path.isdir(d):
            found += [os.path.join(sub, n) for n in os.listdir(d)]
    return sorted(found)


def manifest(ref, *opts, output=None):
    args = list(opts) + ["manifest", ref]
    if output:
        args += ["--output", output]
    p = fetch(*args)
    return parse_manifest_output(p.stdout)


# ---- plain HTTP ----

def test_manifest_by_tag_oci(plain, tmp_path):
    out = tmp_path / "m.json"
    m = manifest(f"{plain.host}/test/busybox:1", output=str(out))
    assert m["media-type"] == OCI_MANIFEST
    assert m["digest"] == plain.digests["oci"]
    data = out.read_bytes()
    assert "sha256:" + hashlib.sha256(data).hexdigest() == m["digest"]
    assert int(m["size"]) == len(data)
    assert json.loads(data)["layers"]


def test_manifest_by_tag_docker_schema2(plain):
    m = manifest(f"{plain.host}/test/busybox:v2s2")
    assert m["media-type"] == DOCKER_MANIFEST
    assert m["digest"] == plain.digests["v2s2"]


def test_manifest_by_digest(plain, tmp_path):
    for kind in ("oci", "v2s2"):
        digest = plain.digests[kind]
        out = tmp_path / f"{kind}.json"
        m = manifest(f"{plain.host}/test/busybox@{digest}", output=str(out))
        assert m["digest"] == digest
        assert "sha256:" + hashlib.sha256(out.read_bytes()).hexdigest() == digest


def test_index_and_its_manifests(plain, tmp_path):
    out = tmp_path / "index.json"
    m = manifest(f"{plain.host}/test/multi:1", output=str(out))
    assert m["media-type"] == OCI_INDEX
    assert m["digest"] == plain.digests["index"]
    index = json.loads(out.read_bytes())
    archs = set()
    for desc in index["manifests"]:
        child = manifest(f"{plain.host}/test/multi@{desc['digest']}")
        assert child["digest"] == desc["digest"]
        assert child["media-type"] == desc["mediaType"]
        archs.add(desc["platform"]["architecture"])
    assert archs == {"amd64", "arm64"}


def test_docker_manifest_list(plain, layout):
    """A manifest list (skopeo converts the index with --format v2s2)."""
    p = run("skopeo", "--insecure-policy", "copy", "-q", "--dest-tls-verify=false",
            "--dest-no-creds", "--all", "--format", "v2s2", f"oci:{layout}:multi",
            f"docker://{plain.host}/test/multi:v2s2", check=False, timeout=300)
    if p.returncode != 0:
        pytest.skip(f"skopeo cannot convert an index to a manifest list: {p.stderr.strip()}")
    m = manifest(f"{plain.host}/test/multi:v2s2")
    assert m["media-type"] == DOCKER_LIST


def blobs_of(reg, ref, *opts, tmp_path):
    out = tmp_path / "manifest.json"
    manifest(ref, *opts, output=str(out))
    doc = json.loads(out.read_bytes())
    return [doc["config"]] + doc["layers"]


def test_blobs_fetched_in_parallel_and_verified(plain, tmp_path):
    ref = f"{plain.host}/test/busybox:1"
    descs = blobs_of(plain, ref, tmp_path=tmp_path)
    store = tmp_path / "store"
    args = []
    for d in descs:
        args += [d["digest"], str(d["size"])]
    p = fetch("blob", ref, "--store", str(store), *args)
    committed = {line.split()[1]: int(line.split()[2]) for line in p.stdout.splitlines()}
    assert committed == {d["digest"]: d["size"] for d in descs}
    for d in descs:
        path = store / "content" / "sha256" / d["digest"].split(":")[1]
        assert "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest() == d["digest"]
    assert not os.listdir(store / "content" / "ingest")


def test_missing_tag_is_not_found_naming_the_reference(plain):
    p = fetch("manifest", f"{plain.host}/test/busybox:nope", check=False)
    assert p.returncode == 1
    assert f"NOT_FOUND: manifest for {plain.host}/test/busybox:nope not found" in p.stderr


def test_missing_repository_is_not_found(plain):
    p = fetch("manifest", f"{plain.host}/test/nothing:1", check=False)
    assert p.returncode == 1
    assert f"NOT_FOUND: manifest for {plain.host}/test/nothing:1 not found" in p.stderr


def test_missing_blob_is_not_found(plain, tmp_path):
    digest = "sha256:" + "0" * 64
    p = fetch("blob", f"{plain.host}/test/busybox:1", "--store", str(tmp_path / "s"), digest, "10",
              check=False)
    assert p.returncode == 1
    assert (f"NOT_FOUND: blob {digest} not found in repository {plain.host}/test/busybox"
            in p.stderr)
    assert store_files(tmp_path / "s") == []


def test_connection_refused_is_unavailable_naming_the_host():
    port = free_port()
    p = fetch("manifest", f"127.0.0.1:{port}/test/busybox:1", check=False)
    assert p.returncode == 1
    assert "UNAVAILABLE" in p.stderr and f"127.0.0.1:{port}" in p.stderr


def test_corrupt_blob_fails_verification_and_leaves_nothing(plain, layout, tmp_path):
    ref = f"{plain.host}/test/corrupt:1"
    skopeo_push(f"{layout}:unique", ref, "--format", "oci")
    descs = blobs_of(plain, ref, tmp_path=tmp_path)
    layer = descs[-1]
    data_path = plain.blob_data_path(layer["digest"])
    size = os.path.getsize(data_path)
    assert size == layer["size"]
    with open(data_path, "r+b") as f:  # same size, other bytes
        f.write(os.urandom(size))
    store = tmp_path / "store"
    p = fetch("blob", ref, "--store", str(store), layer["digest"], str(layer["size"]), check=False)
    assert p.returncode == 1
    assert "DATA_LOSS" in p.stderr and "failed verification" in p.stderr
    assert layer["digest"] in p.stderr
    assert store_files(store) == []


# ---- TLS ----

def test_tls_without_the_ca_is_a_tls_error(tls):
    p = fetch("manifest", f"{tls.host}/test/busybox:1", check=False)
    assert p.returncode == 1
    assert "UNAVAILABLE" in p.stderr
    assert tls.host in p.stderr
    assert "certificate" in p.stderr


def test_tls_with_the_ca_file(tls, ca, tmp_path):
    ref = f"{tls.host}/test/busybox:1"
    m = manifest(ref, "--ca-file", ca["ca"])
    assert m["digest"] == tls.digests["oci"]
    descs = blobs_of(tls, ref, "--ca-file", ca["ca"], tmp_path=tmp_path)
    d = descs[-1]
    fetch("--ca-file", ca["ca"], "blob", ref, "--store", str(tmp_path / "s"), d["digest"],
          str(d["size"]))
    assert store_files(tmp_path / "s") == ["sha256/" + d["digest"].split(":")[1]]


def test_tls_with_a_ca_directory(tls, ca):
    m = manifest(f"{tls.host}/test/busybox:1", "--ca-dir", ca["ca_dir"])
    assert m["digest"] == tls.digests["oci"]


# ---- htpasswd auth behind TLS ----

def test_auth_without_credentials_is_unauthenticated(auth, ca):
    p = fetch("--ca-file", ca["ca"], "manifest", f"{auth.host}/test/busybox:1", check=False)
    assert p.returncode == 1
    assert "UNAUTHENTICATED" in p.stderr
    assert auth.host in p.stderr
    assert "no credentials" in p.stderr


def test_auth_with_a_credentials_file(auth, ca, tmp_path):
    ref = f"{auth.host}/test/busybox:1"
    creds = credentials_file(str(tmp_path), {auth.host: basic(USER, PASSWORD)})
    m = manifest(ref, "--ca-file", ca["ca"], "--credentials", creds)
    assert m["digest"] == auth.digests["oci"]
    descs = blobs_of(auth, ref, "--ca-file", ca["ca"], "--credentials", creds, tmp_path=tmp_path)
    args = []
    for d in descs:
        args += [d["digest"], str(d["size"])]
    fetch("--ca-file", ca["ca"], "--credentials", creds, "blob", ref, "--store",
          str(tmp_path / "s"), *args)
    assert len(store_files(tmp_path / "s")) == len(descs)


def test_auth_with_username_password_and_a_url_key(auth, ca, tmp_path):
    creds = credentials_file(str(tmp_path), {
        "other.example:5000": basic("someone", "else"),
        f"https://{auth.host}/v1/": {"username": USER, "password": PASSWORD},
    })
    m = manifest(f"{auth.host}/test/busybox:1", "--ca-file", ca["ca"], "--credentials", creds)
    assert m["digest"] == auth.digests["oci"]


def test_auth_with_a_wrong_password_is_unauthenticated(auth, ca, tmp_path):
    creds = credentials_file(str(tmp_path), {auth.host: basic(USER, "wrong")})
    p = fetch("--ca-file", ca["ca"], "--credentials", creds, "manifest",
              f"{auth.host}/test/busybox:1", check=False)
    assert p.returncode == 1
    assert "UNAUTHENTICATED" in p.stderr
    assert auth.host in p.stderr
    assert f'user "{USER}"' in p.stderr and creds in p.stderr


def test_credentials_for_another_host_are_not_used(auth, ca, tmp_path):
    creds = credentials_file(str(tmp_path), {"127.0.0.1:1": basic(USER, PASSWORD)})
    p = fetch("--ca-file", ca["ca"], "--credentials", creds, "manifest",
              f"{auth.host}/test/busybox:1", check=False)
    assert p.returncode == 1
    assert "UNAUTHENTICATED" in p.stderr
    assert f"no credentials for {auth.host} are in {creds}" in p.stderr


def test_bad_credentials_file_is_an_error_naming_it(tmp_path):
    path = tmp_path / "config.json"
    path.write_text('{"auths": {"x": {"auth": "not base64!"}}}')
    p = fetch("--credentials", str(path), "manifest", "127.0.0.1:1/x:1", check=False)
    assert p.returncode == 1
    assert str(path) in p.stderr and "base64" in p.stderr


# ---- a scripted registry for what docker-registry does not do ----
# Bearer tokens, redirects to another host, broken and stalled transfers,
# Range ignored, 429 with Retry-After, 5xx and 403 with error bodies, an
# oversized manifest, a manifest that does not match its digest.

class FakeRegistry:
    TOKEN_USER, TOKEN_PASSWORD = "tok-user", "tok-pass"

    def __init__(self, ipv6=False):
        import http.server
        import threading
        self.lock = threading.Lock()
        self.requests = []  # (path, headers dict)
        self.counts = {}
        self.tokens_issued = 0
        self.blob = os.urandom(300 << 10)
        self.blob_digest = "sha256:" + hashlib.sha256(self.blob).hexdigest()
        self.manifest = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                                    "config": {}, "layers": []}).encode()
        self.manifest_digest = "sha256:" + hashlib.sha256(self.manifest).hexdigest()
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                fake.handle(self)

        class Server(http.server.ThreadingHTTPServer):
            def handle_error(self, request, client_address):
                pass  # the client hanging up on a stalled or broken transfer

        if ipv6:
            Server.address_family = socket.AF_INET6
        self.server = Server(("::1" if ipv6 else "127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.host = f"[::1]:{self.port}" if ipv6 else f"127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(10)

    def count(self, key):
        with self.lock:
            self.counts[key] = self.counts.get(key, 0) + 1
            return self.counts[key]

    def seen(self, prefix):
        with self.lock:
            return [(p, h) for p, h in self.requests if p.startswith(prefix)]

    @staticmethod
    def reply(h, status, body=b"", headers=()):
        h.send_response(status)
        for k, v in headers:
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    @staticmethod
    def errors(code, message):
        return json.dumps({"errors": [{"code": code, "message": message}]}).encode()

    def handle(self, h):
        path = h.path
        with self.lock:
            headers = {k.lower(): v for k, v in h.headers.items()}
            headers[":client-port"] = h.client_address[1]
            self.requests.append((path, headers))
        if path.startswith("/token"):
            return self.token(h)
        if path.startswith("/storage/"):
            return self.serve_blob(h, "storage")
        parts = path.split("/")  # '', 'v2', repo..., kind, object
        if len(parts) < 5 or parts[1] != "v2":
            return self.reply(h, 200 if path == "/v2/" else 404, b"{}")
        repo, kind, obj = "/".join(parts[2:-2]), parts[-2], parts[-1]
        if repo.startswith("auth/") and not self.authorized(h, repo):
            return
        scenario = repo.split("/")[-1]
        if scenario == "ratelimited" and self.count(path) <= 2:
            return self.reply(h, 429, self.errors("TOOMANYREQUESTS", "slow down"),
                              [("Retry-After", "1")])
        if scenario == "ratelimitedforever":
            return self.reply(h, 429, self.errors("TOOMANYREQUESTS", "slow down"),
                              [("Retry-After", "0")])
        if scenario == "broken":
            return self.reply(h, 503, self.errors("UNAVAILABLE", "storage backend is down"),
                              [("Content-Type", "application/json")])
        if scenario == "denied":
            return self.reply(h, 403, self.errors("DENIED", "requested access to the resource "
                                                  "is denied"))
        if kind == "manifests":
            if scenario == "big":
                body = b'{"x":"' + b"a" * (5 << 20) + b'"}'
            elif scenario == "liar":
                body = self.manifest + b" "
            else:
                body = self.manifest
            return self.reply(h, 200, body, [("Content-Type", OCI_MANIFEST + "; charset=utf-8")])
        if kind == "blobs" and obj == self.blob_digest:
            if scenario == "redirect":
                location = f"http://localhost:{self.port}/storage/{obj}"
                return self.reply(h, 307, b"", [("Location", location)])
            return self.serve_blob(h, scenario)
        return self.reply(h, 404, self.errors("BLOB_UNKNOWN", "blob unknown to registry"))

    def authorized(self, h, repo):
        if h.headers.get("Authorization", "").startswith("Bearer tok-"):
            return True
        realm = f"http://{self.host}/token"
        self.reply(h, 401, self.errors("UNAUTHORIZED", "authentication required"),
                   [("WWW-Authenticate",
                     f'Bearer realm="{realm}",service="fake",scope="repository:{repo}:pull"')])
        return False

    def token(self, h):
        want = "Basic " + base64.b64encode(
            f"{self.TOKEN_USER}:{self.TOKEN_PASSWORD}".encode()).decode()
        if "needcreds" in h.path and h.headers.get("Authorization") != want:
            return self.reply(h, 401, self.errors("UNAUTHORIZED", "bad credentials"))
        with self.lock:
            self.tokens_issued += 1
            n = self.tokens_issued
        key = "access_token" if n % 2 else "token"
        self.reply(h, 200, json.dumps({key: f"tok-{n}", "expires_in": 300}).encode(),
                   [("Content-Type", "application/json")])

    def serve_blob(self, h, scenario):
        data = self.blob
        start = 0
        rng = h.headers.get("Range")
        if rng and scenario != "norange":
            start = int(rng.split("=")[1].split("-")[0])
        attempt = self.count(f"blob:{scenario}")
        status = 206 if start else 200
        h.send_response(status)
        h.send_header("Content-Length", str(len(data) - start))
        if status == 206:
            h.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        h.end_headers()
        body = data[start:]
        if scenario in ("flaky", "norange") and attempt <= 2:
            # A third of what is left, then the connection breaks.
            h.wfile.write(body[:len(body) // 3])
            h.wfile.flush()
            h.close_connection = True
            h.connection.shutdown(socket.SHUT_RDWR)
            return
        if scenario == "stallforever" or (scenario == "stall" and attempt == 1):
            h.wfile.write(body[:1000])
            h.wfile.flush()
            time.sleep(3)
            h.close_connection = True
            return
        h.wfile.write(body)


@pytest.fixture(scope="module")
def fake():
    reg = FakeRegistry()
    yield reg
    reg.stop()


def fetch_fake_blob(fake, repo, tmp_path, *opts, check=True):
    store = tmp_path / "store"
    p = fetch("--retry-delay-ms", "50", *opts, "blob", f"{fake.host}/{repo}:1", "--store",
              str(store), fake.blob_digest, str(len(fake.blob)), check=check)
    return p, store


def assert_blob_in_store(fake, store):
    assert store_files(store) == ["sha256/" + fake.blob_digest.split(":")[1]]
    path = store / "content" / "sha256" / fake.blob_digest.split(":")[1]
    assert path.read_bytes() == fake.blob


def test_bearer_token_anonymous_and_cached(fake, tmp_path):
    before = fake.tokens_issued
    p, store = fetch_fake_blob(fake, "auth/plain", tmp_path)
    assert_blob_in_store(fake, store)
    # One token for the repository's scope, asked with service and scope.
    assert fake.tokens_issued == before + 1
    token_requests = fake.seen("/token")
    assert "service=fake" in token_requests[-1][0]
    assert "scope=repository%3Aauth%2Fplain%3Apull" in token_requests[-1][0]
    assert "authorization" not in token_requests[-1][1]  # anonymous: no credentials


def test_bearer_token_server_gets_the_credentials(fake, tmp_path):
    repo = "auth/needcreds"
    creds = credentials_file(str(tmp_path), {fake.host: basic(fake.TOKEN_USER,
                                                              fake.TOKEN_PASSWORD)})
    # The realm does not say "needcreds": the scope does, and the fake checks the path.
    m = manifest(f"{fake.host}/{repo}:1", "--credentials", creds)
    assert m["digest"] == fake.manifest_digest
    assert m["media-type"] == OCI_MANIFEST
    p = fetch("manifest", f"{fake.host}/{repo}:1", check=False)
    assert p.returncode == 1
    assert "UNAUTHENTICATED" in p.stderr and "token server" in p.stderr
    assert fake.host in p.stderr and "no credentials" in p.stderr


def test_redirect_to_another_host_drops_the_authorization(fake, tmp_path):
    p, store = fetch_fake_blob(fake, "auth/redirect", tmp_path)
    assert_blob_in_store(fake, store)
    storage = fake.seen("/storage/")
    assert storage, "the blob was not fetched from the redirect target"
    assert all("authorization" not in headers for _, headers in storage)
    blob_requests = fake.seen("/v2/auth/redirect/blobs/")
    assert any(h.get("authorization", "").startswith("Bearer ") for _, h in blob_requests)


def test_user_agent(fake):
    manifest(f"{fake.host}/plain/x:1")
    _, headers = fake.seen("/v2/plain/x/manifests/")[-1]
    assert headers["user-agent"].startswith("berthd/")
    accept = headers["accept"]
    for t in (OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST):
        assert t in accept


def test_broken_transfer_is_resumed_with_range(fake, tmp_path):
    p, store = fetch_fake_blob(fake, "flaky", tmp_path)
    assert_blob_in_store(fake, store)
    ranges = [h.get("range") for _, h in fake.seen("/v2/flaky/blobs/")]
    assert ranges[0] is None
    assert len(ranges) == 3 and all(r and r.startswith("bytes=") for r in ranges[1:])
    assert "retrying from byte" in p.stderr


def test_broken_transfer_resumed_where_range_is_ignored(fake, tmp_path):
    p, store = fetch_fake_blob(fake, "norange", tmp_path)
    assert_blob_in_store(fake, store)


def test_stalled_transfer_is_resumed(fake, tmp_path):
    p, store = fetch_fake_blob(fake, "stall", tmp_path, "--stall-timeout-s", "1")
    assert_blob_in_store(fake, store)


def test_broken_transfer_gives_up_after_the_attempts(fake, tmp_path):
    fake.counts.pop("blob:flaky", None)
    p, store = fetch_fake_blob(fake, "flaky", tmp_path, "--blob-attempts", "2", check=False)
    assert p.returncode == 1
    assert "UNAVAILABLE" in p.stderr and "giving up after 2 attempts" in p.stderr
    assert store_files(store) == []


def test_rate_limit_honours_retry_after(fake):
    start = time.monotonic()
    m = manifest(f"{fake.host}/x/ratelimited:1")
    assert m["digest"] == fake.manifest_digest
    assert time.monotonic() - start >= 2  # two waits of Retry-After: 1


def test_rate_limit_gives_up_as_resource_exhausted(fake):
    p = fetch("manifest", f"{fake.host}/x/ratelimitedforever:1", check=False)
    assert p.returncode == 1
    assert "RESOURCE_EXHAUSTED" in p.stderr and "slow down" in p.stderr
    assert len(fake.seen("/v2/x/ratelimitedforever/")) == 3  # the first try and two retries


def test_server_error_is_unavailable_with_the_registry_message(fake, tmp_path):
    p = fetch("manifest", f"{fake.host}/x/broken:1", check=False)
    assert p.returncode == 1
    assert "UNAVAILABLE" in p.stderr and "storage backend is down" in p.stderr
    assert "503" in p.stderr
    p, store = fetch_fake_blob(fake, "x/broken", tmp_path, "--blob-attempts", "2", check=False)
    assert p.returncode == 1
    assert "UNAVAILABLE" in p.stderr and "storage backend is down" in p.stderr
    assert store_files(store) == []


def test_forbidden_is_permission_denied(fake):
    p = fetch("manifest", f"{fake.host}/x/denied:1", check=False)
    assert p.returncode == 1
    assert "PERMISSION_DENIED" in p.stderr and "denied" in p.stderr


def test_oversized_manifest_is_refused(fake):
    p = fetch("manifest", f"{fake.host}/x/big:1", check=False)
    assert p.returncode == 1
    assert "larger than 4194304 bytes" in p.stderr


def test_manifest_not_matching_its_digest(fake):
    ref = f"{fake.host}/x/liar@{fake.manifest_digest}"
    p = fetch("manifest", ref, check=False)
    assert p.returncode == 1
    assert "DATA_LOSS" in p.stderr and "does not match its digest" in p.stderr
    # The same bytes by tag are fine: nothing to check them against.
    assert manifest(f"{fake.host}/x/liar:1")["digest"] != fake.manifest_digest


def test_parallel_fetches_share_one_client(fake, tmp_path):
    """Eight threads of one client fetch through Bearer auth at once: every
    blob lands verified, and the token cache keeps the tokens to a few."""
    before = fake.tokens_issued
    store = tmp_path / "store"
    pairs = [fake.blob_digest, str(len(fake.blob))] * 8
    p = fetch("blob", f"{fake.host}/auth/parallel:1", "--store", str(store), *pairs)
    assert len(p.stdout.splitlines()) == 8
    assert_blob_in_store(fake, store)
    assert 1 <= fake.tokens_issued - before <= 8
    token_scopes = [path for path, _ in fake.seen("/token") if "auth%2Fparallel" in path]
    assert len(token_scopes) == fake.tokens_issued - before


def test_blob_larger_than_its_descriptor_is_stopped(fake, tmp_path):
    store = tmp_path / "store"
    size = len(fake.blob) - 1
    p = fetch("blob", f"{fake.host}/x/plain:1", "--store", str(store), fake.blob_digest, str(size),
              check=False)
    assert p.returncode == 1
    assert "DATA_LOSS" in p.stderr and f"larger than its descriptor's size {size}" in p.stderr
    assert store_files(store) == []


def test_blob_shorter_than_its_descriptor_fails_commit(fake, tmp_path):
    store = tmp_path / "store"
    size = len(fake.blob) + 1
    p = fetch("blob", f"{fake.host}/x/plain:1", "--store", str(store), fake.blob_digest, str(size),
              check=False)
    assert p.returncode == 1
    assert "DATA_LOSS" in p.stderr and f"where its descriptor says {size}" in p.stderr
    assert "retrying" not in p.stderr
    assert store_files(store) == []


def has_ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not has_ipv6_loopback(), reason="no IPv6 loopback")
def test_ipv6_loopback_over_plain_http_with_bearer(tmp_path):
    reg = FakeRegistry(ipv6=True)
    try:
        assert reg.host.startswith("[::1]:")
        m = manifest(f"{reg.host}/auth/v6:1")
        assert m["digest"] == reg.manifest_digest
        p, store = fetch_fake_blob(reg, "auth/v6", tmp_path)
        assert_blob_in_store(reg, store)
    finally:
        reg.stop()


def test_requests_reuse_a_connection(fake):
    """The 401, the token and the manifest go over one kept-alive connection."""
    manifest(f"{fake.host}/auth/reuse:1")
    ports = {h[":client-port"] for path, h in fake.requests if "reuse" in path}
    assert len([1 for path, _ in fake.requests if "reuse" in path]) == 3
    assert len(ports) == 1


def test_cancel_stops_a_stalled_transfer(fake, tmp_path):
    start = time.monotonic()
    p, store = fetch_fake_blob(fake, "stallforever", tmp_path, "--cancel-after-ms", "500",
                               check=False)
    assert p.returncode == 1
    assert "CANCELLED" in p.stderr
    assert time.monotonic() - start < 2.5  # not the server's 3 s stall, no retries
    assert store_files(store) == []
