"""config-linux.md: namespaces, devices, paths, sysctl, capabilities, cgroups,
seccomp."""
import os
import subprocess

from conformance import clause, check, Skip

NS_FILES = {"pid": "pid", "network": "net", "ipc": "ipc", "uts": "uts",
            "mount": "mnt", "cgroup": "cgroup", "user": "user"}


def ok(r, what="run"):
    check(r.rc == 0, f"{what} failed: {r}")
    return r.out


def host_ns(f):
    return os.readlink(f"/proc/self/ns/{f}")


def make_ns_check(nstype):
    def fn(ctx):
        f = NS_FILES[nstype]
        if not os.path.exists(f"/proc/self/ns/{f}"):
            raise Skip(f"kernel has no {f} namespaces")
        cfg = ctx.config()
        if nstype not in [n["type"] for n in cfg["linux"]["namespaces"]]:
            cfg["linux"]["namespaces"].append({"type": nstype})
        script = f"readlink /proc/self/ns/{f}"
        if nstype == "user":
            cfg["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
            cfg["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
            script += "; cat /proc/self/uid_map /proc/self/gid_map"
        if nstype == "pid":
            script += "; echo pid=$$"
        out = ok(ctx.sh(script, cfg)).split("\n")
        inside = out[0].strip()
        check(inside.startswith(f + ":["), f"readlink gave {inside!r}")
        check(inside != host_ns(f), f"container shares the runtime's {f} namespace {inside}")
        if nstype == "user":
            maps = [l.split() for l in out[1:] if l.strip()]
            check(maps == [["0", "100000", "65536"]] * 2, f"uid/gid maps {maps}")
        if nstype == "pid":
            check("pid=1" in out, f"container process is not pid 1: {out}")
    return fn


for _t in ("pid", "network", "mount", "ipc", "uts", "cgroup", "user"):
    clause(f"config-linux.md/namespace-{_t}",
           f"namespaces: type {_t} ... If a path is not specified, the runtime MUST create "
           f"a new container namespace of the given type.")(make_ns_check(_t))


@clause("config-linux.md/namespace-inherit",
        "namespaces: If a namespace type is not specified in the namespaces array, the "
        "container MUST inherit the runtime namespace of that type.")
def namespace_inherit(ctx):
    cfg = ctx.config()
    cfg["linux"]["namespaces"] = [n for n in cfg["linux"]["namespaces"]
                                  if n["type"] not in ("ipc", "uts")]
    cfg.pop("hostname", None)
    out = ok(ctx.sh("readlink /proc/self/ns/ipc; readlink /proc/self/ns/uts", cfg)).split()
    check(out == [host_ns("ipc"), host_ns("uts")],
          f"inside {out} vs runtime {[host_ns('ipc'), host_ns('uts')]}")


@clause("config-linux.md/namespace-path",
        "namespaces.path: If a path is specified, the runtime MUST place the container "
        "process in the namespace at that path (setns).")
def namespace_path(ctx):
    name = f"{ctx.s.prefix}-netns-{ctx.s.counter}"
    r = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True)
    if r.returncode != 0:
        raise Skip(f"ip netns add failed: {r.stderr.strip()}")
    ctx.cleanups.append(lambda: subprocess.run(["ip", "netns", "delete", name],
                                               capture_output=True))
    path = f"/var/run/netns/{name}"
    ino = os.stat(path).st_ino
    cfg = ctx.config()
    for n in cfg["linux"]["namespaces"]:
        if n["type"] == "network":
            n["path"] = path
    out = ok(ctx.sh("readlink /proc/self/ns/net", cfg)).strip()
    check(out == f"net:[{ino}]", f"inside {out!r}, {path} is net:[{ino}]")


@clause("config-linux.md/default-devices",
        "Default devices: the runtime MUST supply /dev/null, /dev/zero, /dev/full, "
        "/dev/random, /dev/urandom, /dev/tty, /dev/ptmx (a bind-mount or symlink of "
        "/dev/pts/ptmx).")
def default_devices(ctx):
    want = {"null": "1:3", "zero": "1:5", "full": "1:7", "random": "1:8",
            "urandom": "1:9", "tty": "5:0"}
    out = ok(ctx.sh("for d in null zero full random urandom tty; do "
                    "echo $d $(stat -c '%F %t:%T' /dev/$d); done; "
                    "echo ptmx $(readlink /dev/ptmx) $(stat -L -c '%F %t:%T' /dev/ptmx)"))
    got = {l.split()[0]: l.split(" ", 1)[1] for l in out.strip().splitlines()}
    for d, mm in want.items():
        check(got.get(d) == f"character special file {mm}", f"/dev/{d}: {got.get(d)!r}")
    check(got.get("ptmx", "").endswith("character special file 5:2"), f"/dev/ptmx: {got.get('ptmx')!r}")


@clause("config-linux.md/devices",
        "devices: (array of objects, OPTIONAL) lists devices that MUST be available in "
        "the container (path, type, major, minor, fileMode, uid, gid).")
def devices(ctx):
    cfg = ctx.config()
    cfg["linux"]["devices"] = [
        {"path": "/dev/sc-char", "type": "c", "major": 1, "minor": 7, "fileMode": 0o640,
         "uid": 1000, "gid": 29},
        {"path": "/dev/sub/sc-block", "type": "b", "major": 7, "minor": 0, "fileMode": 0o600,
         "uid": 0, "gid": 0}]
    out = ok(ctx.sh("stat -c '%F %t:%T %a %u:%g' /dev/sc-char /dev/sub/sc-block", cfg))
    lines = out.strip().splitlines()
    check(lines == ["character special file 1:7 640 1000:29",
                    "block special file 7:0 600 0:0"], f"got {lines}")


@clause("config-linux.md/maskedPaths",
        "maskedPaths (array of strings, OPTIONAL) will mask over the provided paths inside "
        "the container so that they cannot be read.")
def masked_paths(ctx):
    cfg = ctx.config()
    procs = [p for p in ("/proc/kcore", "/proc/timer_list", "/proc/keys", "/proc/sched_debug")
             if os.path.exists(p)]
    if not procs:
        raise Skip("no /proc/kcore, timer_list, keys or sched_debug on this host")
    proc = procs[0]
    cfg["linux"]["maskedPaths"] = ["/etc/secret", "/secretdir", proc]

    def setup(rootfs):
        open(os.path.join(rootfs, "etc", "secret"), "w").write("SECRET-FILE\n")
        os.makedirs(os.path.join(rootfs, "secretdir"))
        open(os.path.join(rootfs, "secretdir", "f"), "w").write("x")
    out = ok(ctx.sh("cat /etc/secret; ls /secretdir; "
                    f"awk '$5 == \"{proc}\" {{print \"proc-masked\"}}' /proc/self/mountinfo; "
                    f"wc -c < {proc}",
                    cfg, setup))
    check("SECRET-FILE" not in out, f"masked file readable: {out!r}")
    check("\nf\n" not in "\n" + out, f"masked dir listable: {out!r}")
    check("proc-masked" in out and out.split()[-1] == "0", f"{proc} not masked: {out!r}")


@clause("config-linux.md/readonlyPaths",
        "readonlyPaths (array of strings, OPTIONAL) will set the provided paths as "
        "readonly inside the container.")
def readonly_paths(ctx):
    cfg = ctx.config()
    cfg["linux"]["readonlyPaths"] = ["/data", "/proc/sys"]

    def setup(rootfs):
        os.makedirs(os.path.join(rootfs, "data"))
    out = ok(ctx.sh("touch /data/x 2>&1; touch /tmp/y && echo tmp-ok; "
                    "awk '$5 == \"/proc/sys\" {print \"procsys\", $6}' /proc/self/mountinfo",
                    cfg, setup))
    check("Read-only file system" in out, f"/data writable: {out!r}")
    check("tmp-ok" in out, f"rest of rootfs not writable: {out!r}")
    check(any(l.startswith("procsys ") and "ro" in l.split()[1].split(",")
              for l in out.splitlines()), f"/proc/sys not read-only: {out!r}")


@clause("config-linux.md/sysctl",
        "sysctl (object, OPTIONAL) allows kernel parameters to be modified at runtime "
        "for the container.")
def sysctl(ctx):
    cfg = ctx.config()
    cfg["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1", "kernel.msgmax": "12345"}
    out = ok(ctx.sh("cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/msgmax", cfg)).split()
    check(out == ["1", "12345"], f"got {out}")


def root_propagation(ctx, mode):
    cfg = ctx.config()
    cfg["linux"]["rootfsPropagation"] = mode
    out = ok(ctx.sh("awk '$5 == \"/\"' /proc/self/mountinfo", cfg)).strip().splitlines()
    check(out, "no / in mountinfo")
    fields = out[-1].split()
    optional = fields[6:fields.index("-")]
    return optional, out[-1]


@clause("config-linux.md/rootfsPropagation-private",
        "rootfsPropagation (string, OPTIONAL) sets the rootfs's mount propagation. Its "
        "value is either shared, slave, private or unbindable (private).")
def propagation_private(ctx):
    optional, line = root_propagation(ctx, "private")
    check(not optional, f"/ is not private: {line}")


@clause("config-linux.md/rootfsPropagation-shared",
        "rootfsPropagation (string, OPTIONAL) sets the rootfs's mount propagation. Its "
        "value is either shared, slave, private or unbindable (shared).")
def propagation_shared(ctx):
    optional, line = root_propagation(ctx, "shared")
    check(any(o.startswith("shared:") for o in optional), f"/ is not shared: {line}")


@clause("config.md/process-capabilities",
        "process.capabilities (object, OPTIONAL) ... effective, bounding, inheritable, "
        "permitted, ambient: arrays of capabilities for the process (Linux).")
def capabilities(ctx):
    cfg = ctx.config()
    caps = ["CAP_CHOWN", "CAP_KILL"]  # bits 0 and 5
    cfg["process"]["capabilities"] = {"bounding": caps, "effective": caps, "permitted": caps,
                                      "inheritable": [], "ambient": []}
    out = ok(ctx.sh("grep ^Cap /proc/self/status", cfg))
    got = {l.split(":")[0]: int(l.split()[1], 16) for l in out.strip().splitlines()}
    want = {"CapInh": 0, "CapPrm": 0x21, "CapEff": 0x21, "CapBnd": 0x21, "CapAmb": 0}
    check(all(got.get(k) == v for k, v in want.items()),
          f"got { {k: hex(v) for k, v in got.items()} }")


@clause("config.md/process-noNewPrivileges",
        "process.noNewPrivileges (bool, OPTIONAL) setting noNewPrivileges to true "
        "prevents the process from gaining additional privileges (prctl NO_NEW_PRIVS).")
def no_new_privs(ctx):
    cfg = ctx.config()
    cfg["process"]["noNewPrivileges"] = True
    out = ok(ctx.sh("grep NoNewPrivs /proc/self/status", cfg))
    check(out.split() == ["NoNewPrivs:", "1"], f"got {out!r}")


def cgroup_file(ctx, cg_path, v1_controller, v1_file, v2_file):
    if os.path.exists("/sys/fs/cgroup/cgroup.controllers"):
        return os.path.join("/sys/fs/cgroup", cg_path.lstrip("/"), v2_file)
    return os.path.join("/sys/fs/cgroup", v1_controller, cg_path.lstrip("/"), v1_file)


def created_in_cgroup(ctx, resources=None):
    cfg = ctx.config(["sleep", "1000"])
    cg = ctx.cgroup_path()
    cfg["linux"]["cgroupsPath"] = cg
    if resources:
        cfg["linux"]["resources"].update(resources)
    cid, _, r, _ = ctx.create(cfg)
    check(r.rc == 0, f"create failed: {r}")
    return cid, cg, ctx.state(cid)


@clause("config-linux.md/cgroupsPath",
        "cgroupsPath (string, OPTIONAL) path to the cgroups ... The runtime MUST apply "
        "the cgroupsPath (relative to the cgroups mount point).")
def cgroups_path(ctx):
    cid, cg, st = created_in_cgroup(ctx)
    f = cgroup_file(ctx, cg, "pids", "cgroup.procs", "cgroup.procs")
    check(os.path.exists(f), f"{f} does not exist")
    procs = open(f).read().split()
    check(str(st["pid"]) in procs, f"pid {st['pid']} not in {f}: {procs}")


@clause("config-linux.md/resources-pids-limit",
        "pids.limit (int64, REQUIRED) specifies the maximum number of tasks in the "
        "cgroup.")
def pids_limit(ctx):
    cid, cg, st = created_in_cgroup(ctx, {"pids": {"limit": 42}})
    f = cgroup_file(ctx, cg, "pids", "pids.max", "pids.max")
    check(os.path.exists(f), f"{f} does not exist")
    v = open(f).read().strip()
    check(v == "42", f"{f} = {v}")


@clause("config-linux.md/resources-memory-limit",
        "memory.limit (int64, OPTIONAL) sets limit of memory usage in bytes.")
def memory_limit(ctx):
    limit = 64 * 1024 * 1024
    cid, cg, st = created_in_cgroup(ctx, {"memory": {"limit": limit}})
    f = cgroup_file(ctx, cg, "memory", "memory.limit_in_bytes", "memory.max")
    check(os.path.exists(f), f"{f} does not exist")
    v = open(f).read().strip()
    check(v == str(limit), f"{f} = {v}")


@clause("config-linux.md/seccomp-errnoRet",
        "seccomp.syscalls: action SCMP_ACT_ERRNO with errnoRet (uint, OPTIONAL): the "
        "errno return code to use.")
def seccomp_errno(ctx):
    cfg = ctx.config()
    cfg["linux"]["seccomp"] = {
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO",
                      "errnoRet": 122}]}  # EDQUOT
    out = ok(ctx.sh("mkdir /tmp/blocked 2>&1; touch /tmp/allowed && echo touch-ok", cfg))
    check("Disk quota exceeded" in out, f"mkdir not failed with EDQUOT: {out!r}")
    check("touch-ok" in out, f"other syscalls blocked: {out!r}")
