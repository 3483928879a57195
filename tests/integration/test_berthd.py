"""berthd over its gRPC API (proto/berth/v1), with real containers: task life
cycle and stdio over Attach, the Containers API and its errors, the event
log and its subscribers, recovery after kill -9 (of berthd, of a shim), a
frozen shim, load from several clients, and bad input. Every test gets its
own berthd on a fresh directory (the `berthd` fixture in berthd_util), which
removes every container afterwards and checks nothing was left behind."""
import json
import os
import signal
import sqlite3
import stat
import subprocess
import threading
import time
import uuid

import grpc
import pytest

from berthd_util import *  # noqa: F401,F403 (the fixtures berth_api and berthd, helpers)

OK = grpc.StatusCode.OK


def ts(t):
    return t.seconds + t.nanos / 1e9


def read(path):
    with open(path) as f:
        return f.read().strip()


def error_of(fn, *args, **kw):
    try:
        fn(*args, **kw)
    except grpc.RpcError as e:
        return e
    raise AssertionError(f"{getattr(fn, '__name__', fn)} succeeded, an error was expected")


def topics_of(c, cid):
    return [m.event.topic for m in c.events(container_id=cid).events]


# ---------------------------------------------------------------------------
# 1. Task life cycle

@pytest.mark.timeout(120)
def test_lifecycle_exit_status_and_separate_stdout_stderr(berthd, berth_api):
    T = berth_api.t
    c = berthd.client()
    cid = c.create(["sh", "-c", "echo out1; echo err1 >&2; echo out2; exit 3"]).id
    assert c.get(cid).status == "created"
    task = c.create_task(cid, attach=True)
    assert task.init.status == T.CREATED and task.init.pid > 0 and task.shim_pid > 0
    assert os.path.exists(f"/proc/{task.init.pid}")
    a = c.attach(cid).wait_ack()
    assert c.start(cid) == task.init.pid
    out, err, status = a.wait()
    assert (out, err, status) == (b"out1\nout2\n", b"err1\n", 3)
    w = c.wait(cid)
    assert w.exit_status == 3 and ts(w.exited_at) > ts(task.created_at)
    t = c.task(cid)
    assert t.init.status == T.STOPPED and t.init.exit_status == 3
    assert c.get(cid).status == "stopped"
    # Attaching to an exited process says so at once.
    assert c.attach(cid).wait_ack().wait()[2] == 3
    d = c.delete_task(cid)
    assert d.exit_status == 3 and d.pid == task.init.pid
    assert c.get(cid).status == "created"
    assert not os.path.exists(os.path.join(berthd.state, "bundles", "default", cid))
    c.delete(cid, force=False)
    assert rpc_code(c.get, cid) == grpc.StatusCode.NOT_FOUND
    assert topics_of(c, cid) == ["/containers/create", "/tasks/create", "/tasks/start",
                                 "/tasks/exit", "/tasks/delete", "/containers/delete"]


@pytest.mark.timeout(120)
def test_stdin_through_attach_and_close_stdin(berthd):
    c = berthd.client()
    cid, a = c.run(["cat"], attach=True, stdin=True)
    a.send("hello\n")
    a.wait_output("hello\n")
    a.send(b"world\n")
    a.wait_output("hello\nworld\n")
    assert c.task(cid).init.stdin
    a.close_stdin()
    out, err, status = a.wait()
    assert (out, err, status) == (b"hello\nworld\n", b"", 0)
    # More input than a pipe holds, read as it comes (no close before the end).
    blob = os.urandom(200_000).hex().encode() + b"\n"
    cid, a = c.run(["sh", "-c", "read line; echo ${#line}"], attach=True, stdin=True)
    a.send(blob)
    assert a.wait() == (b"400000\n", b"", 0)


@pytest.mark.timeout(120)
def test_close_stdin_keeps_the_input_in_flight(berthd):
    c = berthd.client()
    # The process reads only after the close: every byte is then in the FIFO,
    # the shim or the pipe when the close comes, and all must reach it.
    out, _, status = c.run_to_exit(["sh", "-c", "sleep 2; wc -c"], stdin_data=b"x" * 150_000)
    assert (out.strip(), status) == (b"150000", 0)


@pytest.mark.timeout(120)
def test_terminal_task_has_a_pty_and_resizes(berthd, berth_api):
    T = berth_api.t
    c = berthd.client()
    script = ("tty; read a; stty size; read b; "
              "i=0; while [ $i -lt 150 ]; do stty size; sleep 0.1; i=$((i+1)); done")
    cid = c.create(["sh", "-c", script], terminal=True).id
    # A terminal needs stdio.terminal (matching the spec) and attach.
    assert rpc_code(c.create_task, cid, attach=True) == grpc.StatusCode.INVALID_ARGUMENT
    assert rpc_code(c.create_task, cid, terminal=True) == grpc.StatusCode.INVALID_ARGUMENT
    c.create_task(cid, attach=True, stdin=True, terminal=True)
    assert c.task(cid).init.terminal
    a = c.attach(cid).wait_ack()
    c.start(cid)
    a.wait_output("/dev/pts/0")
    # ResizePty answers once the shim has set the size: width is columns.
    c.T.ResizePty(T.ResizePtyRequest(container_id=cid, width=100, height=40))
    a.send("a\n")
    a.wait_output("40 100")  # stty size prints rows then columns
    # A resize through the Attach stream itself.
    a.resize(120, 50)
    a.send("b\n")
    a.wait_output("50 120")
    assert a.stderr == b""  # a pty has one output stream
    # An exec with a terminal of its own.
    _, out, _, status = c.exec_to_exit(cid, ["tty"], terminal=True)
    assert status == 0 and b"/dev/pts/" in out and b"/dev/pts/0" not in out
    c.kill(cid, signal=9)
    assert a.wait()[2] == 137


