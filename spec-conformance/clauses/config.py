"""config.md: root, mounts, process, hostname, annotations, hooks."""
import json
import os

from conformance import clause, check


def ok(r, what="run"):
    check(r.rc == 0, f"{what} failed: {r}")
    return r.out


@clause("config.md/root-path-relative",
        "root.path (string, REQUIRED) Specifies the path to the root filesystem for the "
        "container. ... the path can be an absolute path or a relative path to the bundle.")
def root_relative(ctx):
    cfg = ctx.config()
    cfg["root"]["path"] = "my-root"

    def setup(rootfs):
        open(os.path.join(rootfs, "marker"), "w").write("in-my-root\n")
    out = ok(ctx.sh("cat /marker", cfg, setup))
    check("in-my-root" in out, f"marker not visible: {out!r}")


@clause("config.md/root-readonly",
        "root.readonly (bool, OPTIONAL) If true then the root filesystem MUST be read-only.")
def root_readonly(ctx):
    cfg = ctx.config()
    cfg["root"]["readonly"] = True
    r = ctx.sh("touch /should-fail 2>&1; echo rc=$?", cfg)
    out = ok(r)
    check("rc=0" not in out and "Read-only file system" in out,
          f"write to / not refused with EROFS: {out!r}")


@clause("config.md/mounts-order",
        "mounts: The runtime MUST mount entries in the listed order.")
def mounts_order(ctx):
    cfg = ctx.config()
    cfg["mounts"] += [
        {"destination": "/mnt/a", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"]},
        {"destination": "/mnt/a/b", "type": "tmpfs", "source": "tmpfs", "options": ["size=2m"]},
    ]
    out = ok(ctx.sh("df -k /mnt/a/b | tail -n 1 | awk '{print \"size=\" $2}'; "
                    "awk '{print $5}' /proc/self/mountinfo | grep '^/mnt/a'", cfg))
    lines = out.split()
    check("size=2048" in lines, f"/mnt/a/b (2 MiB) hidden (mounted out of order?): {out!r}")
    check(lines[-2:] == ["/mnt/a", "/mnt/a/b"], f"mountinfo order: {out!r}")


@clause("config.md/mount-destination-created",
        "mounts.destination: ... If the destination does not exist, the runtime MUST "
        "create it (runtime-spec: destination MUST be created).")
def mount_dest_created(ctx):
    cfg = ctx.config()
    cfg["mounts"].append({"destination": "/does/not/exist", "type": "tmpfs",
                          "source": "tmpfs", "options": []})
    out = ok(ctx.sh("awk '$5 == \"/does/not/exist\" {print \"mounted\"}' "
                    "/proc/self/mountinfo", cfg))
    check("mounted" in out, f"not mounted: {out!r}")


@clause("config.md/mount-bind",
        "mounts: source ... for bind mounts, a path on the host; options bind/rbind "
        "mount the source at destination.")
def mount_bind(ctx):
    src = os.path.join(ctx.dir, "bindsrc")
    os.makedirs(src)
    open(os.path.join(src, "hello"), "w").write("from-host\n")
    cfg = ctx.config()
    cfg["mounts"].append({"destination": "/hostdir", "type": "bind", "source": src,
                          "options": ["rbind", "ro"]})
    out = ok(ctx.sh("cat /hostdir/hello; touch /hostdir/x 2>&1; echo rc=$?", cfg))
    check("from-host" in out, f"bind source not visible: {out!r}")
    check("Read-only file system" in out, f"ro option not applied: {out!r}")


@clause("config.md/process-cwd",
        "process.cwd (string, REQUIRED) is the working directory that will be set for "
        "the executable. This value MUST be an absolute path.")
def process_cwd(ctx):
    cfg = ctx.config()
    cfg["process"]["cwd"] = "/tmp"
    out = ok(ctx.sh("pwd", cfg))
    check(out.strip() == "/tmp", f"pwd is {out!r}")


@clause("config.md/process-env",
        "process.env (array of strings, OPTIONAL) with the same semantics as IEEE Std "
        "1003.1-2008's environ.")
def process_env(ctx):
    cfg = ctx.config()
    cfg["process"]["env"].append("CONFORMANCE_VAR=some value=x")
    out = ok(ctx.sh('echo "[$CONFORMANCE_VAR]"', cfg))
    check("[some value=x]" in out, f"env not set: {out!r}")


@clause("config.md/process-args-path",
        "process.args: ... This specification extends the IEEE standard in that at least "
        "one entry is REQUIRED (non-absolute args[0] resolved via PATH, like execvp).")
def process_args_path(ctx):
    out = ok(ctx.run(ctx.config(["echo", "resolved-via-path"])))
    check("resolved-via-path" in out, f"output {out!r}")


@clause("config.md/process-user",
        "process.user: uid, gid (int, REQUIRED) and additionalGids (array of ints, "
        "OPTIONAL) specify the user and groups in the container namespace.")
def process_user(ctx):
    cfg = ctx.config()
    cfg["process"]["user"] = {"uid": 1000, "gid": 1000, "additionalGids": [29, 10]}
    out = ok(ctx.sh("grep -E '^(Uid|Gid|Groups):' /proc/self/status", cfg))
    f = {l.split(":")[0]: l.split(":")[1].split() for l in out.strip().splitlines()}
    check(f.get("Uid") == ["1000"] * 4, f"Uid {f.get('Uid')}")
    check(f.get("Gid") == ["1000"] * 4, f"Gid {f.get('Gid')}")
    check(set(f.get("Groups", [])) == {"10", "29"}, f"Groups {f.get('Groups')}")


@clause("config.md/process-rlimits",
        "process.rlimits: soft/hard (uint64, REQUIRED) the value of the limit enforced "
        "for the corresponding resource (setrlimit).")
def process_rlimits(ctx):
    cfg = ctx.config()
    cfg["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": 123, "hard": 456},
                                 {"type": "RLIMIT_CORE", "soft": 0, "hard": 4096}]
    out = ok(ctx.sh("grep -E 'Max (open files|core file size)' /proc/self/limits", cfg))
    check(any(l.split()[3:5] == ["123", "456"] for l in out.splitlines()
              if "open files" in l), f"NOFILE: {out!r}")
    check(any(l.split()[4:6] == ["0", "4096"] for l in out.splitlines()
              if "core file" in l), f"CORE: {out!r}")


