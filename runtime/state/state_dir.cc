#include "runtime/state/state_dir.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "lib/errors.h"
#include "lib/file_util.h"
#include "lib/proc.h"
#include "runtime/cgroups/manager.h"

namespace berth::state {
namespace {

constexpr char kStateFile[] = "state.json";

absl::Status NotExist(absl::string_view id) {
  return absl::NotFoundError(absl::StrCat("container \"", id, "\" does not exist"));
}

absl::Status Lock(int fd, const std::string& id) {
  while (::flock(fd, LOCK_EX) != 0) {
    if (errno != EINTR) return ErrnoError(absl::StrCat("lock state directory of ", id));
  }
  // Another command may have deleted the container while we waited.
  struct stat st;
  if (::fstat(fd, &st) != 0 || st.st_nlink == 0) return NotExist(id);
  return absl::OkStatus();
}

// The state root with any missing parents, as runc does (containerd passes
// --root /run/containerd/runc/NAMESPACE before that exists).
absl::Status MakeRoot(const std::string& root) {
  std::string path;
  for (absl::string_view part : absl::StrSplit(root, '/', absl::SkipEmpty())) {
    absl::StrAppend(&path, path.empty() && root[0] != '/' ? "" : "/", part);
    if (::mkdir(path.c_str(), 0711) != 0 && errno != EEXIST) {
      return ErrnoError(absl::StrCat("create state root ", path));
    }
  }
  return absl::OkStatus();
}

// The name of uid in /etc/passwd (parsed here: getpwuid would pull NSS
// modules into a static binary), or the number.
std::string UserName(uid_t uid) {
  auto passwd = ReadFile("/etc/passwd");
  std::string id = absl::StrCat(uid);
  if (passwd.ok()) {
    for (absl::string_view line : absl::StrSplit(*passwd, '\n', absl::SkipEmpty())) {
      std::vector<absl::string_view> f = absl::StrSplit(line, ':');
      if (f.size() >= 3 && f[2] == id) return std::string(f[0]);
    }
  }
  return id;
}

}  // namespace

absl::Status ValidateId(absl::string_view id) {
  bool ok = !id.empty() && id != "." && id != ".." && std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '+' || c == '.' || c == '-';
  });
  if (!ok) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid container ID \"", id, "\": must match [A-Za-z0-9_+.-]+"));
  }
  return absl::OkStatus();
}

absl::StatusOr<StateDir> StateDir::Create(const std::string& root, const std::string& id) {
  BERTH_RETURN_IF_ERROR(ValidateId(id));
  BERTH_RETURN_IF_ERROR(MakeRoot(root));
  std::string path = absl::StrCat(root, "/", id);
  if (::mkdir(path.c_str(), 0711) != 0) {
    if (errno == EEXIST) {
      return absl::AlreadyExistsError(absl::StrCat("container with given ID already exists: ", id));
    }
    return ErrnoError(absl::StrCat("create state directory ", path));
  }
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) {
    absl::Status st = ErrnoError(absl::StrCat("open ", path));
    ::rmdir(path.c_str());
    return st;
  }
  if (::flock(fd.get(), LOCK_EX) != 0) {
    absl::Status st = ErrnoError(absl::StrCat("lock ", path));
    ::rmdir(path.c_str());
    return st;
  }
  return StateDir(std::move(path), id, std::move(fd));
}

absl::StatusOr<StateDir> StateDir::OpenUnlocked(const std::string& root, const std::string& id) {
  BERTH_RETURN_IF_ERROR(ValidateId(id));
  std::string path = absl::StrCat(root, "/", id);
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) {
    if (errno == ENOENT) return NotExist(id);
    return ErrnoError(absl::StrCat("open ", path));
  }
  return StateDir(std::move(path), id, std::move(fd));
}

absl::StatusOr<StateDir> StateDir::Open(const std::string& root, const std::string& id) {
  BERTH_ASSIGN_OR_RETURN(StateDir dir, OpenUnlocked(root, id));
  BERTH_RETURN_IF_ERROR(Lock(dir.fd(), id));
  return dir;
}

bool StateDir::HasFifo() const {
  struct stat st;
  return ::fstatat(fd_.get(), "exec.fifo", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISFIFO(st.st_mode);
}

absl::Status StateDir::WriteState(const ContainerState& s) const {
  return WriteFileAtomic(absl::StrCat(path_, "/", kStateFile), SerializeState(s), 0600);
}

absl::StatusOr<ContainerState> StateDir::ReadState() const {
  auto text = ReadFileAt(fd_.get(), kStateFile);
  if (!text.ok()) {
    if (absl::IsNotFound(text.status())) {
      return absl::NotFoundError(absl::StrCat("container \"", id_, "\" has no state yet"));
    }
    return Annotate(text.status(), path_);
  }
  return ParseState(*text);
}

std::string StateDir::Owner() const {
  struct stat st;
  if (::fstat(fd_.get(), &st) != 0) return "";
  return UserName(st.st_uid);
}

absl::Status StateDir::Remove() {
  UniqueFd dfd(::openat(fd_.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (DIR* d = dfd ? ::fdopendir(dfd.release()) : nullptr) {
    while (struct dirent* e = ::readdir(d)) {
      absl::string_view name = e->d_name;
      if (name == "." || name == "..") continue;
      ::unlinkat(fd_.get(), e->d_name, 0);
    }
    ::closedir(d);
  }
  if (::rmdir(path_.c_str()) != 0 && errno != ENOENT) {
    return ErrnoError(absl::StrCat("remove state directory ", path_));
  }
  return absl::OkStatus();
}

std::vector<std::string> ListIds(const std::string& root) {
  std::vector<std::string> ids;
  DIR* d = ::opendir(root.c_str());
  if (d == nullptr) return ids;
  while (struct dirent* e = ::readdir(d)) {
    absl::string_view name = e->d_name;
    if (name == "." || name == ".." || e->d_type != DT_DIR) continue;
    if (ValidateId(name).ok()) ids.emplace_back(name);
  }
  ::closedir(d);
  std::sort(ids.begin(), ids.end());
  return ids;
}

namespace {

// As runc: a frozen cgroup means paused, whether the init was started or not.
bool IsFrozen(const ContainerState& s) {
  std::unique_ptr<cgroups::Manager> cgroup = LoadCgroup(s);
  return cgroup != nullptr && cgroup->IsFrozen();
}

}  // namespace

std::unique_ptr<cgroups::Manager> LoadCgroup(const ContainerState& s) {
  if (s.cgroup_paths.empty()) return nullptr;
  return cgroups::LoadManager(s.cgroup_mode, s.cgroup_paths, s.created_cgroup_dirs, s.systemd_unit,
                              s.systemd_user);
}

Status ComputeStatus(const StateDir& dir, const ContainerState& s) {
  if (!proc::IsSameLiveProcess(s.pid, s.pid_start_time)) return Status::kStopped;
  if (IsFrozen(s)) return Status::kPaused;
  if (dir.HasFifo()) return Status::kCreated;
  return Status::kRunning;
}

}  // namespace berth::state