@pytest.mark.timeout(120)
def test_exec_with_attach_and_in_a_stopped_container(berthd, berth_api):
    T = berth_api.t
    c = berthd.client()
    cid, _ = c.run(["sleep", "1000"])
    exec_id, out, err, status = c.exec_to_exit(
        cid, ["sh", "-c", "echo eout $X; echo eerr >&2; id -u; exit 5"], env=["X=y"],
        user="1000")
    assert (out, err, status) == (b"eout y\n1000\n", b"eerr\n", 5)
    assert c.wait(cid, exec_id=exec_id).exit_status == 5
    execs = {p.exec_id: p for p in c.task(cid).execs}
    assert execs[exec_id].status == T.STOPPED and execs[exec_id].exit_status == 5
    assert c.task(cid).init.status == T.RUNNING
    # An exec id given by the caller; a duplicate is refused.
    c.exec(cid, ["true"], exec_id="mine", attach=False)
    assert rpc_code(c.exec, cid, ["true"], exec_id="mine") == grpc.StatusCode.ALREADY_EXISTS
    c.start(cid, "mine")
    assert c.wait(cid, exec_id="mine").exit_status == 0
    d = c.T.DeleteProcess(T.DeleteProcessRequest(container_id=cid, exec_id=exec_id))
    assert d.exit_status == 5
    assert exec_id not in {p.exec_id for p in c.task(cid).execs}
    topics = topics_of(c, cid)
    assert topics.count("/tasks/exec-added") == 2 and topics.count("/tasks/exec-started") == 2
    assert [m.event.exit_status for m in c.events(topics=["/tasks/exit"], container_id=cid).events
            if m.event.exec_id == exec_id] == [5]
    assert rpc_code(c.exec, cid, ["true"], exec_id="bad/id") == grpc.StatusCode.INVALID_ARGUMENT
    # An exec's stdin, ended with the CloseIO call.
    cat = c.exec(cid, ["cat"], stdin=True)
    a = c.attach(cid, cat).wait_ack()
    c.start(cid, cat)
    a.send("to exec\n")
    a.wait_output("to exec\n")
    c.T.CloseIO(T.CloseIORequest(container_id=cid, exec_id=cat))
    assert a.wait() == (b"to exec\n", b"", 0)
    # Stopped: no exec.
    c.kill(cid, signal=9)
    assert c.wait(cid).exit_status == 137
    e = error_of(c.exec, cid, ["true"])
    assert e.code() == grpc.StatusCode.FAILED_PRECONDITION, e.details()
    # A created (not started) task: no exec either.
    cid2 = c.create(["sleep", "1000"]).id
    c.create_task(cid2)
    assert rpc_code(c.exec, cid2, ["true"]) == grpc.StatusCode.FAILED_PRECONDITION


@pytest.mark.timeout(120)
def test_kill_sigterm_and_sigkill(berthd, berth_api):
    c = berthd.client()
    # The container's pid 1 only gets SIGTERM with a handler: the trap exits 42.
    cid, a = c.run(["sh", "-c", "trap 'exit 42' TERM; echo ready; while :; do sleep 0.1; done"],
                   attach=True)
    a.wait_output("ready\n")
    c.kill(cid)  # signal 0: SIGTERM
    assert c.wait(cid).exit_status == 42
    assert a.wait()[2] == 42
    # Kill of an exited process is refused; all=True to a stopped task is not an error.
    assert rpc_code(c.kill, cid) == grpc.StatusCode.FAILED_PRECONDITION
    assert rpc_code(c.kill, cid, signal=99) == grpc.StatusCode.INVALID_ARGUMENT
    cid2, _ = c.run(["sh", "-c", "sleep 1000 & sleep 1000"])
    pid = c.task(cid2).init.pid
    c.kill(cid2, signal=9, all=True)
    assert c.wait(cid2).exit_status == 137
    assert wait_for(lambda: not os.path.exists(f"/proc/{pid}"), 10)
    assert c.status(cid2) == berth_api.t.STOPPED


@pytest.mark.timeout(120)
def test_pause_resume_freezes_the_container(berthd, berth_api):
    T = berth_api.t
    c = berthd.client()
    cid, _ = c.run(["sh", "-c", "i=0; while :; do i=$((i+1)); echo $i > /tmp/c; sleep 0.05; done"])
    counter = os.path.join(berthd.root, "containers", "default", cid, "upper", "tmp", "c")

    def count():
        try:
            return int(read(counter) or 0)
        except (OSError, ValueError):
            return 0
    assert wait_for(lambda: count() > 3, 10), "the counter does not count"
    c.T.Pause(T.PauseTaskRequest(container_id=cid))
    assert c.status(cid) == T.PAUSED and c.get(cid).status == "paused"
    assert read(f"/sys/fs/cgroup/freezer/berth/default/{cid}/freezer.state") == "FROZEN"
    assert rpc_code(c.T.Pause, T.PauseTaskRequest(container_id=cid)) == \
        grpc.StatusCode.FAILED_PRECONDITION
    frozen = count()
    time.sleep(1.0)  # a frozen counter shows only by not moving for a while
    assert count() == frozen, "the counter advanced while paused"
    # Still paused after a restart of berthd (the shim says so).
    berthd.restart()
    c = berthd.client()
    assert c.status(cid) == T.PAUSED and count() == frozen
    paused = c.T.List(T.ListTasksRequest(status="paused")).tasks
    assert [t.init.container_id for t in paused] == [cid]
    c.T.Resume(T.ResumeTaskRequest(container_id=cid))
    assert c.status(cid) == T.RUNNING
    assert wait_for(lambda: count() > frozen + 3, 10), "the counter did not resume"
    assert rpc_code(c.T.Resume, T.ResumeTaskRequest(container_id=cid)) == \
        grpc.StatusCode.FAILED_PRECONDITION
    topics = topics_of(c, cid)
    assert topics.index("/tasks/paused") < topics.index("/tasks/resumed")


@pytest.mark.timeout(120)
def test_force_delete_of_a_paused_container(berthd, berth_api):
    # Found by this file (it hung: SIGKILL to a frozen cgroup waits for a thaw);
    # fixed in 1db58f6: a forced delete thaws first.
    T = berth_api.t
    c = berthd.client()
    cid, _ = c.run(["sleep", "1000"])
    pid = c.task(cid).init.pid
    c.T.Pause(T.PauseTaskRequest(container_id=cid))
    try:
        code = rpc_code(c.C.Delete, berth_api.c.DeleteContainerRequest(id=cid, force=True),
                        timeout=15)
        assert code == OK, code
        assert rpc_code(c.get, cid) == grpc.StatusCode.NOT_FOUND
        assert wait_for(lambda: not os.path.exists(f"/proc/{pid}"), 10)
    finally:
        # Should it hang again: once thawed, the pending SIGKILL lands and the delete ends.
        rpc_code(c.T.Resume, T.ResumeTaskRequest(container_id=cid))
        wait_for(lambda: rpc_code(c.get, cid) == grpc.StatusCode.NOT_FOUND, 15)


@pytest.mark.timeout(120)
def test_sigterm_with_calls_in_flight(berthd, berth_api):
    """SIGTERM while calls wait: a Kill to a frozen shim (10 s shim deadline),
    a Wait, an Attach and a Subscribe. berthd ends them and exits, promptly."""
    c = berthd.client()
    frozen, _ = c.run(["sleep", "1000"])
    waited, a = c.run(["sleep", "1000"], attach=True)
    shim = c.task(frozen).shim_pid
    berthd.stopped_pids.add(shim)
    os.kill(shim, signal.SIGSTOP)
    results = {}

    def call(name, fn):
        results[name] = rpc_code(fn)
    threads = [threading.Thread(target=call, args=("kill", lambda: c.kill(frozen, signal=28))),
               threading.Thread(target=call, args=("wait", lambda: c.wait(waited)))]
    for t in threads:
        t.start()
    sub = c.subscribe()
    assert wait_for(lambda: sub.items, 10)
    time.sleep(0.5)  # the calls are in berthd
    t0 = time.time()
    berthd.proc.send_signal(signal.SIGTERM)
    try:
        rc = berthd.proc.wait(20)
    except subprocess.TimeoutExpired:
        rc = None
    took = time.time() - t0
    try:
        assert rc == 0 and took < 15, (rc, took)
        for t in threads:
            t.join(10)
        assert results["wait"] != OK and results["kill"] != OK, results
        a.wait(10)
        sub.done.wait(10)
        assert sub.done.is_set()
    finally:
        os.kill(shim, signal.SIGCONT)
        berthd.stopped_pids.discard(shim)
        if berthd.running():
            berthd.proc.kill()  # our own berthd: the fixture restarts it to clean up
            berthd.proc.wait(10)
    assert os.path.exists(f"/proc/{shim}"), "the shim went with berthd"