@clause("config.md/process-oomScoreAdj",
        "process.oomScoreAdj (int, OPTIONAL) adjusts the oom-killer score in "
        "[pid]/oom_score_adj for the process's [pid] in a proc pseudo-filesystem.")
def oom_score_adj(ctx):
    cfg = ctx.config()
    cfg["process"]["oomScoreAdj"] = 123
    out = ok(ctx.sh("cat /proc/self/oom_score_adj", cfg))
    check(out.strip() == "123", f"oom_score_adj {out!r}")


@clause("config.md/hostname",
        "hostname (string, OPTIONAL) specifies the container's hostname as seen by "
        "processes running inside the container.")
def hostname(ctx):
    cfg = ctx.config()
    cfg["hostname"] = "sc-hostname-x"
    out = ok(ctx.sh("hostname", cfg))
    check(out.strip() == "sc-hostname-x", f"hostname {out!r}")


@clause("config.md/annotations-state",
        "state: annotations (map, OPTIONAL) contains the list of annotations associated "
        "with the container.")
def annotations(ctx):
    cfg = ctx.config(["sleep", "1000"])
    cfg["annotations"] = {"org.example.conformance": "value-1", "com.example.b": ""}
    cid, _, r, _ = ctx.create(cfg)
    check(r.rc == 0, f"create failed: {r}")
    st = ctx.state(cid)
    check(st and st.get("annotations") == cfg["annotations"],
          f"state annotations: {st and st.get('annotations')}")


def hook_lifecycle(ctx, kind, started_marker=True):
    """Runs create/start/wait/delete with one `kind` hook that saves its stdin."""
    path = os.path.join(ctx.dir, f"{kind}.json")
    cfg = ctx.config(["sh", "-c", "echo program-ran"])
    cfg["hooks"] = {kind: [{"path": "/bin/sh",
                            "args": ["sh", "-c", f"cat > {path}"]}]}
    cid, b, r, out = ctx.create(cfg)
    check(r.rc == 0, f"create failed: {r}")
    check(ctx.rt("start", cid).rc == 0, "start failed")
    ctx.wait_status(cid, "stopped")
    r = ctx.rt("delete", cid)
    check(r.rc == 0, f"delete failed: {r}")
    check(os.path.exists(path), f"{kind} hook did not run")
    with open(path) as f:
        text = f.read()
    try:
        st = json.loads(text)
    except ValueError:
        check(False, f"{kind} hook stdin is not state JSON: {text!r}")
    check(st.get("id") == cid, f"state on stdin has id {st.get('id')!r}")
    check(os.path.realpath(st.get("bundle", "")) == os.path.realpath(b),
          f"state on stdin has bundle {st.get('bundle')!r}")
    return st


for _kind, _text in [
        ("prestart", "hooks.prestart: ... called after the start operation is called but "
         "before the user-specified program command is executed; state on stdin."),
        ("createRuntime", "hooks.createRuntime: MUST be called as part of the create "
         "operation after the runtime environment has been created; state on stdin."),
        ("poststart", "hooks.poststart: MUST be called after the user-specified process "
         "is executed but before the start operation returns; state on stdin."),
        ("poststop", "hooks.poststop: MUST be called after the container is deleted but "
         "before the delete operation returns; state on stdin.")]:
    clause(f"config.md/hooks-{_kind}", _text)(
        lambda ctx, _kind=_kind: hook_lifecycle(ctx, _kind))


@clause("config.md/hooks-prestart-fail",
        "hooks: If any prestart hook fails, the runtime MUST generate an error, stop the "
        "container, and continue the lifecycle at step 12.")
def prestart_fails(ctx):
    cfg = ctx.config(["sh", "-c", "echo program-ran"])
    ran = os.path.join(ctx.dir, "hook-ran")
    cfg["hooks"] = {"prestart": [{"path": "/bin/sh",
                                  "args": ["sh", "-c", f"touch {ran}; exit 1"]}]}
    cid, _, r, out = ctx.create(cfg)
    errors = [r] if r.rc != 0 else []
    if r.rc == 0:
        r2 = ctx.rt("start", cid)
        if r2.rc != 0:
            errors.append(r2)
    check(os.path.exists(ran), f"the prestart hook never ran: {r}")
    check(errors, "neither create nor start reported the failing prestart hook")
    check("program-ran" not in open(out).read(), "the program ran despite the failed hook")
    st = ctx.state(cid)
    check(st is None or st.get("status") in ("stopped",), f"container not stopped: {st}")
