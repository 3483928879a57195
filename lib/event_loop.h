// A single-threaded epoll loop: fd readiness callbacks and one-shot timers.
// berth-shim runs everything (ttrpc, child reaping, stdio copying) on one of
// these, so each shim is exactly one thread. berthd's gRPC threads hand work
// to its loop with Post(), the only member safe to call from another thread.
#pragma once

#include <sys/epoll.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "lib/unique_fd.h"

namespace berth {

class EventLoop {
 public:
  // Called with the epoll events that fired (EPOLLIN, EPOLLOUT, EPOLLHUP...).
  using FdCallback = std::function<void(uint32_t events)>;
  using TimerId = uint64_t;

  static absl::StatusOr<EventLoop> Create();
  EventLoop(EventLoop&&) = default;
  EventLoop& operator=(EventLoop&&) = default;

  // Watches fd (not owned) for `events` (level-triggered). One callback per fd.
  absl::Status Add(int fd, uint32_t events, FdCallback callback);
  // Changes the events watched on an added fd.
  absl::Status Modify(int fd, uint32_t events);
  // Stops watching fd; safe to call from inside any callback, including fd's
  // own (the callback object stays alive until that call returns).
  void Remove(int fd);
  bool Watching(int fd) const;

  // Runs `callback` once, `delay` from now. Cancel() before then stops it.
  TimerId After(absl::Duration delay, std::function<void()> callback);
  void Cancel(TimerId id);

  // Dispatches until Stop(); returns an error only if epoll_wait itself fails.
  // Stop() makes the current (or, if none is running, the next) Run() return
  // after its current dispatch round; a later Run() dispatches again.
  absl::Status Run();
  void Stop();

  // Thread-safe: runs `work` on the loop's thread, soon, in the order posted
  // (an eventfd wakes the loop). Work posted after the loop is destroyed is
  // never run.
  void Post(std::function<void()> work);

 private:
  // One Add(). Shared so that Remove() from inside the callback does not
  // destroy the function being run. `generation` tells a stale epoll event
  // (its fd removed, closed and re-added in the same batch) from a live one.
  struct Watch {
    uint32_t generation;
    FdCallback callback;
  };

  // Heap-held so that the loop stays movable and the eventfd's callback
  // keeps a stable pointer.
  struct PostQueue {
    UniqueFd wake;  // eventfd
    std::mutex mu;
    std::vector<std::function<void()>> work;
    void RunPosted();
  };

  EventLoop(UniqueFd epoll, std::unique_ptr<PostQueue> posted)
      : epoll_(std::move(epoll)), posted_(std::move(posted)) {}
  void Dispatch(uint64_t data, uint32_t events);
  int TimeoutMs() const;
  void RunDueTimers();

  UniqueFd epoll_;
  std::unique_ptr<PostQueue> posted_;
  absl::flat_hash_map<int, std::shared_ptr<Watch>> watches_;
  uint32_t next_generation_ = 1;
  // Ordered by deadline, then by id (creation order); deadlines_ finds a
  // timer's key for Cancel().
  std::map<std::pair<absl::Time, TimerId>, std::function<void()>> timers_;
  absl::flat_hash_map<TimerId, absl::Time> deadlines_;
  TimerId next_timer_ = 1;
  bool stopped_ = false;
};

}  // namespace berth
