#include <fcntl.h>
#include <linux/magic.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "berth_pb.pb.h"
#include "lib/errors.h"
#include "lib/file_util.h"
#include "lib/proc.h"
#include "lib/shim_api.h"
#include "lib/subprocess.h"
#include "lib/unique_fd.h"
#include "shim/commands.h"
#include "shim/shim_options.h"

namespace berth::shim {
namespace {

// A stable name per (containerd, namespace, container): FNV-1a, enough to
// keep names apart; a collision is caught by bind() and reported.
std::string SocketPath(const ShimFlags& f) {
  uint64_t h = 1469598103934665603ull;
  for (char c : absl::StrCat(f.address, "/", f.ns, "/", f.id)) {
    h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  }
  return absl::StrFormat("%s/berth-%016x", f.socket_dir, h);
}

// The socket directory (containerd's /run/containerd/s by default, short
// because sun_path holds 108 bytes) and its parent, made if missing.
absl::Status MakeSocketDir(const std::string& dir) {
  std::string parent(dir.substr(0, dir.rfind('/')));
  for (const std::string& d : {parent, dir}) {
    if (d.empty()) continue;
    if (mkdir(d.c_str(), 0711) != 0 && errno != EEXIST)
      return ErrnoError(absl::StrCat("mkdir ", d));
  }
  return absl::OkStatus();
}

absl::StatusOr<UniqueFd> Listen(const std::string& dir, const std::string& path) {
  BERTH_RETURN_IF_ERROR(MakeSocketDir(dir));
  struct sockaddr_un addr = {};
  if (path.size() >= sizeof addr.sun_path) {
    return absl::InvalidArgumentError(absl::StrCat(
        "shim socket ", path, ": path too long (at most ", sizeof addr.sun_path - 1, " bytes)"));
  }
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  for (int attempt = 0; attempt < 2; ++attempt) {
    UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) return ErrnoError("socket");
    if (bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
      if (listen(fd.get(), 128) != 0) return ErrnoError(absl::StrCat("listen on ", path));
      return fd;
    }
    if (errno != EADDRINUSE || attempt > 0) return ErrnoError(absl::StrCat("bind ", path));
    // A socket file is there: a live shim answering on it is an error; a
    // stale one (its shim died) is replaced.
    UniqueFd probe(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (connect(probe.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
      return absl::AlreadyExistsError(absl::StrCat("a shim already serves ", path));
    }
    unlink(path.c_str());
  }
  return absl::InternalError("unreachable");
}

// Puts the shim in the cgroup containerd asked for (runtime option
// shim_cgroup), in every hierarchy that has it.
absl::Status JoinCgroup(const std::string& cgroup, pid_t pid) {
  struct statfs fs = {};
  std::vector<std::string> dirs;
  if (statfs("/sys/fs/cgroup", &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC) {
    dirs.push_back("/sys/fs/cgroup");
  } else {
    for (const char* h :
         {"cpu,cpuacct", "memory", "pids", "blkio", "devices", "freezer", "cpuset",
          "net_cls,net_prio", "perf_event", "hugetlb", "rdma", "misc", "systemd", "unified"}) {
      dirs.push_back(absl::StrCat("/sys/fs/cgroup/", h));
    }
  }
  bool joined = false;
  for (const std::string& d : dirs) {
    std::string procs = absl::StrCat(d, "/", absl::StripPrefix(cgroup, "/"), "/cgroup.procs");
    if (access(procs.c_str(), W_OK) != 0) continue;
    BERTH_RETURN_IF_ERROR(WriteExisting(procs, absl::StrCat(pid)));
    joined = true;
  }
  if (!joined) return absl::NotFoundError(absl::StrCat("shim_cgroup ", cgroup, ": no such cgroup"));
  return absl::OkStatus();
}

absl::Status AdjustOomScore(pid_t pid) {
  BERTH_ASSIGN_OR_RETURN(std::string own, ReadFile("/proc/self/oom_score_adj"));
  int score = 0;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(own), &score)) return absl::OkStatus();
  // One above containerd's: under memory pressure the shim goes before it.
  score = std::min(score + 1, 1000);
  return WriteExisting(absl::StrCat("/proc/", pid, "/oom_score_adj"), absl::StrCat(score));
}

absl::StatusOr<pid_t> SpawnServer(const ShimFlags& f, int listener) {
  BERTH_ASSIGN_OR_RETURN(std::string self, proc::SelfExe());
  std::vector<std::string> args = {self,
                                   "-namespace",
                                   f.ns,
                                   "-id",
                                   f.id,
                                   "-address",
                                   f.address,
                                   "-publish-binary",
                                   f.publish_binary};
  if (f.debug) args.push_back("-debug");
  if (f.hold_stdin) args.push_back("-hold-stdin");
  SpawnOptions o;
  o.fds = {{3, listener}};  // 0, 1, 2: /dev/null
  // Its own session: containerd's death (a signal to its process group)
  // must not reach the shim.
  o.new_session = true;
  return Spawn(args, o);
}

std::string ReadStdin() { return ReadToEnd(STDIN_FILENO); }

}  // namespace

int StartCommand(const ShimFlags& flags) {
  std::string bundle = BundleDir(flags);
  std::string path = SocketPath(flags);
  std::string address = absl::StrCat("unix://", path);
  auto fail = [&](const absl::Status& st) {
    std::fprintf(stderr, "berth-shim start: %s\n", std::string(st.message()).c_str());
    return 1;
  };
  absl::StatusOr<UniqueFd> listener = Listen(flags.socket_dir, path);
  if (!listener.ok()) return fail(listener.status());
  absl::Status st =
      WriteFileAtomic(absl::StrCat(bundle, "/", shim_api::kAddressFile), address, 0600);
  absl::StatusOr<pid_t> pid =
      st.ok() ? SpawnServer(flags, listener->get()) : absl::StatusOr<pid_t>(st);
  if (!pid.ok()) {
    unlink(path.c_str());
    return fail(pid.status());
  }
  berth::pb::Any any;
  if (std::string opts = ReadStdin(); !opts.empty() && any.ParseFromString(opts)) {
    absl::StatusOr<ShimOptions> options = ParseOptions(any);
    if (options.ok() && !options->shim_cgroup().empty())
      st = JoinCgroup(options->shim_cgroup(), *pid);
  }
  if (st.ok()) st = AdjustOomScore(*pid);
  if (st.ok())
    st = WriteFileAtomic(absl::StrCat(bundle, "/", shim_api::kShimPidFile), absl::StrCat(*pid),
                         0600);
  if (!st.ok()) {
    kill(*pid, SIGKILL);
    unlink(path.c_str());
    return fail(st);
  }
  std::fwrite(address.data(), 1, address.size(), stdout);
  return 0;
}

}  // namespace berth::shim
