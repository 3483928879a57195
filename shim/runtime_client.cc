#include "shim/runtime_client.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "lib/errors.h"
#include "lib/file_util.h"
#include "lib/json_tree.h"
#include "lib/unique_fd.h"

extern char** environ;

namespace berth::shim {
namespace {

std::string Basename(absl::string_view path) {
  size_t slash = path.rfind('/');
  return std::string(slash == absl::string_view::npos ? path : path.substr(slash + 1));
}

// Reads a pipe to its end.
std::string ReadToEnd(int fd) {
  std::string out;
  char buf[16384];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n > 0) {
      out.append(buf, static_cast<size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      return out;
    }
  }
}

}  // namespace

std::string FindRuntimeBinary(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n > 0) {
    std::string dir(self, static_cast<size_t>(n));
    dir.resize(dir.rfind('/') + 1);
    if (access((dir + name).c_str(), X_OK) == 0) return dir + name;
  }
  const char* path = getenv("PATH");
  for (absl::string_view d : absl::StrSplit(path ? path : "/usr/sbin:/usr/bin:/sbin:/bin", ':')) {
    if (d.empty()) continue;
    std::string candidate = absl::StrCat(d, "/", name);
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return name;
}

absl::StatusOr<std::string> RuntimeClient::Run(const std::vector<std::string>& args,
                                               const CommandStdio& stdio, bool capture) {
  std::vector<std::string> argv = {binary_, "--root", root_};
  if (!log_path_.empty()) {
    argv.insert(argv.end(), {"--log", log_path_, "--log-format", "json"});
  }
  if (systemd_cgroup_) argv.push_back("--systemd-cgroup");
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> cargv;
  for (std::string& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);

  UniqueFd null_fd(open("/dev/null", O_RDWR | O_CLOEXEC));
  UniqueFd out_r, out_w;
  if (capture) {
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) return ErrnoError("pipe");
    out_r.reset(p[0]);
    out_w.reset(p[1]);
  }
  int fds[3] = {stdio.in, capture ? out_w.get() : stdio.out, stdio.err};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  for (int i = 0; i < 3; ++i) {
    posix_spawn_file_actions_adddup2(&actions, fds[i] >= 0 ? fds[i] : null_fd.get(), i);
  }
  // The shim blocks SIGCHLD (signalfd) and ignores SIGPIPE; neither may reach
  // the runtime, let alone the container it starts.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  sigaddset(&defaults, SIGCHLD);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid = 0;
  int err = posix_spawn(&pid, binary_.c_str(), &actions, &attr, cargv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (err != 0) return ErrnoError(err, absl::StrCat("start ", binary_));
  out_w.reset();

  std::string output = capture ? ReadToEnd(out_r.get()) : std::string();
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return ErrnoError(absl::StrCat("wait for ", binary_));
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return output;

  std::string what = WIFEXITED(status) ? absl::StrCat("exit status ", WEXITSTATUS(status))
                                       : absl::StrCat("killed by signal ", WTERMSIG(status));
  std::string logged = LastLoggedError();
  return absl::UnknownError(absl::StrCat(Basename(binary_), " ", args.front(), " failed: ",
                                         logged.empty() ? what : logged));
}

std::string RuntimeClient::LastLoggedError() const {
  absl::StatusOr<std::string> text = ReadFile(log_path_);
  if (!text.ok()) return "";
  std::vector<absl::string_view> lines = absl::StrSplit(*text, '\n', absl::SkipEmpty());
  for (auto it = lines.rbegin(); it != lines.rend(); ++it) {
    auto doc = json::Document::Parse(*it, "log");
    if (!doc.ok()) continue;
    json::Value root = (*doc)->root();
    absl::StatusOr<std::string> level = root.Get("level").AsString();
    if (!level.ok() || (*level != "error" && *level != "fatal")) continue;
    absl::StatusOr<std::string> msg = root.Get("msg").AsString();
    if (msg.ok()) return *msg;
  }
  return "";
}

absl::Status RuntimeClient::Create(absl::string_view id, absl::string_view bundle,
                                   absl::string_view pid_file, absl::string_view console_socket,
                                   bool no_pivot, bool no_new_keyring, const CommandStdio& stdio) {
  std::vector<std::string> args = {"create", "--bundle", std::string(bundle), "--pid-file",
                                   std::string(pid_file)};
  if (!console_socket.empty()) args.insert(args.end(), {"--console-socket", std::string(console_socket)});
  if (no_pivot) args.push_back("--no-pivot");
  if (no_new_keyring) args.push_back("--no-new-keyring");
  args.push_back(std::string(id));
  return Run(args, stdio, false).status();
}

absl::Status RuntimeClient::Start(absl::string_view id) {
  return Run({"start", std::string(id)}, {}, false).status();
}

absl::Status RuntimeClient::Exec(absl::string_view id, absl::string_view process_file,
                                 absl::string_view pid_file, absl::string_view console_socket,
                                 const CommandStdio& stdio) {
  std::vector<std::string> args = {"exec", "--process", std::string(process_file), "--detach",
                                   "--pid-file", std::string(pid_file)};
  if (!console_socket.empty()) args.insert(args.end(), {"--console-socket", std::string(console_socket)});
  args.push_back(std::string(id));
  return Run(args, stdio, false).status();
}

absl::Status RuntimeClient::Kill(absl::string_view id, int signal, bool all) {
  std::vector<std::string> args = {"kill"};
  if (all) args.push_back("--all");
  args.insert(args.end(), {std::string(id), absl::StrCat(signal)});
  return Run(args, {}, false).status();
}

absl::Status RuntimeClient::Delete(absl::string_view id, bool force) {
  std::vector<std::string> args = {"delete"};
  if (force) args.push_back("--force");
  args.push_back(std::string(id));
  return Run(args, {}, false).status();
}

absl::Status RuntimeClient::Pause(absl::string_view id) {
  return Run({"pause", std::string(id)}, {}, false).status();
}

absl::Status RuntimeClient::Resume(absl::string_view id) {
  return Run({"resume", std::string(id)}, {}, false).status();
}

absl::Status RuntimeClient::Update(absl::string_view id, absl::string_view resources_file) {
  return Run({"update", "--resources", std::string(resources_file), std::string(id)}, {}, false)
      .status();
}

absl::StatusOr<std::vector<pid_t>> RuntimeClient::Ps(absl::string_view id) {
  BERTH_ASSIGN_OR_RETURN(std::string out, Run({"ps", "--format", "json", std::string(id)}, {}, true));
  BERTH_ASSIGN_OR_RETURN(auto doc, json::Document::Parse(out, "ps output"));
  std::vector<pid_t> pids;
  for (const json::Value& v : (*doc).root().Elements()) {
    BERTH_ASSIGN_OR_RETURN(int32_t pid, v.AsInt32());
    pids.push_back(pid);
  }
  return pids;
}

absl::StatusOr<std::string> RuntimeClient::Stats(absl::string_view id) {
  return Run({"events", "--stats", std::string(id)}, {}, true);
}

}  // namespace berth::shim
