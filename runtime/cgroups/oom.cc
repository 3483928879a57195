#include "runtime/cgroups/oom.h"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cstdint>

#include "absl/strings/str_cat.h"
#include "lib/errors.h"
#include "lib/file_util.h"
#include "runtime/cgroups/stat_files.h"

namespace berth::cgroups {
namespace {

bool Exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

class V1Watcher : public OomWatcher {
 public:
  V1Watcher(std::string dir, UniqueFd event, UniqueFd oom_control)
      : dir_(std::move(dir)), event_(std::move(event)), oom_control_(std::move(oom_control)) {}

  int fd() const override { return event_.get(); }

  absl::StatusOr<uint64_t> Consume() override {
    uint64_t count = 0;
    if (::read(event_.get(), &count, sizeof count) != sizeof count && errno != EAGAIN) {
      return ErrnoError("read OOM eventfd");
    }
    // The kernel also signals the eventfd when the cgroup goes away.
    if (!Exists(absl::StrCat(dir_, "/cgroup.event_control"))) {
      return absl::NotFoundError(absl::StrCat("cgroup ", dir_, " was removed"));
    }
    return count;
  }

 private:
  std::string dir_;
  UniqueFd event_;
  UniqueFd oom_control_;
};

class V2Watcher : public OomWatcher {
 public:
  V2Watcher(std::string dir, UniqueFd inotify, uint64_t kills)
      : dir_(std::move(dir)), inotify_(std::move(inotify)), kills_(kills) {}

  int fd() const override { return inotify_.get(); }

  absl::StatusOr<uint64_t> Consume() override {
    char buf[4096];
    while (::read(inotify_.get(), buf, sizeof buf) > 0) {
    }
    auto text = ReadFile(absl::StrCat(dir_, "/memory.events"));
    if (!text.ok()) return absl::NotFoundError(absl::StrCat("cgroup ", dir_, " was removed"));
    uint64_t kills = ParseFlatKeyed(*text)["oom_kill"];
    uint64_t fresh = kills > kills_ ? kills - kills_ : 0;
    kills_ = kills;
    return fresh;
  }

 private:
  std::string dir_;
  UniqueFd inotify_;
  uint64_t kills_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<OomWatcher>> WatchOomV1(const std::string& dir) {
  UniqueFd event(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!event) return ErrnoError("eventfd");
  std::string control = absl::StrCat(dir, "/memory.oom_control");
  UniqueFd oom_control(::open(control.c_str(), O_RDONLY | O_CLOEXEC));
  if (!oom_control) return ErrnoError(absl::StrCat("open ", control));
  BERTH_RETURN_IF_ERROR(WriteExisting(absl::StrCat(dir, "/cgroup.event_control"),
                                      absl::StrCat(event.get(), " ", oom_control.get())));
  return std::make_unique<V1Watcher>(dir, std::move(event), std::move(oom_control));
}

absl::StatusOr<std::unique_ptr<OomWatcher>> WatchOomV2(const std::string& dir) {
  std::string events = absl::StrCat(dir, "/memory.events");
  BERTH_ASSIGN_OR_RETURN(std::string text, ReadFile(events));
  UniqueFd inotify(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
  if (!inotify) return ErrnoError("inotify_init1");
  if (::inotify_add_watch(inotify.get(), events.c_str(), IN_MODIFY) < 0) {
    return ErrnoError(absl::StrCat("watch ", events));
  }
  return std::make_unique<V2Watcher>(dir, std::move(inotify), ParseFlatKeyed(text)["oom_kill"]);
}

}  // namespace berth::cgroups
