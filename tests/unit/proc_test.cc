#include "lib/proc.h"

#include <sys/types.h>
#include <unistd.h>

#include <catch2/catch.hpp>
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

TEST_CASE("ReadStat is stable for the same process", "[proc]") {
  std::optional<StatInfo> a = ReadStat(::getpid());
  std::optional<StatInfo> b = ReadStat(::getpid());
  REQUIRE(a.has_value());
  REQUIRE(b.has_value());
  CHECK(a->start_time == b->start_time);
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
