#include "lib/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "lib/errors.h"
#include "lib/unique_fd.h"

extern char** environ;

namespace berth {
namespace {

absl::Status Pipe(UniqueFd* read_end, UniqueFd* write_end) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) return ErrnoError("pipe");
  read_end->reset(p[0]);
  write_end->reset(p[1]);
  return absl::OkStatus();
}

// Feeds `in` to `in_fd` and drains the captured pipes at once, so a child
// that writes much before reading never deadlocks with us.
void Exchange(int in_fd, absl::string_view in, int out_fd, std::string* out, int err_fd,
              std::string* err) {
  size_t sent = 0;
  if (in_fd >= 0) fcntl(in_fd, F_SETFL, O_NONBLOCK);
  for (;;) {
    pollfd fds[3];
    int n = 0;
    int in_slot = -1, out_slot = -1, err_slot = -1;
    if (in_fd >= 0) fds[in_slot = n++] = {in_fd, POLLOUT, 0};
    if (out_fd >= 0) fds[out_slot = n++] = {out_fd, POLLIN, 0};
    if (err_fd >= 0) fds[err_slot = n++] = {err_fd, POLLIN, 0};
    if (n == 0) return;
    if (poll(fds, n, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (in_slot >= 0 && fds[in_slot].revents != 0) {
      ssize_t w = WriteNoSigpipe(in_fd, in.data() + sent, in.size() - sent);
      if (w > 0) sent += static_cast<size_t>(w);
      if ((w < 0 && errno != EAGAIN && errno != EINTR) || sent == in.size()) {
        close(in_fd);
        in_fd = -1;
      }
    }
    auto drain = [](int& fd, std::string* sink) {
      char buf[8192];
      ssize_t r = read(fd, buf, sizeof buf);
      if (r > 0) {
        sink->append(buf, static_cast<size_t>(r));
      } else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
        fd = -1;  // closed by its UniqueFd
      }
    };
    if (out_slot >= 0 && fds[out_slot].revents != 0) drain(out_fd, out);
    if (err_slot >= 0 && fds[err_slot].revents != 0) drain(err_fd, err);
  }
}

}  // namespace

ssize_t WriteNoSigpipe(int fd, const void* data, size_t size) {
  sigset_t pipe_only, old, pending;
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_only, &old);
  sigpending(&pending);
  bool was_pending = sigismember(&pending, SIGPIPE) == 1;
  ssize_t n = write(fd, data, size);
  int saved = errno;
  if (n < 0 && errno == EPIPE && !was_pending) {
    // Consume the SIGPIPE this write raised, so unblocking cannot deliver it.
    struct timespec zero = {0, 0};
    while (sigtimedwait(&pipe_only, nullptr, &zero) < 0 && errno == EINTR) {
    }
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  errno = saved;
  return n;
}

bool SpawnResult::success() const {
  return WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0;
}

std::string SpawnResult::Describe() const {
  if (WIFEXITED(wait_status)) return absl::StrCat("exit status ", WEXITSTATUS(wait_status));
  if (WIFSIGNALED(wait_status)) return absl::StrCat("killed by signal ", WTERMSIG(wait_status));
  return absl::StrCat("wait status ", wait_status);
}

std::string ReadToEnd(int fd) {
  std::string data;
  char buf[8192];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n > 0) {
      data.append(buf, static_cast<size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      return data;
    }
  }
}

absl::StatusOr<int> WaitProcess(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return ErrnoError(absl::StrCat("wait for pid ", pid));
  }
  return status;
}