@pytest.mark.timeout(120)
def test_pids_metrics_and_resource_updates(berthd, berth_api):
    T = berth_api.t
    c = berthd.client()
    limit = 64 << 20
    cid, _ = c.run(["sleep", "1000"], memory_bytes=limit, pids_limit=20)
    task = c.task(cid)
    pids = c.T.ListPids(T.ListPidsRequest(container_id=cid)).pids
    assert task.init.pid in pids
    mem = f"/sys/fs/cgroup/memory/berth/default/{cid}"
    assert int(read(f"{mem}/memory.limit_in_bytes")) == limit
    assert read(f"/sys/fs/cgroup/pids/berth/default/{cid}/pids.max") == "20"
    m = c.T.Metrics(T.MetricsRequest(container_id=cid))
    assert m.container_id == cid and m.memory_usage_bytes > 0
    assert m.memory_limit_bytes == limit and m.pids_current >= 1 and m.pids_limit == 20
    c.T.Update(T.UpdateTaskRequest(container_id=cid, resources_json='{"pids":{"limit":50}}'))
    assert read(f"/sys/fs/cgroup/pids/berth/default/{cid}/pids.max") == "50"
    assert c.T.Metrics(T.MetricsRequest(container_id=cid)).pids_limit == 50
    assert rpc_code(c.T.Update, T.UpdateTaskRequest(container_id=cid, resources_json="")) == \
        grpc.StatusCode.INVALID_ARGUMENT
    assert rpc_code(c.T.Update, T.UpdateTaskRequest(container_id=cid, resources_json="{nope")) != OK
    assert read(f"/sys/fs/cgroup/pids/berth/default/{cid}/pids.max") == "50"


@pytest.mark.timeout(120)
def test_memory_limit_kills_with_an_oom_event(berthd):
    c = berthd.client()
    cid = new_id()
    # The shell holds 100 MB in a variable: over the 32 MiB limit.
    out, _, status = c.run_to_exit(
        ["sh", "-c", "x=$(head -c 100000000 /dev/zero | tr '\\0' a); echo survived"], cid=cid,
        memory_bytes=32 << 20, timeout=60)
    assert status == 137 and b"survived" not in out
    topics = topics_of(c, cid)
    assert "/tasks/oom" in topics and topics.index("/tasks/oom") < topics.index("/tasks/exit")
    # Without the limit, the same command completes.
    out, _, status = c.run_to_exit(
        ["sh", "-c", "x=$(head -c 100000000 /dev/zero | tr '\\0' a); echo survived"], timeout=60)
    assert (out, status) == (b"survived\n", 0)


@pytest.mark.timeout(120)
def test_process_config_hostname_user_env_cwd(berthd):
    c = berthd.client()
    out, err, status = c.run_to_exit(
        ["sh", "-c", "hostname; id -u; id -g; echo \"$FOO\"; pwd"], hostname="bdhost",
        user="1000:1000", env=["FOO=bar baz"], cwd="/tmp")
    assert (out, err, status) == (b"bdhost\n1000\n1000\nbar baz\n/tmp\n", b"", 0)
    # Without a hostname: the id's first 12 characters.
    cid = new_id()
    out, _, _ = c.run_to_exit(["hostname"], cid=cid)
    assert out == (cid[:12] + "\n").encode()
    for bad in ({"user": "berth"}, {"env": ["NOEQUALS"]}, {"cwd": "relative"},
                {"memory_bytes": -1}):
        e = error_of(c.create, ["true"], **bad)
        assert e.code() == grpc.StatusCode.INVALID_ARGUMENT, (bad, e.details())
    assert rpc_code(c.create, []) == grpc.StatusCode.INVALID_ARGUMENT


# ---------------------------------------------------------------------------
# 2. The Containers API

@pytest.mark.timeout(120)
def test_get_by_id_name_and_unique_prefix(berthd):
    c = berthd.client()
    cid = "g" + uuid.uuid4().hex
    c.create(["true"], cid=cid, name="web-1", labels={"k": "v"})
    for ref in (cid, "web-1", cid[:10]):
        got = c.get(ref)
        assert got.id == cid and got.name == "web-1" and dict(got.labels) == {"k": "v"}
        assert got.runtime == "berth" and got.rootfs.path == berthd.rootfs
        assert json.loads(got.spec_json)["process"]["args"] == ["true"]
    stem = "p" + uuid.uuid4().hex[:10]
    c.create(["true"], cid=stem + "a")
    c.create(["true"], cid=stem + "b")
    e = error_of(c.get, stem)
    assert e.code() == grpc.StatusCode.INVALID_ARGUMENT and "ambiguous" in e.details()
    assert c.get(stem + "b").id == stem + "b"
    # Generated ids: 64 hex characters; the name defaults to the id.
    gen = c.C.Create(berthd.api.c.CreateContainerRequest(
        process=berthd.api.c.ProcessConfig(args=["true"]),
        rootfs=berthd.api.c.Rootfs(path=berthd.rootfs))).container
    berthd.made.add(("default", gen.id))
    assert len(gen.id) == 64 and int(gen.id, 16) >= 0 and gen.name == gen.id


@pytest.mark.timeout(120)
def test_list_filters(berthd):
    c = berthd.client()
    a = c.create(["sleep", "1000"], name="fa", labels={"app": "web", "tier": "front"}).id
    b = c.create(["true"], name="fb", labels={"app": "web"}).id
    d = c.create(["true"], name="fc", labels={"app": "db"}).id
    c.create_task(a)
    c.start(a)

    def ids(**f):
        return sorted(x.id for x in c.list(**f))
    assert ids() == sorted([a, b, d])
    assert ids(labels={"app": "web"}) == sorted([a, b])
    assert ids(labels={"tier": ""}) == [a]  # a key alone: presence
    assert ids(labels={"app": "web", "tier": "front"}) == [a]
    assert ids(labels={"app": "nope"}) == []
    assert ids(name="fb") == [b]
    assert ids(status="running") == [a]
    assert ids(status="created") == sorted([b, d])
    assert ids(status="running", labels={"app": "db"}) == []
    c.kill(a, signal=9)
    c.wait(a)
    assert ids(status="stopped") == [a]


