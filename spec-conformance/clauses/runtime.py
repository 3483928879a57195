"""runtime.md: state, lifecycle and operations."""
import os
import time

from conformance import clause, check, Fail

SLEEPER = ["sleep", "1000"]


def created(ctx, args=SLEEPER):
    cid, b, r, out = ctx.create(ctx.config(args))
    check(r.rc == 0, f"create failed: {r}")
    st = ctx.state(cid)
    check(st is not None, "state failed after create")
    return cid, b, st, out


@clause("runtime.md/state-ociVersion",
        "ociVersion (string, REQUIRED) is version of the Open Container Initiative "
        "Runtime Specification with which the state complies.")
def state_oci_version(ctx):
    _, _, st, _ = created(ctx)
    check(isinstance(st.get("ociVersion"), str) and st["ociVersion"],
          f"no ociVersion string in state: {st}")


@clause("runtime.md/state-id",
        "id (string, REQUIRED) is the container's ID. This MUST be unique across all "
        "containers on this host.")
def state_id(ctx):
    cid, _, st, _ = created(ctx)
    check(st.get("id") == cid, f"state id {st.get('id')!r} != {cid!r}")


@clause("runtime.md/state-status-created",
        "status (string, REQUIRED) is the runtime state of the container: created "
        "(after create, before start).")
def state_created(ctx):
    _, _, st, _ = created(ctx)
    check(st.get("status") == "created", f"status {st.get('status')!r} after create")


@clause("runtime.md/state-pid",
        "pid (int, REQUIRED when status is created or running on Linux) is the ID of "
        "the container process, as seen by the host.")
def state_pid(ctx):
    cid, _, st, _ = created(ctx)
    pid = st.get("pid")
    check(isinstance(pid, int) and pid > 0, f"no pid in created state: {st}")
    check(os.path.exists(f"/proc/{pid}"), f"pid {pid} not a live host process")
    r = ctx.rt("start", cid)
    check(r.rc == 0, f"start failed: {r}")
    st = ctx.wait_status(cid, "running")
    check(st.get("pid") == pid, f"running pid {st.get('pid')} != created pid {pid}")
    cmd = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
    check(cmd[:2] == [b"sleep", b"1000"], f"host /proc/{pid}/cmdline is {cmd}")


@clause("runtime.md/state-bundle",
        "bundle (string, REQUIRED) is the absolute path to the container's bundle "
        "directory.")
def state_bundle(ctx):
    _, b, st, _ = created(ctx)
    got = st.get("bundle")
    check(isinstance(got, str) and os.path.isabs(got), f"bundle not absolute: {got!r}")
    check(os.path.realpath(got) == os.path.realpath(b), f"bundle {got!r} != {b!r}")


@clause("runtime.md/create-duplicate-id",
        "create: If the ID provided is not unique across all containers within the "
        "scope of the runtime, ... the runtime MUST generate an error and a new "
        "container MUST NOT be created.")
def create_duplicate(ctx):
    cid, b, st, _ = created(ctx)
    _, _, r, _ = ctx.create(ctx.config(SLEEPER), cid=cid)
    check(r.rc != 0, f"second create with id {cid} succeeded: {r}")
    st2 = ctx.state(cid)
    check(st2 and st2.get("pid") == st.get("pid") and st2.get("status") == "created",
          f"original container disturbed: {st2}")


@clause("runtime.md/create-not-run-args",
        "create: the runtime MUST apply all of config.json except process.args; the "
        "user-specified program MUST NOT be run at this time.")
def create_not_run(ctx):
    _, _, st, out = created(ctx, ["sh", "-c", "echo program-ran"])
    time.sleep(0.3)
    cmd = open(f"/proc/{st['pid']}/cmdline", "rb").read().split(b"\0")
    check(cmd[:3] != [b"sh", b"-c", b"echo program-ran"], f"process already runs args: {cmd}")
    check("program-ran" not in open(out).read(), "program output appeared before start")


@clause("runtime.md/start-runs-program",
        "start: This operation MUST run the user-specified program as specified by "
        "process.")
def start_runs(ctx):
    cid, _, _, out = created(ctx, ["sh", "-c", "echo program-ran"])
    r = ctx.rt("start", cid)
    check(r.rc == 0, f"start failed: {r}")
    ctx.wait_file(out, "program-ran")


@clause("runtime.md/state-status-running",
        "status: running (the container process has executed the user-specified "
        "program but has not exited).")
def state_running(ctx):
    cid, _, _, _ = created(ctx)
    r = ctx.rt("start", cid)
    check(r.rc == 0, f"start failed: {r}")
    ctx.wait_status(cid, "running", timeout=5)


@clause("runtime.md/state-status-stopped",
        "status: stopped (the container process has exited).")
def state_stopped(ctx):
    cid, _, _, _ = created(ctx, ["true"])
    r = ctx.rt("start", cid)
    check(r.rc == 0, f"start failed: {r}")
    ctx.wait_status(cid, "stopped", timeout=10)


@clause("runtime.md/start-not-created",
        "start: Attempting to start a container that is not created MUST have no "
        "effect on the container and MUST generate an error.")
