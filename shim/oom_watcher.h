// Tells when the kernel's OOM killer acts in a container's memory cgroup:
// cgroup v1's memory.oom_control eventfd, or, on cgroup v2, inotify on
// memory.events and its oom_kill counter.
#pragma once

#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "lib/event_loop.h"
#include "lib/unique_fd.h"

namespace berth::shim {

class OomWatcher {
 public:
  // Watches the memory cgroup `pid` is in.
  static absl::StatusOr<std::unique_ptr<OomWatcher>> Start(EventLoop* loop, pid_t pid,
                                                           std::function<void()> on_oom);
  ~OomWatcher();

 private:
  OomWatcher(EventLoop* loop, std::function<void()> on_oom)
      : loop_(loop), on_oom_(std::move(on_oom)) {}
  absl::Status WatchV1(const std::string& dir);
  absl::Status WatchV2(const std::string& dir);
  void OnEvent();
  uint64_t ReadOomKills() const;

  EventLoop* loop_;
  std::function<void()> on_oom_;
  std::string dir_;
  bool v2_ = false;
  UniqueFd fd_;  // eventfd (v1) or inotify (v2)
  UniqueFd control_;
  uint64_t oom_kills_ = 0;
};

}  // namespace berth::shim