@pytest.mark.timeout(120)
def test_update_labels_with_field_mask(berthd, berth_api):
    C = berth_api.c
    from google.protobuf import field_mask_pb2
    c = berthd.client()
    cid = c.create(["sleep", "1000"], labels={"a": "1", "b": "2"}).id
    before = c.get(cid)
    up = c.C.Update(C.UpdateContainerRequest(
        container=C.Container(id=cid, labels={"b": "3", "c": "4"}, name="ignored"),
        update_mask=field_mask_pb2.FieldMask(paths=["labels"]))).container
    assert dict(up.labels) == {"b": "3", "c": "4"}
    got = c.get(cid)
    assert dict(got.labels) == {"b": "3", "c": "4"} and got.name == before.name
    assert got.spec_json == before.spec_json
    assert ts(got.updated_at) > ts(before.updated_at)
    assert "/containers/update" in topics_of(c, cid)
    for paths in (["name"], []):
        e = error_of(c.C.Update, C.UpdateContainerRequest(
            container=C.Container(id=cid), update_mask=field_mask_pb2.FieldMask(paths=paths)))
        assert e.code() == grpc.StatusCode.INVALID_ARGUMENT and "update_mask" in e.details()
    assert rpc_code(c.C.Update, C.UpdateContainerRequest(
        container=C.Container(id="nope" + cid), update_mask=field_mask_pb2.FieldMask(
            paths=["labels"]))) == grpc.StatusCode.NOT_FOUND
    # spec_json cannot change under a task.
    c.create_task(cid)
    spec = json.loads(got.spec_json)
    spec["process"]["args"] = ["true"]
    e = error_of(c.C.Update, C.UpdateContainerRequest(
        container=C.Container(id=cid, spec_json=json.dumps(spec)),
        update_mask=field_mask_pb2.FieldMask(paths=["spec_json"])))
    assert e.code() == grpc.StatusCode.FAILED_PRECONDITION
    # Labels survive a restart of berthd (they are in the database).
    berthd.restart()
    assert dict(berthd.client().get(cid).labels) == {"b": "3", "c": "4"}


@pytest.mark.timeout(120)
def test_duplicate_id_and_name(berthd):
    c = berthd.client()
    cid = c.create(["true"], name="dup").id
    e = error_of(c.create, ["true"], cid=cid)
    assert e.code() == grpc.StatusCode.ALREADY_EXISTS, e.details()
    e = error_of(c.create, ["true"], name="dup")
    assert e.code() == grpc.StatusCode.ALREADY_EXISTS, e.details()
    # A name may not be another container's id either (references would clash)?
    # Not asserted: the API does not say. The same id in another namespace is fine.
    other = berthd.client("other")
    assert other.create(["true"], cid=cid, name="dup").id == cid
    assert len(c.list()) == 1 and len(other.list()) == 1


@pytest.mark.timeout(120)
def test_invalid_ids_and_names(berthd, berth_api):
    c = berthd.client()
    for bad in ("../x", "a" * 129, "a/b", "-x", ".x", "a b", "x\n", "é"):
        e = error_of(c.create, ["true"], cid=bad)
        assert e.code() == grpc.StatusCode.INVALID_ARGUMENT, (bad, e.details())
        assert e.details().startswith("id:"), e.details()
    assert c.create(["true"], cid="a" * 128).id == "a" * 128
    e = error_of(c.create, ["true"], name="a/b")
    assert e.code() == grpc.StatusCode.INVALID_ARGUMENT and e.details().startswith("name:")
    # The namespace is checked too.
    bad_ns = berthd.client("../evil")
    e = error_of(bad_ns.create, ["true"])
    assert e.code() == grpc.StatusCode.INVALID_ARGUMENT and "namespace" in e.details()
    e = error_of(c.create, ["true"], runtime="crun")
    assert e.code() == grpc.StatusCode.INVALID_ARGUMENT and "runtime" in e.details()
    assert [x.id for x in c.list()] == ["a" * 128]
    assert berthd.bundles_left() == []
    assert not os.path.exists(os.path.join(berthd.state, "bundles", "..", "evil"))


@pytest.mark.timeout(120)
def test_unknown_container_is_not_found(berthd, berth_api):
    T = berth_api.t
    c = berthd.client()
    nope = new_id("nope")
    NF = grpc.StatusCode.NOT_FOUND
    assert rpc_code(c.get, nope) == NF
    assert rpc_code(c.delete, nope) == NF
    assert rpc_code(c.task, nope) == NF
    assert rpc_code(c.create_task, nope) == NF
    assert rpc_code(c.start, nope) == NF
    assert rpc_code(c.kill, nope) == NF
    assert rpc_code(c.wait, nope) == NF
    assert rpc_code(c.T.ListPids, T.ListPidsRequest(container_id=nope)) == NF
    a = c.attach(nope)
    a.wait(10)
    assert a.error is not None and a.error.code() == NF
    # A container without a task: its task is not found.
    cid = c.create(["true"]).id
    assert rpc_code(c.task, cid) == NF
    assert rpc_code(c.start, cid) == NF
    assert rpc_code(c.delete_task, cid) == NF
    # And a task's unknown exec.
    c.create_task(cid)
    assert rpc_code(c.start, cid, "noexec") == NF


@pytest.mark.timeout(120)
def test_delete_with_a_task_needs_force(berthd, berth_api):
    T = berth_api.t
    c = berthd.client()
    cid, _ = c.run(["sleep", "1000"])
    pid = c.task(cid).init.pid
    e = error_of(c.delete, cid, force=False)
    assert e.code() == grpc.StatusCode.FAILED_PRECONDITION, e.details()
    e = error_of(c.delete_task, cid)
    assert e.code() == grpc.StatusCode.FAILED_PRECONDITION, e.details()
    assert c.status(cid) == T.RUNNING and os.path.exists(f"/proc/{pid}")
    # A created task (never started) can go without force; the container then too.
    cid2 = c.create(["sleep", "1000"]).id
    c.create_task(cid2)
    c.delete_task(cid2)
    c.delete(cid2, force=False)
    c.delete(cid, force=True)
    assert rpc_code(c.get, cid) == grpc.StatusCode.NOT_FOUND
    assert wait_for(lambda: not os.path.exists(f"/proc/{pid}"), 10)
    assert cgroup_dirs("default", cid) == []
    assert not os.path.exists(os.path.join(berthd.root, "containers", "default", cid))


@pytest.mark.timeout(120)
def test_task_state_errors_and_references_by_name(berthd, berth_api):
    T = berth_api.t
    c = berthd.client()
    cid = c.create(["sleep", "1000"], name="byname").id
    c.create_task("byname")  # tasks are found by name too
    e = error_of(c.create_task, cid)
    assert e.code() == grpc.StatusCode.ALREADY_EXISTS, e.details()
    c.start("byname")
    assert rpc_code(c.start, cid) == grpc.StatusCode.FAILED_PRECONDITION
    assert rpc_code(c.wait, cid, exec_id="nope", timeout=5) == grpc.StatusCode.NOT_FOUND
    assert rpc_code(c.T.Resume, T.ResumeTaskRequest(container_id=cid)) == \
        grpc.StatusCode.FAILED_PRECONDITION
    assert c.task("byname").init.container_id == cid
    c.delete("byname", force=True)
    assert rpc_code(c.get, cid) == grpc.StatusCode.NOT_FOUND
    # The name is free again.
    assert c.create(["true"], name="byname").id != cid