def start_twice(ctx):
    cid, _, _, out = created(ctx, ["sh", "-c", "echo ran; sleep 1000"])
    check(ctx.rt("start", cid).rc == 0, "first start failed")
    ctx.wait_file(out, "ran")
    r = ctx.rt("start", cid)
    check(r.rc != 0, f"start of a running container succeeded: {r}")
    time.sleep(0.2)
    check(open(out).read().count("ran") == 1, "the program ran twice")
    st = ctx.state(cid)
    check(st and st.get("status") == "running", f"container disturbed: {st}")


@clause("runtime.md/start-stopped",
        "start: Attempting to start a container that is not created MUST ... generate "
        "an error (container stopped).")
def start_stopped(ctx):
    cid, _, _, _ = created(ctx, ["true"])
    check(ctx.rt("start", cid).rc == 0, "first start failed")
    ctx.wait_status(cid, "stopped")
    r = ctx.rt("start", cid)
    check(r.rc != 0, f"start of a stopped container succeeded: {r}")


@clause("runtime.md/kill-signal",
        "kill: This operation MUST send the specified signal to the container process.")
def kill_signal(ctx):
    script = "trap 'echo got-USR1; exit 0' USR1; echo ready; while :; do sleep 0.1; done"
    cid, _, _, out = created(ctx, ["sh", "-c", script])
    check(ctx.rt("start", cid).rc == 0, "start failed")
    ctx.wait_file(out, "ready")
    r = ctx.rt("kill", cid, "USR1")
    check(r.rc == 0, f"kill failed: {r}")
    ctx.wait_file(out, "got-USR1")
    ctx.wait_status(cid, "stopped")


@clause("runtime.md/kill-not-running",
        "kill: Attempting to send a signal to a container that is neither created nor "
        "running MUST have no effect on the container and MUST generate an error.")
def kill_stopped(ctx):
    cid, _, _, _ = created(ctx, ["true"])
    check(ctx.rt("start", cid).rc == 0, "start failed")
    ctx.wait_status(cid, "stopped")
    r = ctx.rt("kill", cid, "KILL")
    check(r.rc != 0, f"kill of a stopped container succeeded: {r}")


@clause("runtime.md/delete-running",
        "delete: Attempting to delete a container that is not stopped MUST have no "
        "effect on the container and MUST generate an error (running).")
def delete_running(ctx):
    cid, _, _, _ = created(ctx)
    check(ctx.rt("start", cid).rc == 0, "start failed")
    ctx.wait_status(cid, "running")
    r = ctx.rt("delete", cid)
    check(r.rc != 0, f"delete of a running container succeeded: {r}")
    st = ctx.state(cid)
    check(st and st.get("status") == "running", f"container disturbed: {st}")


@clause("runtime.md/delete-created",
        "delete: Attempting to delete a container that is not stopped MUST have no "
        "effect on the container and MUST generate an error (created).")
def delete_created(ctx):
    cid, _, _, _ = created(ctx)
    r = ctx.rt("delete", cid)
    check(r.rc != 0, f"delete of a created container succeeded: {r}")
    st = ctx.state(cid)
    check(st and st.get("status") == "created", f"container disturbed: {st}")


@clause("runtime.md/delete-removes",
        "delete: Deleting a container MUST delete the resources that were created "
        "during the create step (state of the id is no longer available).")
def delete_removes(ctx):
    cid, _, st, _ = created(ctx, ["true"])
    pid = st["pid"]
    check(ctx.rt("start", cid).rc == 0, "start failed")
    ctx.wait_status(cid, "stopped")
    r = ctx.rt("delete", cid)
    check(r.rc == 0, f"delete of a stopped container failed: {r}")
    r = ctx.rt("state", cid)
    check(r.rc != 0, f"state still works after delete: {r}")
    check(not os.path.exists(f"/proc/{pid}") or
          open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")[0] != b"true",
          f"container process {pid} still exists")


@clause("runtime.md/unknown-id",
        "state/start/kill/delete: This operation MUST generate an error if it is not "
        "provided the ID of a container (unknown id).")
def unknown_id(ctx):
    bad = ctx.new_id() + "-nonexistent"
    for op in (["state", bad], ["start", bad], ["kill", bad, "KILL"], ["delete", bad]):
        r = ctx.rt(*op)
        check(r.rc != 0, f"{op[0]} on unknown id succeeded: {r}")


@clause("runtime.md/lifecycle-error-bad-args",
        "lifecycle: If the runtime fails to run the program (process.args[0] does not "
        "exist) ... the runtime MUST generate an error.")
def bad_args(ctx):
    cid, _, r, _ = ctx.create(ctx.config(["/nonexistent-program"]))
    errors = [r] if r.rc != 0 else []
    if r.rc == 0:
        r2 = ctx.rt("start", cid)
        if r2.rc != 0:
            errors.append(r2)
    check(errors, f"neither create nor start reported an error: {r}")
    st = ctx.state(cid)
    check(st is None or st.get("status") != "running", f"container left running: {st}")
