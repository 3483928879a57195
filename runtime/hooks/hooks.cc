#include "runtime/hooks/hooks.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "lib/errors.h"
#include "lib/json_writer.h"
#include "lib/log.h"
#include "lib/subprocess.h"
#include "lib/unique_fd.h"

namespace berth::hooks {
namespace {

constexpr size_t kMaxOutput = 4096;  // of a failing hook's output, in the error

int64_t NowMs() {
  struct timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

absl::Status RunOne(const spec::Hook& hook, const std::string& where, absl::string_view state) {
  int in[2], out[2];
  if (::pipe2(in, O_CLOEXEC) != 0) return ErrnoError("pipe");
  UniqueFd in_r(in[0]), in_w(in[1]);
  if (::pipe2(out, O_CLOEXEC) != 0) return ErrnoError("pipe");
  UniqueFd out_r(out[0]), out_w(out[1]);
  SpawnOptions o;
  o.path = hook.path;
  o.env = hook.env;
  o.fds = {{0, in_r.get()}, {1, out_w.get()}, {2, out_w.get()}};
  std::vector<std::string> argv =
      hook.args.empty() ? std::vector<std::string>{hook.path} : hook.args;
  auto spawned = Spawn(argv, o);
  if (!spawned.ok())
    return absl::FailedPreconditionError(absl::StrCat(where, ": ", spawned.status().message()));
  pid_t pid = *spawned;
  in_r.reset();
  out_w.reset();
  // The state is small (well under a pipe buffer); a hook that does not read
  // its stdin must not block us, nor kill us with SIGPIPE when it has already
  // exited, so write once, without waiting, and ignore EPIPE.
  ::fcntl(in_w.get(), F_SETFL, O_NONBLOCK);
  (void)WriteNoSigpipe(in_w.get(), state.data(), state.size());
  in_w.reset();

  std::string output;
  int64_t deadline = hook.timeout ? NowMs() + int64_t{*hook.timeout} * 1000 : -1;
  bool timed_out = false;
  for (;;) {
    int wait_ms = deadline < 0 ? -1 : static_cast<int>(std::max<int64_t>(0, deadline - NowMs()));
    struct pollfd p = {out_r.get(), POLLIN, 0};
    int rc = ::poll(&p, 1, wait_ms);
    if (rc < 0 && errno == EINTR) continue;
    if (rc == 0) {
      timed_out = true;
      break;
    }
    char buf[1024];
    ssize_t n = ::read(out_r.get(), buf, sizeof buf);
    if (n <= 0) break;  // EOF: the hook (and anything it spawned) closed its output
    if (output.size() < kMaxOutput) output.append(buf, static_cast<size_t>(n));
  }
  if (timed_out) ::kill(pid, SIGKILL);
  BERTH_ASSIGN_OR_RETURN(int status, WaitProcess(pid));
  std::string detail(absl::StripAsciiWhitespace(output));
  std::string suffix = detail.empty() ? "" : absl::StrCat(": ", detail);
  if (timed_out) {
    return absl::DeadlineExceededError(
        absl::StrCat(where, ": timed out after ", *hook.timeout, "s", suffix));
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return absl::OkStatus();
  if (WIFEXITED(status)) {
    return absl::FailedPreconditionError(
        absl::StrCat(where, ": exited with status ", WEXITSTATUS(status), suffix));
  }
  return absl::FailedPreconditionError(
      absl::StrCat(where, ": killed by signal ", WTERMSIG(status), suffix));
}

}  // namespace

std::string StateJson(const spec::Spec& spec, absl::string_view id, absl::string_view status,
                      pid_t pid, absl::string_view bundle) {
  JsonWriter w;
  WriteState(w, spec, id, status, pid, bundle);
  return w.Take();
}

void WriteState(JsonWriter& w, const spec::Spec& spec, absl::string_view id,
                absl::string_view status, pid_t pid, absl::string_view bundle) {
  w.BeginObject();
  w.Key("ociVersion").String(spec.oci_version);
  w.Key("id").String(id);
  w.Key("status").String(status);
  if (pid > 0) w.Key("pid").Int(pid);
  w.Key("bundle").String(bundle);
  if (!spec.annotations.empty()) {
    w.Key("annotations").BeginObject();
    for (const auto& [k, v] : spec.annotations) w.Key(k).String(v);
    w.EndObject();
  }
  w.EndObject();
}

absl::Status Run(const std::vector<spec::Hook>& hooks, absl::string_view kind,
                 absl::string_view state_json) {
  for (size_t i = 0; i < hooks.size(); ++i) {
    std::string where = absl::StrCat("hooks.", kind, "[", i, "] (", hooks[i].path, ")");
    BERTH_RETURN_IF_ERROR(RunOne(hooks[i], where, state_json));
  }
  return absl::OkStatus();
}

void RunAll(const std::vector<spec::Hook>& hooks, absl::string_view kind,
            absl::string_view state_json) {
  for (size_t i = 0; i < hooks.size(); ++i) {
    std::string where = absl::StrCat("hooks.", kind, "[", i, "] (", hooks[i].path, ")");
    absl::Status st = RunOne(hooks[i], where, state_json);
    if (!st.ok()) log::Warn(st.message());
  }
}

}  // namespace berth::hooks