@pytest.mark.timeout(120)
def test_rootfs_must_be_a_directory(berthd, tmp_path):
    c = berthd.client()
    f = tmp_path / "file"
    f.write_text("x")
    weird = tmp_path / "a,b"
    weird.mkdir()
    for path in (str(f), str(tmp_path / "missing"), "relative/dir", str(weird)):
        e = error_of(c.create, ["true"], rootfs=path)
        assert e.code() == grpc.StatusCode.INVALID_ARGUMENT, (path, e.details())
        assert e.details().startswith("rootfs.path"), e.details()
    assert c.list() == []


@pytest.mark.timeout(120)
def test_namespaces_isolate(berthd, berth_api):
    S = berth_api.s
    a, b = berthd.client("a"), berthd.client("b")
    cid, _ = a.run(["sleep", "1000"])
    assert rpc_code(b.get, cid) == grpc.StatusCode.NOT_FOUND
    assert rpc_code(b.task, cid) == grpc.StatusCode.NOT_FOUND
    assert rpc_code(b.kill, cid) == grpc.StatusCode.NOT_FOUND
    assert rpc_code(b.delete, cid) == grpc.StatusCode.NOT_FOUND
    assert b.list() == [] and [x.id for x in a.list()] == [cid]
    assert len(b.T.List(berth_api.t.ListTasksRequest()).tasks) == 0
    assert cgroup_dirs("a", cid), "cgroup not under berth/a"
    ev = [m.event for m in a.events(container_id=cid).events]
    assert ev and all(e.namespace == "a" for e in ev)
    assert [m.event.container_id for m in a.events(namespace="b").events] == []
    # The same id in b: its own container and task, apart from a's.
    b.run(["sleep", "1000"], cid=cid)
    assert a.task(cid).init.pid != b.task(cid).init.pid
    b.kill(cid, signal=9)
    assert b.wait(cid).exit_status == 137
    assert a.status(cid) == berth_api.t.RUNNING
    assert {"a", "b", "default"} <= set(berthd.namespaces())
    e = error_of(a.N.Delete, S.DeleteNamespaceRequest(name="a"))
    assert e.code() == grpc.StatusCode.FAILED_PRECONDITION, e.details()
    assert rpc_code(a.N.Delete, S.DeleteNamespaceRequest(name="default")) == \
        grpc.StatusCode.FAILED_PRECONDITION
    a.delete(cid)
    a.N.Delete(S.DeleteNamespaceRequest(name="a"))
    assert "a" not in berthd.namespaces()
    assert rpc_code(a.N.Delete, S.DeleteNamespaceRequest(name="a")) == grpc.StatusCode.NOT_FOUND
    a.N.Create(S.CreateNamespaceRequest(name="a", labels={"x": "y"}))
    assert rpc_code(a.N.Create, S.CreateNamespaceRequest(name="a")) == \
        grpc.StatusCode.ALREADY_EXISTS


# ---------------------------------------------------------------------------
# 3. Events

@pytest.mark.timeout(120)
def test_events_have_increasing_seq_and_list_filters(berthd):
    c = berthd.client()
    ids = []
    for code in (1, 2):
        cid = new_id()
        ids.append(cid)
        c.run_to_exit(["sh", "-c", f"exit {code}"], cid=cid)
        c.delete(cid)
    r = c.events()
    seqs = [m.event.seq for m in r.events]
    assert seqs == sorted(set(seqs)) and len(seqs) >= 12
    assert r.last_seq == seqs[-1] == c.info().last_event_seq
    assert all(m.event.timestamp.seconds > 0 and m.event.namespace == "default" for m in r.events)
    stamps = [ts(m.event.timestamp) for m in r.events]
    assert stamps == sorted(stamps)
    exits = c.events(topics=["/tasks/exit"]).events
    assert [(m.event.container_id, m.event.exit_status) for m in exits] == \
        [(ids[0], 1), (ids[1], 2)]
    assert all(m.event.pid > 0 and m.event.exited_at.seconds > 0 for m in exits)
    tasks = c.events(topics=["/tasks/"], container_id=ids[1]).events
    assert [m.event.topic for m in tasks] == ["/tasks/create", "/tasks/start", "/tasks/exit",
                                              "/tasks/delete"]
    assert [m.event.seq for m in c.events(after_seq=seqs[3], limit=2).events] == seqs[4:6]
    assert len(c.events(after_seq=r.last_seq).events) == 0
    assert len(c.events(namespace="nope").events) == 0


@pytest.mark.timeout(120)
def test_subscribe_replays_then_follows_live(berthd):
    c = berthd.client()
    for _ in range(3):
        c.create(["true"])
    before = [m.event.seq for m in c.events().events]
    assert len(before) == 3
    sub = c.subscribe(after_seq=before[0])
    assert wait_for(lambda: len(sub.seqs()) >= 2, 10)
    assert sub.seqs() == before[1:]
    live = c.subscribe(from_now=True)
    filtered = c.subscribe(topics=["/tasks/"])
    # from_now: nothing of the past; it has registered once a new event reaches it.
    for _ in range(20):
        c.create(["true"])
        if wait_for(lambda: live.items, 0.5):
            break
    first = live.seqs()[0]
    assert first > before[-1]
    cid, _ = c.run(["true"])
    c.wait(cid)
    assert wait_for(lambda: "/tasks/exit" in [e.topic for e in sub.events()], 10)
    assert wait_for(lambda: "/tasks/exit" in [e.topic for e in live.events()], 10)
    assert wait_for(lambda: "/tasks/exit" in [e.topic for e in filtered.events()], 10)
    all_seqs = [m.event.seq for m in c.events().events]
    assert sub.seqs() == all_seqs[1:]
    assert live.seqs() == [x for x in all_seqs if x >= first]
    assert all(e.topic.startswith("/tasks/") for e in filtered.events())
    assert [e.topic for e in filtered.events()] == ["/tasks/create", "/tasks/start", "/tasks/exit"]
    for s in (sub, live, filtered):
        s.cancel()


