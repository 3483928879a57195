"""Lifecycle hooks run at the runtime-spec's points, in the right namespaces,
with the state on stdin; create-phase failures fail create and clean up."""
import json
import os

from test_failures import assert_fails_cleanly


def recorder(logdir, kind, inside=False):
    """A hook that saves its stdin, env, args and namespaces under logdir."""
    d = "/hooklog" if inside else logdir
    script = (f'cat > {d}/{kind}.json; echo {kind} >> {d}/order; '
              f'readlink /proc/self/ns/uts > {d}/{kind}.uts; '
              f'readlink /proc/self/ns/mnt > {d}/{kind}.mnt; '
              f'echo "$FOO $1" > {d}/{kind}.env')
    return {"path": "/bin/sh", "args": ["sh", "-c", script, "hook", f"arg-{kind}"],
            "env": [f"FOO=env-{kind}"]}


def configure(berth, tmp_path, args=("true",)):
    logdir = str(tmp_path / "hooklog")
    os.makedirs(logdir)
    spec = berth.config()
    spec["process"]["args"] = list(args)
    spec["mounts"].append({"destination": "/hooklog", "type": "bind", "source": logdir,
                           "options": ["rbind"]})
    spec["hooks"] = {k: [recorder(logdir, k, inside=(k == "startContainer"))]
                     for k in ["prestart", "createRuntime", "createContainer", "startContainer",
                               "poststart", "poststop"]}
    berth.write_config(spec)
    return logdir, spec


def read(logdir, name):
    with open(os.path.join(logdir, name)) as f:
        return f.read().strip()


