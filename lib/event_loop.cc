#include "lib/event_loop.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <vector>

#include "absl/strings/str_cat.h"
#include "lib/errors.h"

namespace berth {
namespace {

// epoll_event.data carries the fd and the generation of its Add().
uint64_t Pack(int fd, uint32_t generation) {
  return (uint64_t{generation} << 32) | static_cast<uint32_t>(fd);
}

}  // namespace

absl::StatusOr<EventLoop> EventLoop::Create() {
  UniqueFd epoll(::epoll_create1(EPOLL_CLOEXEC));
  if (!epoll.valid()) return ErrnoError("epoll_create1");
  auto posted = std::make_unique<PostQueue>();
  posted->wake = UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!posted->wake.valid()) return ErrnoError("eventfd");
  EventLoop loop(std::move(epoll), std::move(posted));
  PostQueue* queue = loop.posted_.get();
  BERTH_RETURN_IF_ERROR(
      loop.Add(queue->wake.get(), EPOLLIN, [queue](uint32_t) { queue->RunPosted(); }));
  return loop;
}

void EventLoop::Post(std::function<void()> work) {
  bool was_empty;
  {
    std::lock_guard<std::mutex> lock(posted_->mu);
    was_empty = posted_->work.empty();
    posted_->work.push_back(std::move(work));
  }
  if (was_empty) {
    uint64_t one = 1;
    // Cannot fail short of a counter overflow; a missed wake-up is impossible
    // while the counter is non-zero.
    (void)!::write(posted_->wake.get(), &one, sizeof one);
  }
}

void EventLoop::PostQueue::RunPosted() {
  uint64_t count;
  (void)!::read(wake.get(), &count, sizeof count);
  std::vector<std::function<void()>> batch;
  {
    std::lock_guard<std::mutex> lock(mu);
    batch.swap(work);
  }
  for (std::function<void()>& w : batch) w();
}

absl::Status EventLoop::Add(int fd, uint32_t events, FdCallback callback) {
  auto watch = std::make_shared<Watch>(Watch{next_generation_++, std::move(callback)});
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = Pack(fd, watch->generation);
  // An entry we still hold for fd is stale if the kernel accepts the ADD: its
  // fd was closed without Remove() (which drops it from the epoll set).
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) != 0) {
    return ErrnoError(absl::StrCat("epoll_ctl(ADD, fd ", fd, ")"));
  }
  watches_[fd] = std::move(watch);
  return absl::OkStatus();
}

absl::Status EventLoop::Modify(int fd, uint32_t events) {
  auto it = watches_.find(fd);
  if (it == watches_.end()) {
    return absl::NotFoundError(absl::StrCat("event loop: fd ", fd, " is not watched"));
  }
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = Pack(fd, it->second->generation);
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, fd, &ev) != 0) {
    return ErrnoError(absl::StrCat("epoll_ctl(MOD, fd ", fd, ")"));
  }
  return absl::OkStatus();
}

void EventLoop::Remove(int fd) {
  auto it = watches_.find(fd);
  if (it == watches_.end()) return;
  // Fails harmlessly (EBADF) if the caller already closed fd.
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
  watches_.erase(it);
}

bool EventLoop::Watching(int fd) const { return watches_.contains(fd); }

EventLoop::TimerId EventLoop::After(absl::Duration delay, std::function<void()> callback) {
  TimerId id = next_timer_++;
  absl::Time deadline = absl::Now() + delay;
  timers_.emplace(std::make_pair(deadline, id), std::move(callback));
  deadlines_.emplace(id, deadline);
  return id;
}

void EventLoop::Cancel(TimerId id) {
  auto it = deadlines_.find(id);
  if (it == deadlines_.end()) return;
  timers_.erase(std::make_pair(it->second, id));
  deadlines_.erase(it);
}

absl::Status EventLoop::Run() {
  constexpr int kBatch = 64;
  epoll_event events[kBatch];
  while (!stopped_) {
    int n = ::epoll_wait(epoll_.get(), events, kBatch, TimeoutMs());
    if (n < 0) {
      if (errno == EINTR) continue;
      stopped_ = false;
      return ErrnoError("epoll_wait");
    }
    for (int i = 0; i < n; ++i) Dispatch(events[i].data.u64, events[i].events);
    RunDueTimers();
  }
  stopped_ = false;
  return absl::OkStatus();
}

void EventLoop::Stop() { stopped_ = true; }

void EventLoop::Dispatch(uint64_t data, uint32_t events) {
  int fd = static_cast<int>(static_cast<uint32_t>(data));
  auto it = watches_.find(fd);
  // Removed earlier in this batch, or removed and re-added: not for this callback.
  if (it == watches_.end() || it->second->generation != data >> 32) return;
  std::shared_ptr<Watch> keep = it->second;  // survives a Remove() inside
  keep->callback(events);
}

int EventLoop::TimeoutMs() const {
  if (timers_.empty()) return -1;
  absl::Duration wait = timers_.begin()->first.first - absl::Now();
  if (wait <= absl::ZeroDuration()) return 0;
  // Round up: waking a little late is fine, waking early means a wasted round.
  int64_t ms = absl::ToInt64Milliseconds(absl::Ceil(wait, absl::Milliseconds(1)));
  return ms > INT_MAX ? INT_MAX : static_cast<int>(ms);
}

void EventLoop::RunDueTimers() {
  // Only timers due now: ones their callbacks add wait for the next round.
  absl::Time now = absl::Now();
  std::vector<TimerId> due;
  for (auto it = timers_.begin(); it != timers_.end() && it->first.first <= now; ++it) {
    due.push_back(it->first.second);
  }
  for (TimerId id : due) {
    auto deadline = deadlines_.find(id);
    if (deadline == deadlines_.end()) continue;  // cancelled by an earlier callback
    auto timer = timers_.find(std::make_pair(deadline->second, id));
    std::function<void()> callback = std::move(timer->second);
    timers_.erase(timer);
    deadlines_.erase(deadline);
    callback();
  }
}

}  // namespace berth
