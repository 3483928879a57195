#include "shim/oom_watcher.h"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cstdint>
#include <vector>

#include "absl/algorithm/container.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "lib/errors.h"
#include "lib/file_util.h"

namespace berth::shim {
namespace {

struct CgroupMount {
  std::string root;  // the hierarchy's path that is mounted
  std::string mountpoint;
};

// The cgroup filesystem mounted with `controller` (v1), or cgroup2 (empty).
absl::StatusOr<CgroupMount> FindMount(absl::string_view controller) {
  BERTH_ASSIGN_OR_RETURN(std::string info, ReadFile("/proc/self/mountinfo"));
  for (absl::string_view line : absl::StrSplit(info, '\n', absl::SkipEmpty())) {
    std::vector<absl::string_view> f = absl::StrSplit(line, ' ');
    size_t dash = 0;
    while (dash < f.size() && f[dash] != "-") ++dash;
    if (dash + 3 >= f.size() || f.size() < 5) continue;
    absl::string_view fstype = f[dash + 1];
    bool match =
        controller.empty()
            ? fstype == "cgroup2"
            : fstype == "cgroup" &&
                  absl::c_linear_search(
                      std::vector<absl::string_view>(absl::StrSplit(f[dash + 3], ',')), controller);
    if (match) return CgroupMount{std::string(f[3]), std::string(f[4])};
  }
  return absl::NotFoundError("no cgroup mount");
}

std::string Under(const CgroupMount& m, absl::string_view path) {
  absl::string_view rel = path;
  if (m.root != "/" && absl::StartsWith(rel, m.root)) rel.remove_prefix(m.root.size());
  return absl::StrCat(m.mountpoint, rel);
}

}  // namespace

absl::StatusOr<std::unique_ptr<OomWatcher>> OomWatcher::Start(EventLoop* loop, pid_t pid,
                                                              std::function<void()> on_oom) {
  std::unique_ptr<OomWatcher> w(new OomWatcher(loop, std::move(on_oom)));
  BERTH_ASSIGN_OR_RETURN(std::string cgroups, ReadFile(absl::StrCat("/proc/", pid, "/cgroup")));
  std::string unified;
  for (absl::string_view line : absl::StrSplit(cgroups, '\n', absl::SkipEmpty())) {
    std::vector<absl::string_view> f = absl::StrSplit(line, absl::MaxSplits(':', 2));
    if (f.size() != 3) continue;
    if (f[0] == "0" && f[1].empty()) unified = std::string(f[2]);
    for (absl::string_view c : absl::StrSplit(f[1], ',')) {
      if (c == "memory") {
        BERTH_ASSIGN_OR_RETURN(CgroupMount m, FindMount("memory"));
        BERTH_RETURN_IF_ERROR(w->WatchV1(Under(m, f[2])));
        return w;
      }
    }
  }
  BERTH_ASSIGN_OR_RETURN(CgroupMount m, FindMount(""));
  BERTH_RETURN_IF_ERROR(w->WatchV2(Under(m, unified)));
  return w;
}

absl::Status OomWatcher::WatchV1(const std::string& dir) {
  dir_ = dir;
  control_.reset(open((dir + "/memory.oom_control").c_str(), O_RDONLY | O_CLOEXEC));
  if (!control_) return ErrnoError(absl::StrCat("open ", dir, "/memory.oom_control"));
  fd_.reset(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!fd_) return ErrnoError("eventfd");
  BERTH_RETURN_IF_ERROR(
      WriteExisting(dir + "/cgroup.event_control", absl::StrCat(fd_.get(), " ", control_.get())));
  return loop_->Add(fd_.get(), EPOLLIN, [this](uint32_t) { OnEvent(); });
}

absl::Status OomWatcher::WatchV2(const std::string& dir) {
  dir_ = dir;
  v2_ = true;
  fd_.reset(inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
  if (!fd_) return ErrnoError("inotify_init1");
  if (inotify_add_watch(fd_.get(), (dir + "/memory.events").c_str(), IN_MODIFY) < 0) {
    return ErrnoError(absl::StrCat("watch ", dir, "/memory.events"));
  }
  oom_kills_ = ReadOomKills();
  return loop_->Add(fd_.get(), EPOLLIN, [this](uint32_t) { OnEvent(); });
}

uint64_t OomWatcher::ReadOomKills() const {
  absl::StatusOr<std::string> events = ReadFile(dir_ + "/memory.events");
  if (!events.ok()) return 0;
  for (absl::string_view line : absl::StrSplit(*events, '\n')) {
    uint64_t n = 0;
    if (absl::ConsumePrefix(&line, "oom_kill ") && absl::SimpleAtoi(line, &n)) return n;
  }
  return 0;
}

void OomWatcher::OnEvent() {
  char buf[4096];
  while (read(fd_.get(), buf, sizeof buf) > 0) {
  }
  if (access(dir_.c_str(), F_OK) != 0) {  // v1 also signals when the cgroup goes away
    loop_->Remove(fd_.get());
    return;
  }
  if (v2_) {
    uint64_t kills = ReadOomKills();
    if (kills <= oom_kills_) return;
    oom_kills_ = kills;
  }
  on_oom_();
}

OomWatcher::~OomWatcher() {
  if (fd_ && loop_->Watching(fd_.get())) loop_->Remove(fd_.get());
}

}  // namespace berth::shim
