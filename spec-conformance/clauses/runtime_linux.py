"""runtime-linux.md: file descriptors and /dev symbolic links."""
from conformance import clause, check


@clause("runtime-linux.md/fds-stdio-only",
        "File descriptors: By default, only the stdin, stdout and stderr file "
        "descriptors are kept open for the application by the runtime.")
def fds_stdio_only(ctx):
    r = ctx.run(ctx.config(["sh", "-c", "exec ls /proc/self/fd"]))
    check(r.rc == 0, f"run failed: {r}")
    fds = sorted(int(x) for x in r.out.split())
    # ls itself opens one fd to read the directory
    check(fds[:3] == [0, 1, 2] and len(fds) <= 4, f"open fds: {fds}")


@clause("runtime-linux.md/dev-symlinks",
        "Dev symbolic links: While creating the container (step 2 in the lifecycle), "
        "runtimes MUST create the following symlinks if the source file exists after "
        "processing mounts: /dev/fd -> /proc/self/fd, /dev/stdin -> /proc/self/fd/0, "
        "/dev/stdout -> /proc/self/fd/1, /dev/stderr -> /proc/self/fd/2")
def dev_symlinks(ctx):
    r = ctx.run(ctx.config(["sh", "-c", "for l in fd stdin stdout stderr; do "
                            "echo $l=$(readlink /dev/$l); done"]))
    check(r.rc == 0, f"run failed: {r}")
    want = {"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0",
            "stdout": "/proc/self/fd/1", "stderr": "/proc/self/fd/2"}
    got = dict(l.split("=", 1) for l in r.out.split())
    check(got == want, f"links: {got}")
