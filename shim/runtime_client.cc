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
#include "lib/proc.h"
#include "lib/subprocess.h"
#include "lib/unique_fd.h"

namespace berth::shim {
namespace {

std::string Basename(absl::string_view path) {
  size_t slash = path.rfind('/');
  return std::string(slash == absl::string_view::npos ? path : path.substr(slash + 1));
}

}  // namespace

std::string FindRuntimeBinary(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  if (absl::StatusOr<std::string> self = proc::SelfExe(); self.ok()) {
    std::string dir = self->substr(0, self->rfind('/') + 1);
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
  // The shim blocks SIGCHLD (signalfd) and ignores SIGPIPE; lib/subprocess
  // resets both, so neither reaches the runtime, let alone its container.
  SpawnOptions o;
  o.fds = {{0, stdio.in}, {1, stdio.out}, {2, stdio.err}};
  o.capture_stdout = capture;
  BERTH_ASSIGN_OR_RETURN(SpawnResult r, RunProcess(argv, o));
  std::string output = std::move(r.out);
  int status = r.wait_status;
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return output;

  std::string what = WIFEXITED(status) ? absl::StrCat("exit status ", WEXITSTATUS(status))
                                       : absl::StrCat("killed by signal ", WTERMSIG(status));
  std::string logged = LastLoggedError();
  return absl::UnknownError(absl::StrCat(Basename(binary_), " ", args.front(),
                                         " failed: ", logged.empty() ? what : logged));
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
  if (!console_socket.empty())
    args.insert(args.end(), {"--console-socket", std::string(console_socket)});
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
  std::vector<std::string> args = {"exec",     "--process",  std::string(process_file),
                                   "--detach", "--pid-file", std::string(pid_file)};
  if (!console_socket.empty())
    args.insert(args.end(), {"--console-socket", std::string(console_socket)});
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
  BERTH_ASSIGN_OR_RETURN(std::string out,
                         Run({"ps", "--format", "json", std::string(id)}, {}, true));
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
