#include "lib/proc.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <optional>

namespace berth::proc {
namespace {

// Above the kernel's PID_MAX_LIMIT (2^22), so it can never exist.
constexpr pid_t kImpossiblePid = (1 << 22) + 1;

TEST_CASE("ReadStat reads this process", "[proc]") {
  std::optional<StatInfo> st = ReadStat(::getpid());
  REQUIRE(st.has_value());
  CHECK((st->state == 'R' || st->state == 'S'));
  CHECK(st->start_time > 0);
}

// Clock ticks since boot now, as the kernel counts a task's start time:
// CLOCK_BOOTTIME in USER_HZ, rounded down.
uint64_t BootTicksNow() {
  struct timespec ts;
  REQUIRE(::clock_gettime(CLOCK_BOOTTIME, &ts) == 0);
  uint64_t hz = static_cast<uint64_t>(::sysconf(_SC_CLK_TCK));
  return static_cast<uint64_t>(ts.tv_sec) * hz +
         static_cast<uint64_t>(ts.tv_nsec) / (1000000000 / hz);
}

TEST_CASE("ReadStat reads a child's state and start time", "[proc]") {
  uint64_t before = BootTicksNow();
  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    // Spaces and parentheses in the name, as a parser must survive them.
    ::prctl(PR_SET_NAME, "a) b (c ) d", 0, 0, 0);
    ::raise(SIGSTOP);
    ::_exit(0);
  }
  uint64_t after = BootTicksNow();
  struct Reap {  // whatever fails below, the child does not outlive the test
    pid_t pid;
    ~Reap() {
      if (pid <= 0) return;
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  } reap{child};
  int status = 0;
  REQUIRE(::waitpid(child, &status, WUNTRACED) == child);
  REQUIRE(WIFSTOPPED(status));
  std::optional<StatInfo> stopped = ReadStat(child);
  REQUIRE(stopped.has_value());
  CHECK(stopped->state == 'T');
  // Started between the two clock reads around fork().
  CHECK(stopped->start_time >= before);
  CHECK(stopped->start_time <= after);

  REQUIRE(::kill(child, SIGKILL) == 0);
  siginfo_t info;
  REQUIRE(::waitid(P_PID, child, &info, WEXITED | WNOWAIT) == 0);  // a zombie until reaped
  std::optional<StatInfo> zombie = ReadStat(child);
  REQUIRE(zombie.has_value());
  CHECK(zombie->state == 'Z');
  CHECK(zombie->start_time == stopped->start_time);
  CHECK_FALSE(IsSameLiveProcess(child, stopped->start_time));
  REQUIRE(::waitpid(child, &status, 0) == child);
  reap.pid = 0;
  CHECK_FALSE(ReadStat(child).has_value());
}

TEST_CASE("ReadStat of a pid that cannot exist is nullopt", "[proc]") {
  CHECK_FALSE(ReadStat(kImpossiblePid).has_value());
}

TEST_CASE("IsSameLiveProcess checks the start time", "[proc]") {
  std::optional<StatInfo> st = ReadStat(::getpid());
  REQUIRE(st.has_value());
  CHECK(IsSameLiveProcess(::getpid(), st->start_time));
  CHECK_FALSE(IsSameLiveProcess(::getpid(), st->start_time + 1));
  CHECK_FALSE(IsSameLiveProcess(::getpid(), 0));
}

TEST_CASE("IsSameLiveProcess is false for missing and invalid pids", "[proc]") {
  std::optional<StatInfo> st = ReadStat(::getpid());
  REQUIRE(st.has_value());
  CHECK_FALSE(IsSameLiveProcess(kImpossiblePid, st->start_time));
  CHECK_FALSE(IsSameLiveProcess(0, st->start_time));
  CHECK_FALSE(IsSameLiveProcess(-1, st->start_time));
}

}  // namespace
}  // namespace berth::proc
