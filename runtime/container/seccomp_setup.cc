#include "runtime/container/seccomp_setup.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "lib/errors.h"
#include "lib/fd_passing.h"
#include "lib/json_writer.h"
#include "lib/unique_fd.h"
#include "runtime/container/sync.h"
#include "runtime/hooks/hooks.h"
#include "runtime/linux/seccomp_cache.h"

namespace berth::container {
namespace {

constexpr char kListenerField[] = "linux.seccomp.listenerPath";

absl::StatusOr<UniqueFd> ConnectListener(const std::string& path) {
  struct sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    return absl::InvalidArgumentError(absl::StrCat(kListenerField, ": path too long: ", path));
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  UniqueFd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!sock) return ErrnoError(absl::StrCat(kListenerField, ": socket"));
  if (::connect(sock.get(), reinterpret_cast<struct sockaddr*>(&addr), sizeof addr) != 0) {
    return ErrnoError(absl::StrCat(kListenerField, ": connect to ", path));
  }
  return sock;
}

// The container process state (runtime-spec config-linux.md): the names
// of the passed fds, the container's pid, the listener metadata and the
// container's OCI state.
std::string ProcessStateJson(const spec::Spec& s, absl::string_view id, absl::string_view status,
                             pid_t pid, absl::string_view bundle) {
  JsonWriter w;
  w.BeginObject();
  w.Key("ociVersion").String(s.oci_version);
  w.Key("fds").BeginArray().String("seccompFd").EndArray();
  w.Key("pid").Int(pid);
  const std::string& metadata = s.linux_cfg.seccomp->listener_metadata;
  if (!metadata.empty()) w.Key("metadata").String(metadata);
  w.Key("state");
  hooks::WriteState(w, s, id, status, pid, bundle);
  w.EndObject();
  return w.Take();
}

}  // namespace

absl::StatusOr<InitSeccomp> InitSeccomp::Compile(const spec::Spec& spec, int sync_fd,
                                                 const std::string& state_root) {
  InitSeccomp out;
  if (!spec.linux_cfg.seccomp) return out;
  const spec::Seccomp& config = *spec.linux_cfg.seccomp;
  BERTH_ASSIGN_OR_RETURN(out.program_, linux_ns::CompileSeccompCached(
                                           config, linux_ns::SeccompCache::Open(state_root)));
  out.no_new_privileges_ = spec.process->no_new_privileges;
  out.sync_fd_ = sync_fd;
  // The action for execve: the first unconditional rule naming it, else
  // the default; a conditional rule before it makes the answer a "may".
  spec::SeccompAction action = config.default_action;
  std::optional<uint32_t> ret = config.default_errno_ret;
  for (const spec::SeccompSyscall& rule : config.syscalls) {
    if (std::find(rule.names.begin(), rule.names.end(), "execve") == rule.names.end()) continue;
    if (!rule.args.empty()) {
      out.execve_conditional_ = true;
      continue;
    }
    action = rule.action;
    ret = rule.errno_ret;
    break;
  }
  if (action == spec::SeccompAction::kErrno) {
    out.execve_errno_ = static_cast<int>(ret.value_or(EPERM));
  } else if (action != spec::SeccompAction::kAllow && action != spec::SeccompAction::kLog) {
    out.execve_errno_ = -1;
  }
  return out;
}

absl::Status InitSeccomp::Load() {
  if (!program_) return absl::OkStatus();
  BERTH_ASSIGN_OR_RETURN(UniqueFd notify, linux_ns::LoadSeccomp(*program_));
  program_.reset();
  loaded_ = true;
  if (!notify) return absl::OkStatus();
  return Annotate(SendSyncFd(sync_fd_, SyncType::kSeccompFd, notify.get()),
                  "linux.seccomp: pass the notify fd to the runtime");
}

std::string InitSeccomp::ExecveFailureNote(int err) const {
  if (!loaded_) return "";
  if (execve_errno_ == err) return " (linux.seccomp: the profile denies execve)";
  if (execve_errno_ != 0 || execve_conditional_) {
    return " (linux.seccomp: the profile may deny execve)";
  }
  return "";
}

absl::Status SendToSeccompListener(const spec::Spec& spec, absl::string_view id,
                                   absl::string_view status, pid_t pid, absl::string_view bundle,
                                   int notify_fd) {
  if (!spec.linux_cfg.seccomp) {
    return absl::InternalError("the container's process sent a seccomp fd without linux.seccomp");
  }
  if (notify_fd < 0) {
    return absl::InternalError(
        "the container's process sent its seccomp message without the notify fd");
  }
  BERTH_ASSIGN_OR_RETURN(UniqueFd sock, ConnectListener(spec.linux_cfg.seccomp->listener_path));
  return Annotate(
      SendWithFd(sock.get(), ProcessStateJson(spec, id, status, pid, bundle), notify_fd),
      absl::StrCat(kListenerField, ": send the notify fd to ",
                   spec.linux_cfg.seccomp->listener_path));
}

}  // namespace berth::container
