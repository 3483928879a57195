#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "lib/errors.h"
#include "lib/event_loop.h"
#include "lib/file_util.h"
#include "lib/log.h"
#include "lib/shim_api.h"
#include "lib/ttrpc/server.h"
#include "shim/commands.h"
#include "shim/publisher.h"
#include "shim/task_service.h"

namespace berth::shim {
namespace {

constexpr absl::Duration kPublishGrace = absl::Seconds(5);

// Logs go to the "log" FIFO containerd opened in the bundle (it copies them
// to its own output), opened read-write and non-blocking so a containerd that
// is gone or slow never stalls the shim.
void OpenLog(const std::string& bundle, bool debug) {
  log::Init("", log::Format::kText, debug).IgnoreError();
  int fd =
      open(absl::StrCat(bundle, "/", shim_api::kLogFifo).c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd >= 0) log::SetFd(fd);
}

absl::StatusOr<UniqueFd> Listener(const ShimFlags& flags) {
  if (flags.socket.empty()) {
    // From `start`, as fd 3.
    if (fcntl(3, F_SETFD, FD_CLOEXEC) != 0) return ErrnoError("fd 3 (the shim socket)");
    return UniqueFd(3);
  }
  std::string path(absl::StripPrefix(flags.socket, "unix://"));
  UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  struct sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    return absl::InvalidArgumentError(absl::StrCat("-socket ", path, ": path too long"));
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  unlink(path.c_str());
  if (bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      listen(fd.get(), 128) != 0) {
    return ErrnoError(absl::StrCat("listen on ", path));
  }
  return fd;
}

// The socket file to remove when the shim ends.
std::string SocketFile(const ShimFlags& flags, const std::string& bundle) {
  if (!flags.socket.empty()) return std::string(absl::StripPrefix(flags.socket, "unix://"));
  absl::StatusOr<std::string> address = ReadFile(absl::StrCat(bundle, "/", shim_api::kAddressFile));
  return address.ok()
             ? std::string(absl::StripPrefix(absl::StripAsciiWhitespace(*address), "unix://"))
             : std::string();
}

}  // namespace

int Serve(const ShimFlags& flags) {
  std::string bundle = BundleDir(flags);
  OpenLog(bundle, flags.debug);
  auto fail = [](absl::string_view what, const absl::Status& st) {
    log::Error(absl::StrCat(what, ": ", st.message()));
    return 1;
  };

  signal(SIGPIPE, SIG_IGN);
  // Orphaned container processes (the init, once `create` exits; exec'd
  // processes after `exec --detach`) become our children, so we reap them.
  if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) return fail("subreaper", ErrnoError("prctl"));
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigprocmask(SIG_BLOCK, &mask, nullptr);
  UniqueFd signals(signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!signals) return fail("signalfd", ErrnoError("signalfd"));

  // Read now: containerd removes the bundle (and its address file) before
  // the shim ends.
  std::string socket_file = SocketFile(flags, bundle);
  absl::StatusOr<UniqueFd> listener = Listener(flags);
  if (!listener.ok()) return fail("socket", listener.status());
  absl::StatusOr<EventLoop> loop = EventLoop::Create();
  if (!loop.ok()) return fail("event loop", loop.status());

  const char* ttrpc_address = getenv("TTRPC_ADDRESS");
  Publisher publisher(&*loop, ttrpc_address ? ttrpc_address : "", flags.ns);
  TaskService service(&*loop, flags.ns, flags.id, bundle, &publisher);
  ttrpc::Server server(&*loop, std::move(*listener));
  service.set_hold_stdin(flags.hold_stdin);
  service.Register(&server);
  if (absl::Status st = server.Start(); !st.ok()) return fail("serve", st);

  absl::Status st = loop->Add(signals.get(), EPOLLIN, [&](uint32_t) {
    struct signalfd_siginfo info;
    while (read(signals.get(), &info, sizeof info) == sizeof info) {
      if (info.ssi_signo == SIGTERM || info.ssi_signo == SIGINT) loop->Stop();
    }
    for (;;) {
      int status = 0;
      pid_t pid = waitpid(-1, &status, WNOHANG);
      if (pid <= 0) break;
      service.OnChildExit(pid, status);
    }
  });
  if (!st.ok()) return fail("signals", st);

  // After Shutdown: give queued events (the /tasks/delete just published) a
  // moment to reach containerd, then end.
  absl::Time deadline;
  std::function<void()> finish = [&] {
    if (publisher.idle() || absl::Now() >= deadline) {
      loop->Stop();
    } else {
      loop->After(absl::Milliseconds(20), finish);
    }
  };
  service.OnShutdown([&] {
    deadline = absl::Now() + kPublishGrace;
    loop->After(absl::ZeroDuration(), finish);
  });

  if (absl::Status run = loop->Run(); !run.ok()) return fail("event loop", run);
  if (!socket_file.empty()) unlink(socket_file.c_str());
  return 0;
}

}  // namespace berth::shim