@pytest.mark.timeout(180)
def test_subscriber_reconnecting_with_its_last_seq_misses_nothing(berthd):
    c = berthd.client()
    stop = threading.Event()
    errors = []

    def workload():
        w = berthd.client()
        try:
            i = 0
            while not stop.is_set() and i < 12:
                cid = new_id()
                w.run(["sh", "-c", f"exit {i % 5}"], cid=cid)
                w.wait(cid)
                if i % 2:
                    w.delete(cid)
                i += 1
        except Exception as e:  # noqa: BLE001 (reported below)
            errors.append(e)
        finally:
            stop.set()
    t = threading.Thread(target=workload)
    t.start()
    got, last, rounds = [], 0, 0
    try:
        while not stop.is_set() or rounds < 2:
            sub = c.subscribe(after_seq=last)
            wait_for(lambda: len(sub.items) >= 3 or stop.is_set(), 5)
            sub.cancel()  # killed mid-stream; what it read is what it has
            evs = sub.events()
            assert not [m for m in sub.items if m.WhichOneof("kind") == "lost"]
            got += evs
            if evs:
                last = evs[-1].seq
            rounds += 1
            time.sleep(0.05)  # events happen while it is away
    finally:
        stop.set()
        t.join(120)
    assert not errors, errors
    final = c.subscribe(after_seq=last)
    end = c.events(limit=10000).last_seq
    assert wait_for(lambda: (final.seqs() or [last])[-1] >= end, 10)
    final.cancel()
    got += [e for e in final.events() if e.seq <= end]
    reference = [m.event for m in c.events(limit=10000).events if m.event.seq <= end]
    assert [e.seq for e in got] == [e.seq for e in reference], "duplicates or gaps"
    assert [(e.topic, e.container_id) for e in got] == \
        [(e.topic, e.container_id) for e in reference]
    assert rounds >= 3 and len(reference) > 40


@pytest.mark.timeout(120)
def test_lost_marker_for_a_trimmed_log(berthd):
    # berthd keeps 100000 events (no flag to lower it): the trim is simulated
    # by deleting the oldest rows from its database while it is stopped.
    c = berthd.client()
    for _ in range(10):
        c.create(["true"])
    seqs = [m.event.seq for m in c.events().events]
    assert len(seqs) == 10
    berthd.stop()
    db = sqlite3.connect(os.path.join(berthd.root, "berthd.db"))
    db.execute("DELETE FROM events WHERE seq <= ?", (seqs[3],))
    db.commit()
    db.close()
    berthd.start()
    c = berthd.client()
    r = c.events()
    kinds = [m.WhichOneof("kind") for m in r.events]
    assert kinds == ["lost"] + ["event"] * 6
    assert (r.events[0].lost.from_seq, r.events[0].lost.to_seq) == (seqs[0], seqs[3])
    r = c.events(after_seq=seqs[1])
    assert (r.events[0].lost.from_seq, r.events[0].lost.to_seq) == (seqs[2], seqs[3])
    assert [m.WhichOneof("kind") for m in c.events(after_seq=seqs[3]).events] == ["event"] * 6
    sub = c.subscribe(after_seq=0)
    assert wait_for(lambda: len(sub.items) >= 7, 10)
    assert sub.items[0].WhichOneof("kind") == "lost"
    assert sub.items[0].lost.to_seq == seqs[3] and sub.seqs() == seqs[4:]
    # New events continue the numbering (seqs are never reused).
    c.create(["true"])
    assert wait_for(lambda: len(sub.seqs()) == 7, 10)
    assert sub.seqs()[-1] == seqs[-1] + 1
    sub.cancel()


# ---------------------------------------------------------------------------
# 4. Recovery

@pytest.mark.timeout(180)
def test_recovery_after_kill9(berthd, berth_api):
    T = berth_api.t
    c = berthd.client()
    running = [c.run(["sleep", "1000"])[0] for _ in range(10)]
    exiting = [c.run(["sh", "-c", "sleep 3; exit 7"])[0] for _ in range(3)]
    exit_pids = [c.task(x).init.pid for x in exiting]
    last_seen = c.events(limit=10000).last_seq
    assert all(c.status(x) == T.RUNNING for x in exiting), "the 3 exited too soon"
    killed_at = time.time()
    berthd.kill9()
    assert wait_for(lambda: not any(os.path.exists(f"/proc/{p}") for p in exit_pids), 20)
    time.sleep(0.3)  # the shims record the exits
    restarted_at = time.time()
    berthd.start()
    c = berthd.client()
    listed = {x.id: x for x in c.list()}
    assert set(listed) == set(running + exiting)
    for x in exiting:
        t = c.task(x)
        assert t.init.status == T.STOPPED and t.init.exit_status == 7
        assert killed_at < ts(t.init.exited_at) < restarted_at, "exited_at is not the real one"
        assert listed[x].status == "stopped"
        assert c.wait(x).exit_status == 7
    for x in running:
        assert c.status(x) == T.RUNNING and listed[x].status == "running"
    # The events: one exit per exited container, in the order they exited.
    after = [m.event for m in c.events(after_seq=last_seen, limit=10000).events]
    exits = [e for e in after if e.topic == "/tasks/exit"]
    assert sorted(e.container_id for e in exits) == sorted(exiting)
    assert [ts(e.exited_at) for e in exits] == sorted(ts(e.exited_at) for e in exits)
    assert all(e.exit_status == 7 for e in exits)
    assert min(e.seq for e in after) == last_seen + 1
    rec = c.info().recovery
    assert (rec.containers, rec.reconnected, rec.exited, rec.gone, rec.orphans, rec.unknown) == \
        (13, 13, 3, 0, 0, 0), rec
    assert ts(rec.started_at) >= restarted_at
    # The running ones are still controllable.
    c.kill(running[0], signal=9)
    assert c.wait(running[0]).exit_status == 137
    _, out, _, status = c.exec_to_exit(running[1], ["echo", "still here"])
    assert (out, status) == (b"still here\n", 0)
    info = c.info()
    assert (info.containers, info.running) == (13, 9)


@pytest.mark.timeout(120)
def test_recovery_of_a_shim_killed_while_berthd_was_down(berthd, berth_api):
    T = berth_api.t
    c = berthd.client()
    dead, _ = c.run(["sleep", "1000"])
    alive, _ = c.run(["sleep", "1000"])
    t = c.task(dead)
    berthd.kill9()
    os.kill(t.shim_pid, signal.SIGKILL)
    assert wait_for(lambda: not os.path.exists(f"/proc/{t.shim_pid}"), 10)
    berthd.start()
    c = berthd.client()
    got = c.task(dead)
    assert got.init.status == T.STOPPED and got.init.exit_status == 137
    assert c.wait(dead).exit_status == 137
    assert not os.path.exists(os.path.join(berthd.state, "bundles", "default", dead))
    assert wait_for(lambda: not os.path.exists(f"/proc/{t.init.pid}"), 10), \
        "the dead shim's container still runs"
    assert cgroup_dirs("default", dead) == []
    rec = c.info().recovery
    assert (rec.reconnected, rec.gone, rec.orphans) == (1, 1, 0), rec
    exits = [m.event for m in c.events(topics=["/tasks/exit"], container_id=dead).events]
    assert len(exits) == 1 and exits[0].exit_status == 137
    assert rpc_code(c.kill, dead, signal=9) == grpc.StatusCode.FAILED_PRECONDITION
    d = c.delete_task(dead)
    assert d.exit_status == 137
    c.delete(dead)
    assert c.status(alive) == T.RUNNING
    c.kill(alive, signal=9)
    assert c.wait(alive).exit_status == 137