namespace {

struct Pipes {
  UniqueFd in_r, in_w, out_r, out_w, err_r, err_w;
};

absl::StatusOr<pid_t> SpawnWith(const std::vector<std::string>& argv, const SpawnOptions& o,
                                Pipes* pipes) {
  if (argv.empty()) return absl::InvalidArgumentError("spawn: no program");
  UniqueFd null_fd(open("/dev/null", O_RDWR | O_CLOEXEC));
  if (!null_fd) return ErrnoError("open /dev/null");
  std::map<int, int> fds = o.fds;
  for (int i = 0; i < 3; ++i) fds.try_emplace(i, -1);
  if (pipes != nullptr) {
    if (!o.stdin_data.empty()) {
      BERTH_RETURN_IF_ERROR(Pipe(&pipes->in_r, &pipes->in_w));
      fds[0] = pipes->in_r.get();
    }
    if (o.capture_stdout) {
      BERTH_RETURN_IF_ERROR(Pipe(&pipes->out_r, &pipes->out_w));
      fds[1] = pipes->out_w.get();
    }
    if (o.capture_stderr) {
      BERTH_RETURN_IF_ERROR(Pipe(&pipes->err_r, &pipes->err_w));
      fds[2] = pipes->err_w.get();
    }
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  // dup2 clears close-on-exec; a source that is also a target is dup'ed
  // first, out of the way, so the map may permute fds.
  std::map<int, int> staged;
  for (auto [child, parent] : fds) {
    int src = parent >= 0 ? parent : null_fd.get();
    if (fds.contains(src) && src != child) {
      int high = fcntl(src, F_DUPFD_CLOEXEC, 100);
      if (high < 0) return ErrnoError("dup a child fd");
      staged[child] = high;
      src = high;
    }
    staged.try_emplace(child, src);
  }
  for (auto [child, src] : staged) {
    if (src == child) {
      // dup2 onto itself keeps close-on-exec set: clear it with a dup dance.
      posix_spawn_file_actions_adddup2(&actions, src, 1000);
      posix_spawn_file_actions_adddup2(&actions, 1000, child);
      posix_spawn_file_actions_addclose(&actions, 1000);
    } else {
      posix_spawn_file_actions_adddup2(&actions, src, child);
    }
  }
  posix_spawn_file_actions_addclosefrom_np(&actions, fds.rbegin()->first + 1);
  if (!o.cwd.empty()) posix_spawn_file_actions_addchdir_np(&actions, o.cwd.c_str());
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
  if (o.new_session) flags |= POSIX_SPAWN_SETSID;
  posix_spawnattr_setflags(&attr, flags);

  std::vector<char*> cargv;
  for (const std::string& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  std::vector<char*> cenv;
  if (o.env) {
    for (const std::string& e : *o.env) cenv.push_back(const_cast<char*>(e.c_str()));
  }
  cenv.push_back(nullptr);
  pid_t pid = 0;
  const std::string& program = o.path.empty() ? argv[0] : o.path;
  int err = posix_spawnp(&pid, program.c_str(), &actions, &attr, cargv.data(),
                         o.env ? cenv.data() : environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  for (auto [child, src] : staged) {
    if (src >= 100 && src != fds[child]) close(src);
  }
  if (err != 0) return ErrnoError(err, absl::StrCat("start ", program));
  if (pipes != nullptr) {
    pipes->in_r.reset();
    pipes->out_w.reset();
    pipes->err_w.reset();
  }
  return pid;
}

}  // namespace

absl::StatusOr<pid_t> Spawn(const std::vector<std::string>& argv, const SpawnOptions& options) {
  return SpawnWith(argv, options, nullptr);
}

absl::StatusOr<SpawnResult> RunProcess(const std::vector<std::string>& argv,
                                       const SpawnOptions& options) {
  Pipes pipes;
  BERTH_ASSIGN_OR_RETURN(pid_t pid, SpawnWith(argv, options, &pipes));
  SpawnResult result;
  int in_fd = pipes.in_w.release();
  Exchange(in_fd, options.stdin_data, pipes.out_r.get(), &result.out, pipes.err_r.get(),
           &result.err);
  BERTH_ASSIGN_OR_RETURN(result.wait_status, WaitProcess(pid));
  return result;
}

}  // namespace berth