def test_hooks_order_state_and_namespaces(berth, tmp_path):
    logdir, _ = configure(berth, tmp_path, ["sleep", "1000"])
    cid = berth.new_id()
    berth.run("create", "--bundle", berth.bundle, cid, check=True)
    pid = berth.state(cid)["pid"]
    assert read(logdir, "order").split() == ["prestart", "createRuntime", "createContainer"]
    berth.run("start", cid, check=True)
    assert read(logdir, "order").split()[3:] == ["startContainer", "poststart"]
    berth.run("kill", cid, "KILL", check=True)
    berth.run("delete", cid, check=True)
    assert read(logdir, "order").split() == ["prestart", "createRuntime", "createContainer",
                                             "startContainer", "poststart", "poststop"]
    states = {k: json.loads(read(logdir, f"{k}.json")) for k in
              ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"]}
    for k, st in states.items():
        assert st["id"] == cid and st["bundle"] == os.path.realpath(berth.bundle), k
        assert st["ociVersion"]
    assert states["createRuntime"]["status"] == "creating"
    assert states["createContainer"]["status"] == "creating"
    assert states["startContainer"]["status"] == "created"
    assert states["poststart"]["status"] == "running"
    assert states["poststop"]["status"] == "stopped"
    for k in ["prestart", "createRuntime", "createContainer", "startContainer", "poststart"]:
        assert states[k]["pid"] == pid, k
    # Namespaces: runtime-side hooks in the host's, create/startContainer in the container's.
    host_uts, host_mnt = os.readlink("/proc/self/ns/uts"), os.readlink("/proc/self/ns/mnt")
    for k in ["prestart", "createRuntime", "poststart", "poststop"]:
        assert read(logdir, f"{k}.uts") == host_uts, k
        assert read(logdir, f"{k}.mnt") == host_mnt, k
    for k in ["createContainer", "startContainer"]:
        assert read(logdir, f"{k}.uts") != host_uts, k
        assert read(logdir, f"{k}.mnt") != host_mnt, k
    # env and args are exactly the hook's
    assert read(logdir, "createRuntime.env") == "env-createRuntime arg-createRuntime"
    assert read(logdir, "startContainer.env") == "env-startContainer arg-startContainer"


def test_run_runs_all_hooks(berth, tmp_path):
    logdir, _ = configure(berth, tmp_path)
    p = berth.run("run", "--bundle", berth.bundle, berth.new_id())
    assert p.returncode == 0, p.stderr
    assert read(logdir, "order").split() == ["prestart", "createRuntime", "createContainer",
                                             "startContainer", "poststart", "poststop"]


def failing(kind, code=3):
    return {"path": "/bin/sh", "args": ["sh", "-c", f"echo {kind}-said-no >&2; exit {code}"]}


def test_failing_create_hooks_fail_create_and_clean_up(berth, tmp_path):
    for kind in ["prestart", "createRuntime", "createContainer"]:
        spec = berth.config()
        spec["hooks"] = {kind: [{"path": "/bin/true"}, failing(kind)]}
        berth.write_config(spec)
        msg = assert_fails_cleanly(berth, lambda cid: ["create", "--bundle", berth.bundle, cid],
                                   f"hooks.{kind}[1] (/bin/sh): exited with status 3")
        assert f"{kind}-said-no" in msg


def test_hook_timeout(berth, tmp_path):
    spec = berth.config()
    spec["hooks"] = {"createRuntime": [{"path": "/bin/sleep", "args": ["sleep", "30"], "timeout": 1}]}
    berth.write_config(spec)
    assert_fails_cleanly(berth, lambda cid: ["create", "--bundle", berth.bundle, cid],
                         "hooks.createRuntime[0] (/bin/sleep): timed out after 1s")


def test_missing_hook_binary(berth):
    spec = berth.config()
    spec["hooks"] = {"prestart": [{"path": "/no/such/hook"}]}
    berth.write_config(spec)
    assert_fails_cleanly(berth, lambda cid: ["create", "--bundle", berth.bundle, cid],
                         "hooks.prestart[0] (/no/such/hook)")


def test_failing_startcontainer_hook_stops_the_process(berth, tmp_path):
    spec = berth.config()
    spec["process"]["args"] = ["sh", "-c", "echo user-process-ran"]
    spec["hooks"] = {"startContainer": [failing("startContainer")]}
    berth.write_config(spec)
    p = berth.run("run", "--bundle", berth.bundle, berth.new_id())
    assert p.returncode != 0
    assert "user-process-ran" not in p.stdout
    assert "hooks.startContainer[0]" in p.stderr


def test_poststart_and_poststop_failures_are_warnings(berth):
    spec = berth.config()
    spec["process"]["args"] = ["true"]
    spec["hooks"] = {"poststart": [failing("poststart")], "poststop": [failing("poststop")]}
    berth.write_config(spec)
    p = berth.run("run", "--bundle", berth.bundle, berth.new_id())
    assert p.returncode == 0, p.stderr
    assert "warning: hooks.poststart[0]" in p.stderr
    assert "warning: hooks.poststop[0]" in p.stderr


def test_every_failing_poststart_and_poststop_hook_warns_and_the_rest_run(berth, tmp_path):
    logdir = str(tmp_path / "hooklog")
    os.makedirs(logdir)
    spec = berth.config()
    spec["process"]["args"] = ["true"]
    marker = lambda kind, n: {"path": "/bin/sh", "args": ["sh", "-c", f"echo {kind}{n} >> {logdir}/ran"]}
    spec["hooks"] = {k: [failing(k), marker(k, 1), failing(k, code=4), marker(k, 2)]
                     for k in ["poststart", "poststop"]}
    berth.write_config(spec)
    p = berth.run("run", "--bundle", berth.bundle, berth.new_id())
    assert p.returncode == 0, p.stderr
    for k in ["poststart", "poststop"]:
        warnings = [l for l in p.stderr.splitlines() if f"hooks.{k}[" in l]
        assert len(warnings) == 2, p.stderr
        assert f"warning: hooks.{k}[0] (/bin/sh): exited with status 3: {k}-said-no" in warnings[0]
        assert f"warning: hooks.{k}[2] (/bin/sh): exited with status 4: {k}-said-no" in warnings[1]
    with open(os.path.join(logdir, "ran")) as f:
        assert f.read().split() == ["poststart1", "poststart2", "poststop1", "poststop2"]


def test_hook_without_env_gets_the_runtimes_environment(berth, tmp_path):
    logdir = str(tmp_path / "hooklog")
    os.makedirs(logdir)
    spec = berth.config()
    spec["process"]["args"] = ["true"]
    show = lambda name: {"path": "/bin/sh",
                         "args": ["sh", "-c", f'echo "[$BERTH_HOOK_VAR]" > {logdir}/{name}']}
    spec["hooks"] = {"prestart": [show("absent")],
                     "createRuntime": [dict(show("empty"), env=[])],
                     "poststop": [dict(show("given"), env=["BERTH_HOOK_VAR=own"])]}
    berth.write_config(spec)
    p = berth.run("run", "--bundle", berth.bundle, berth.new_id(),
                  env=dict(os.environ, BERTH_HOOK_VAR="from-runtime"))
    assert p.returncode == 0, p.stderr
    got = {n: open(os.path.join(logdir, n)).read().strip() for n in ["absent", "empty", "given"]}
    assert got == {"absent": "[from-runtime]", "empty": "[]", "given": "[own]"}


def test_hooks_that_exit_before_reading_the_state_do_not_kill_the_runtime(berth):
    # The state goes to the hook's stdin after it starts; a hook that has
    # already exited makes that write EPIPE, which must not be a SIGPIPE that
    # kills berth silently in the middle of create (seen on CI).
    spec = berth.config()
    spec["process"]["args"] = ["true"]
    quick = {"path": "/bin/true"}
    spec["hooks"] = {k: [quick] * 25 for k in ["prestart", "createRuntime", "poststart", "poststop"]}
    berth.write_config(spec)
    for _ in range(3):
        p = berth.run("run", "--bundle", berth.bundle, berth.new_id())
        assert p.returncode == 0, (p.returncode, p.stderr)