@pytest.mark.timeout(120)
def test_recovery_removes_a_bundle_without_record(berthd, berth_api):
    c = berthd.client()
    keep, _ = c.run(["sleep", "1000"])
    orphan = new_id("orphan")
    berthd.stop()
    src = os.path.join(berthd.state, "bundles", "default", keep)
    dst = os.path.join(berthd.state, "bundles", "default", orphan)
    os.makedirs(dst)
    with open(os.path.join(src, "config.json")) as f:
        spec = json.load(f)
    spec["linux"]["cgroupsPath"] = f"/berth/default/{orphan}"  # never the kept one's
    with open(os.path.join(dst, "config.json"), "w") as f:
        json.dump(spec, f)
    berthd.made.add(("default", orphan))
    berthd.start()
    c = berthd.client()
    assert not os.path.exists(dst)
    assert os.path.exists(src)
    rec = c.info().recovery
    assert (rec.containers, rec.reconnected, rec.orphans) == (1, 1, 1), rec
    assert c.status(keep) == berth_api.t.RUNNING
    _, out, _, _ = c.exec_to_exit(keep, ["echo", "ok"])
    assert out == b"ok\n"
    assert rpc_code(c.get, orphan) == grpc.StatusCode.NOT_FOUND


@pytest.mark.timeout(120)
def test_sigterm_keeps_containers_and_restart_reattaches_output(berthd, berth_api):
    T = berth_api.t
    c = berthd.client()
    plain, _ = c.run(["sleep", "1000"])
    ticker, a = c.run(["sh", "-c", "i=0; while :; do i=$((i+1)); echo tick$i; sleep 0.05; done"],
                      attach=True)
    a.wait_output("tick3\n")
    pids = [c.task(x).init.pid for x in (plain, ticker)]
    assert berthd.stop() == 0
    a.wait(10)  # the stream ends with berthd
    assert all(os.path.exists(f"/proc/{p}") for p in pids), "SIGTERM took a container with it"
    berthd.start()
    c = berthd.client()
    assert c.status(plain) == T.RUNNING and c.status(ticker) == T.RUNNING
    assert c.info().recovery.reconnected == 2
    # The output FIFOs are taken back: a new Attach gets the ticks again.
    a = c.attach(ticker).wait_ack()
    a.wait_output("tick")
    c.kill(ticker, signal=9)
    assert a.wait()[2] == 137


@pytest.mark.timeout(120)
def test_restart_keeps_an_attached_stdin_open(berthd, berth_api):
    T = berth_api.t
    c = berthd.client()
    cid, a = c.run(["sh", "-c", "read x; echo got $x; exit 4"], attach=True, stdin=True)
    pid = c.task(cid).init.pid
    assert berthd.stop() == 0
    a.wait(10)
    # berthd held a writer of the stdin FIFO: its exit must not be the end of input
    # (fixed in 1fe5ff4: the shim holds one too). Give a wrong EOF time to show.
    time.sleep(0.5)
    alive = os.path.exists(f"/proc/{pid}")
    berthd.start()
    c = berthd.client()
    assert alive and c.status(cid) == T.RUNNING, "the process saw end of file"
    a = c.attach(cid).wait_ack()
    a.send("hi\n")
    out, _, status = a.wait()
    assert (out, status) == (b"got hi\n", 4)


# ---------------------------------------------------------------------------
# 5. A frozen shim

@pytest.mark.timeout(120)
def test_stopped_shim_does_not_slow_the_others(berthd, berth_api):
    T = berth_api.t
    c = berthd.client()
    frozen, _ = c.run(["sleep", "1000"])
    others = [c.run(["sleep", "1000"])[0] for _ in range(2)]
    shim = c.task(frozen).shim_pid
    berthd.made.add(("default", frozen))
    berthd.stopped_pids.add(shim)
    os.kill(shim, signal.SIGSTOP)
    assert wait_for(lambda: proc_state(shim) == "T", 5)
    result = {}

    def kill():
        t0 = time.time()
        # SIGWINCH: harmless when the shim, once continued, delivers it late.
        result["code"] = rpc_code(c.kill, frozen, signal=signal.SIGWINCH)
        result["took"] = time.time() - t0
    k = threading.Thread(target=kill)
    k.start()
    for _ in range(5):
        for call in (lambda: c.T.List(T.ListTasksRequest()),
                     lambda: c.C.List(berth_api.c.ListContainersRequest()),
                     lambda: c.task(others[0]), lambda: c.info()):
            t0 = time.time()
            call()
            assert time.time() - t0 < 3, "a List/Get waited on the stopped shim"
        time.sleep(0.1)
    # The others' shims still answer meanwhile.
    _, out, _, _ = c.exec_to_exit(others[0], ["echo", "fine"])
    assert out == b"fine\n"
    k.join(30)
    assert result["code"] == grpc.StatusCode.DEADLINE_EXCEEDED and result["took"] < 20, result
    assert c.status(frozen) == T.UNKNOWN
    assert c.get(frozen).status == "unknown"
    assert len(c.T.List(T.ListTasksRequest()).tasks) == 3
    os.kill(shim, signal.SIGCONT)
    berthd.stopped_pids.discard(shim)
    assert c.wait_status(frozen, T.RUNNING, 15), "the shim answers again, not its status"
    assert c.get(frozen).status == "running"
    c.kill(frozen, signal=9)
    assert c.wait(frozen).exit_status == 137


@pytest.mark.timeout(120)
def test_stopped_shim_at_restart_does_not_hold_up_recovery(berthd, berth_api):
    T = berth_api.t
    c = berthd.client()
    frozen, _ = c.run(["sleep", "1000"])
    others = [c.run(["sleep", "1000"])[0] for _ in range(3)]
    shim = c.task(frozen).shim_pid
    berthd.kill9()
    berthd.stopped_pids.add(shim)
    os.kill(shim, signal.SIGSTOP)
    t0 = time.time()
    berthd.start()
    took = time.time() - t0
    c = berthd.client()
    rec = c.info().recovery
    assert (rec.containers, rec.reconnected, rec.unknown, rec.gone) == (4, 3, 1, 0), rec
    assert took < 10 and rec.duration_ms < 5000, (took, rec.duration_ms)
    assert c.status(frozen) == T.UNKNOWN
    assert all(c.status(x) == T.RUNNING for x in others)
    c.kill(others[0], signal=9)
    assert c.wait(others[0]).exit_status == 137
    os.kill(shim, signal.SIGCONT)
    berthd.stopped_pids.discard(shim)
    assert c.wait_status(frozen, T.RUNNING, 20), "still unknown after the shim woke up"
    _, out, _, _ = c.exec_to_exit(frozen, ["echo", "awake"])
    assert out == b"awake\n"


# ---------------------------------------------------------------------------
# 6. Load

LOAD_CONTAINERS = int(os.environ.get("BERTHD_LOAD_CONTAINERS", "200"))
LOAD_CLIENTS = 8


