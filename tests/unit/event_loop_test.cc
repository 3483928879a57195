#include "lib/event_loop.h"

#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>
#include <thread>
#include <vector>

namespace berth {
namespace {

struct Pipe {
  UniqueFd read;
  UniqueFd write;
  Pipe() {
    int fds[2];
    REQUIRE(::pipe2(fds, O_CLOEXEC | O_NONBLOCK) == 0);
    read.reset(fds[0]);
    write.reset(fds[1]);
  }
  void Put(const char* bytes = "x") { REQUIRE(::write(write.get(), bytes, 1) == 1); }
};

EventLoop NewLoop() {
  absl::StatusOr<EventLoop> loop = EventLoop::Create();
  REQUIRE(loop.ok());
  return std::move(*loop);
}

// Stops the loop after `d`, so a broken test fails instead of hanging.
void StopAfter(EventLoop& loop, absl::Duration d) {
  loop.After(d, [&loop] { loop.Stop(); });
}

TEST_CASE("EventLoop calls back a readable fd until it is removed", "[event_loop]") {
  EventLoop loop = NewLoop();
  Pipe p;
  p.Put();
  int calls = 0;
  uint32_t seen = 0;
  REQUIRE(loop.Add(p.read.get(), EPOLLIN,
                   [&](uint32_t events) {
                     seen = events;
                     // Level-triggered: the unread byte makes it fire again.
                     if (++calls == 3) {
                       loop.Remove(p.read.get());
                       loop.Stop();
                     }
                   })
              .ok());
  CHECK(loop.Watching(p.read.get()));
  REQUIRE(loop.Run().ok());
  CHECK(calls == 3);
  CHECK((seen & EPOLLIN) != 0);
  CHECK_FALSE(loop.Watching(p.read.get()));
}

TEST_CASE("EventLoop refuses a second Add for the same fd", "[event_loop]") {
  EventLoop loop = NewLoop();
  Pipe p;
  REQUIRE(loop.Add(p.read.get(), EPOLLIN, [](uint32_t) {}).ok());
  CHECK(loop.Add(p.read.get(), EPOLLIN, [](uint32_t) {}).code() ==
        absl::StatusCode::kAlreadyExists);
  CHECK(loop.Modify(p.write.get(), EPOLLOUT).code() == absl::StatusCode::kNotFound);
}

TEST_CASE("EventLoop Modify switches the watched events", "[event_loop]") {
  EventLoop loop = NewLoop();
  Pipe p;
  std::vector<uint32_t> seen;
  REQUIRE(loop.Add(p.write.get(), 0,
                   [&](uint32_t events) {
                     seen.push_back(events);
                     loop.Remove(p.write.get());
                     loop.Stop();
                   })
              .ok());
  StopAfter(loop, absl::Milliseconds(30));
  REQUIRE(loop.Run().ok());
  CHECK(seen.empty());  // nothing watched yet
  REQUIRE(loop.Modify(p.write.get(), EPOLLOUT).ok());
  REQUIRE(loop.Run().ok());
  REQUIRE(seen.size() == 1);
  CHECK(seen[0] == EPOLLOUT);
}

TEST_CASE("EventLoop keeps a callback alive while it removes itself", "[event_loop]") {
  EventLoop loop = NewLoop();
  Pipe p;
  p.Put();
  std::string owned(100, 'a');  // captured by value: freed if the callback were destroyed
  std::string copied;
  REQUIRE(loop.Add(p.read.get(), EPOLLIN,
                   [&loop, &p, &copied, owned](uint32_t) {
                     loop.Remove(p.read.get());
                     copied = owned;
                     loop.Stop();
                   })
              .ok());
  REQUIRE(loop.Run().ok());
  CHECK(copied == std::string(100, 'a'));
}

TEST_CASE("EventLoop skips a fd removed earlier in the same batch", "[event_loop]") {
  EventLoop loop = NewLoop();
  Pipe a, b;
  a.Put();
  b.Put();
  std::vector<char> ran;
  // Whichever runs first removes the other, whose event is in the same batch.
  REQUIRE(loop.Add(a.read.get(), EPOLLIN,
                   [&](uint32_t) {
                     ran.push_back('a');
                     loop.Remove(a.read.get());
                     loop.Remove(b.read.get());
                   })
              .ok());
  REQUIRE(loop.Add(b.read.get(), EPOLLIN,
                   [&](uint32_t) {
                     ran.push_back('b');
                     loop.Remove(a.read.get());
                     loop.Remove(b.read.get());
                   })
              .ok());
  StopAfter(loop, absl::Milliseconds(20));
  REQUIRE(loop.Run().ok());
  CHECK(ran.size() == 1);
}

TEST_CASE("EventLoop does not give a stale event to a re-added fd number", "[event_loop]") {
  EventLoop loop = NewLoop();
  Pipe a, b;
  a.Put();
  b.Put();
  Pipe fresh;  // not readable: its callback must not run
  int stale_calls = 0;
  int first_calls = 0;
  // The first callback closes the other pipe's read end and puts `fresh` at
  // the same fd number, all while the other's event waits in the batch.
  auto swap_other = [&](Pipe& other) {
    return [&](uint32_t) {
      ++first_calls;
      int number = other.read.get();
      loop.Remove(number);
      REQUIRE(::dup3(fresh.read.get(), number, O_CLOEXEC) == number);
      REQUIRE(loop.Add(number, EPOLLIN, [&](uint32_t) { ++stale_calls; }).ok());
      loop.Remove(a.read.get() == number ? b.read.get() : a.read.get());
    };
  };
  REQUIRE(loop.Add(a.read.get(), EPOLLIN, swap_other(b)).ok());
  REQUIRE(loop.Add(b.read.get(), EPOLLIN, swap_other(a)).ok());
  StopAfter(loop, absl::Milliseconds(20));
  REQUIRE(loop.Run().ok());
  CHECK(first_calls == 1);
  CHECK(stale_calls == 0);
  // And the new registration works once its own fd is readable.
  fresh.Put();
  StopAfter(loop, absl::Milliseconds(20));
  REQUIRE(loop.Run().ok());
  CHECK(stale_calls > 0);
}

TEST_CASE("EventLoop accepts a fd number again after it was closed unremoved", "[event_loop]") {
  EventLoop loop = NewLoop();
  Pipe p, q;
  REQUIRE(loop.Add(p.read.get(), EPOLLIN, [](uint32_t) {}).ok());
  int number = p.read.get();
  p.read.reset();  // closed without Remove: the kernel drops it from the set
  REQUIRE(::dup3(q.read.get(), number, O_CLOEXEC) == number);
  UniqueFd reused(number);
  bool ran = false;
  REQUIRE(loop.Add(number, EPOLLIN,
                   [&](uint32_t) {
                     ran = true;
                     loop.Stop();
                   })
              .ok());
  q.Put();
  StopAfter(loop, absl::Seconds(2));
  REQUIRE(loop.Run().ok());
  CHECK(ran);
  loop.Remove(number);
}

TEST_CASE("EventLoop timers fire in deadline order and can be cancelled", "[event_loop]") {
  EventLoop loop = NewLoop();
  std::vector<int> fired;
  absl::Time start = absl::Now();
  absl::Time last_fired;
  loop.After(absl::Milliseconds(30), [&] {
    fired.push_back(30);
    last_fired = absl::Now();
    loop.Stop();
  });
  loop.After(absl::Milliseconds(10), [&] { fired.push_back(10); });
  EventLoop::TimerId cancelled = loop.After(absl::Milliseconds(20), [&] { fired.push_back(20); });
  loop.After(absl::ZeroDuration(), [&] { fired.push_back(0); });
  loop.Cancel(cancelled);
  REQUIRE(loop.Run().ok());
  CHECK(fired == std::vector<int>{0, 10, 30});
  CHECK(last_fired - start >= absl::Milliseconds(30));
  CHECK(last_fired - start < absl::Seconds(2));
}

TEST_CASE("EventLoop timers added by a timer run in a later round", "[event_loop]") {
  EventLoop loop = NewLoop();
  int rounds = 0;
  std::function<void()> again = [&] {
    if (++rounds < 5) {
      loop.After(absl::ZeroDuration(), again);
    } else {
      loop.Stop();
    }
  };
  loop.After(absl::ZeroDuration(), again);
  REQUIRE(loop.Run().ok());
  CHECK(rounds == 5);
}

TEST_CASE("EventLoop Run can be run again after Stop", "[event_loop]") {
  EventLoop loop = NewLoop();
  int runs = 0;
  for (int i = 0; i < 3; ++i) {
    loop.After(absl::Milliseconds(1), [&] {
      ++runs;
      loop.Stop();
    });
    REQUIRE(loop.Run().ok());
  }
  CHECK(runs == 3);
  // A Stop() before Run() makes that Run() return at once.
  loop.Stop();
  bool ran = false;
  loop.After(absl::Seconds(30), [&] { ran = true; });
  REQUIRE(loop.Run().ok());
  CHECK_FALSE(ran);
}

}  // namespace
}  // namespace berth

TEST_CASE("EventLoop::Post runs work from other threads on the loop's thread, in order") {
  auto loop = berth::EventLoop::Create();
  REQUIRE(loop.ok());
  std::vector<int> seen;
  std::thread::id loop_thread = std::this_thread::get_id();
  bool all_on_loop = true;
  constexpr int kThreads = 4;
  constexpr int kEach = 500;
  std::vector<std::thread> posters;
  for (int t = 0; t < kThreads; ++t) {
    posters.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        loop->Post([&, t, i] {
          if (std::this_thread::get_id() != loop_thread) all_on_loop = false;
          seen.push_back(t * kEach + i);
          if (seen.size() == kThreads * kEach) loop->Stop();
        });
      }
    });
  }
  REQUIRE(loop->Run().ok());
  for (std::thread& p : posters) p.join();
  CHECK(all_on_loop);
  REQUIRE(seen.size() == kThreads * kEach);
  // Each poster's work ran in the order it was posted.
  for (int t = 0; t < kThreads; ++t) {
    int last = -1;
    for (int v : seen) {
      if (v / kEach != t) continue;
      CHECK(v > last);
      last = v;
    }
  }
}