@pytest.mark.timeout(600)
def test_load_from_concurrent_clients(berthd, berth_api):
    T = berth_api.t
    ids = [new_id("ld") for _ in range(LOAD_CONTAINERS)]
    errors = []

    def each(part, fn):
        cl = berthd.client()
        try:
            for cid in part:
                fn(cl, cid)
        except Exception as e:  # noqa: BLE001 (reported below)
            errors.append(e)

    def run_all(fn):
        threads = [threading.Thread(target=each, args=(ids[i::LOAD_CLIENTS], fn))
                   for i in range(LOAD_CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    t0 = time.time()
    run_all(lambda cl, cid: cl.run(["sleep", "1000"], cid=cid))
    started = time.time() - t0
    assert not errors, errors[:3]
    c = berthd.client()
    running = {t.init.container_id for t in c.T.List(T.ListTasksRequest(status="running")).tasks}
    assert running == set(ids)
    info = c.info()
    assert (info.containers, info.running) == (LOAD_CONTAINERS, LOAD_CONTAINERS)
    assert len(shim_pids_under(berthd.base)) == LOAD_CONTAINERS
    t0 = time.time()
    run_all(lambda cl, cid: cl.delete(cid, force=True))
    deleted = time.time() - t0
    assert not errors, errors[:3]
    assert c.list() == []
    print(f"\n{LOAD_CONTAINERS} containers from {LOAD_CLIENTS} clients: started in "
          f"{started:.1f} s, deleted in {deleted:.1f} s")


# ---------------------------------------------------------------------------
# 7. Bad input

@pytest.mark.timeout(120)
def test_malformed_message_is_refused_and_berthd_stays_up(berthd):
    c = berthd.client()
    for method in ("/berth.v1.Containers/Create", "/berth.v1.Tasks/Kill",
                   "/berth.v1.Events/List", "/berth.v1.System/Info"):
        raw = c.raw_channel.unary_unary(method)  # no serializers: bytes as they are
        for junk in (b"\x0a\xff\xff\xff\xff\x0f", b"\xff" * 64, b"\x08"):
            e = error_of(raw, junk, timeout=10)
            assert e.code() in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.INTERNAL), \
                (method, junk, e.code())
    stream = c.raw_channel.unary_stream("/berth.v1.Events/Subscribe")
    e = error_of(lambda: list(stream(b"\xff\xff", timeout=10)))
    assert e.code() in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.INTERNAL)
    unknown = c.raw_channel.unary_unary("/berth.v1.Nope/Nothing")
    assert error_of(unknown, b"", timeout=10).code() == grpc.StatusCode.UNIMPLEMENTED
    assert berthd.running()
    out, _, status = c.run_to_exit(["echo", "alive"])
    assert (out, status) == (b"alive\n", 0)


@pytest.mark.timeout(120)
def test_oversized_message_is_resource_exhausted(berthd):
    c = berthd.client()
    e = error_of(c.create, ["true"], labels={"big": "x" * (5 << 20)})
    assert e.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, e.details()
    cid, a = c.run(["cat"], attach=True, stdin=True)
    a.send(b"y" * (5 << 20))  # one Attach message over the limit ends that stream
    a.wait(20)
    assert a.error is not None and a.error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert berthd.running()
    assert c.list() and c.status(cid) == berthd.api.t.RUNNING
    assert c.run_to_exit(["echo", "ok"])[0] == b"ok\n"


@pytest.mark.timeout(120)
def test_clients_going_away_mid_stream(berthd):
    c = berthd.client()
    cid, _ = c.run(["sh", "-c", "while :; do echo tick; sleep 0.05; done"], attach=True)
    pid = berthd.pid
    # Warm up the server's threads, then the baseline.
    for _ in range(3):
        c.info()
    time.sleep(0.5)
    baseline = threads_of(pid)
    peak = baseline
    for _ in range(4):
        gone = berthd.client()
        attached = [gone.attach(cid).wait_ack() for _ in range(3)]
        subs = [gone.subscribe(after_seq=0) for _ in range(3)]
        for a in attached:
            a.wait_output("tick")
        assert wait_for(lambda: all(len(s.items) > 0 for s in subs), 10)
        peak = max(peak, threads_of(pid))
        gone.close()  # the channel goes, the streams with it
        assert c.info().containers == 1  # a following call works
    assert peak > baseline, "the streams did not use threads of berthd"
    assert wait_for(lambda: threads_of(pid) <= baseline + 2, 10), \
        f"threads: baseline {baseline}, peak {peak}, now {threads_of(pid)}"
    # A client process killed with -9 in the middle of an Attach and a Subscribe.
    script = f"""
import grpc, sys, time
sys.path.insert(0, {berthd.api.dir!r})
from berth.v1 import tasks_pb2 as t, tasks_pb2_grpc as tg, events_pb2 as e, events_pb2_grpc as eg
ch = grpc.insecure_channel("unix://{berthd.address}")
def reqs():
    yield t.AttachRequest(container_id="{cid}")
    time.sleep(1000)
att = tg.TasksStub(ch).Attach(reqs())
next(att); next(att)
sub = eg.EventsStub(ch).Subscribe(e.SubscribeRequest())
next(sub)
print("streaming", flush=True)
time.sleep(1000)
"""
    p = subprocess.Popen([PYTHON, "-c", script], stdout=subprocess.PIPE)
    try:
        assert p.stdout.readline() == b"streaming\n"
    finally:
        p.kill()
        p.wait()
    assert wait_for(lambda: threads_of(pid) <= baseline + 2, 10), \
        f"threads: baseline {baseline}, now {threads_of(pid)}"
    a = c.attach(cid).wait_ack()
    a.wait_output("tick")
    a.cancel()
    assert c.status(cid) == berthd.api.t.RUNNING


@pytest.mark.timeout(120)
def test_caller_without_permission_is_refused(berthd):
    # berthd's socket is 0660 root (group berth if it exists); the directory
    # above it can be entered by anyone (the fixture's 0755).
    st = os.stat(berthd.address)
    assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o660 and st.st_uid == 0
    script = """
import grpc, sys
ch = grpc.insecure_channel("unix://" + sys.argv[1])
try:
    ch.unary_unary("/berth.v1.System/Version")(b"", timeout=5)
    print("OK")
except grpc.RpcError as e:
    print(e.code().name, e.details())
"""

    def as_nobody():
        def drop():
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
        r = subprocess.run([PYTHON, "-c", script, berthd.address], preexec_fn=drop, cwd="/",
                           capture_output=True, text=True, timeout=30,
                           env={"PATH": "/usr/bin:/bin", "HOME": "/nonexistent"})
        assert r.returncode == 0, r.stderr
        return r.stdout.strip()
    out = as_nobody()
    assert out.startswith("UNAVAILABLE"), out
    # The socket opened to everyone: berthd itself refuses by the peer's uid.
    os.chmod(berthd.address, 0o666)
    try:
        out = as_nobody()
    finally:
        os.chmod(berthd.address, 0o660)
    assert out.startswith("UNAVAILABLE"), out
    assert wait_for(lambda: "refused a connection from uid 65534" in berthd.log(), 5), berthd.log()
    assert berthd.running()
    c = berthd.client()
    assert c.info().pid == berthd.pid
