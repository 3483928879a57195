#include "runtime/container/signals.h"

#include <signal.h>

#include <catch2/catch.hpp>
#include <string>

namespace berth::container {
namespace {

int MustParse(const std::string& text) {
  INFO(text);
  absl::StatusOr<int> sig = ParseSignal(text);
  if (!sig.ok()) FAIL(sig.status().message());
  return *sig;
}

std::string ErrorOf(const std::string& text) {
  INFO(text);
  absl::StatusOr<int> sig = ParseSignal(text);
  REQUIRE_FALSE(sig.ok());
  CHECK(absl::IsInvalidArgument(sig.status()));
  return std::string(sig.status().message());
}

TEST_CASE("ParseSignal accepts KILL in every spelling", "[signals]") {
  std::string text = GENERATE("KILL", "SIGKILL", "kill", "sigkill", "Kill", "SigKill", "9");
  CHECK(MustParse(text) == SIGKILL);
}

TEST_CASE("ParseSignal knows the standard signal names", "[signals]") {
  CHECK(MustParse("TERM") == SIGTERM);
  CHECK(MustParse("SIGTERM") == SIGTERM);
  CHECK(MustParse("HUP") == SIGHUP);
  CHECK(MustParse("INT") == SIGINT);
  CHECK(MustParse("QUIT") == SIGQUIT);
  CHECK(MustParse("USR1") == SIGUSR1);
  CHECK(MustParse("sigusr2") == SIGUSR2);
  CHECK(MustParse("STOP") == SIGSTOP);
  CHECK(MustParse("CONT") == SIGCONT);
  CHECK(MustParse("CHLD") == SIGCHLD);
  CHECK(MustParse("CLD") == SIGCHLD);
  CHECK(MustParse("WINCH") == SIGWINCH);
  CHECK(MustParse("PWR") == SIGPWR);
  CHECK(MustParse("IOT") == SIGABRT);
  CHECK(MustParse("POLL") == SIGIO);
}

TEST_CASE("ParseSignal accepts numbers from 1 to SIGRTMAX", "[signals]") {
  CHECK(MustParse("1") == 1);
  CHECK(MustParse("15") == SIGTERM);
  CHECK(MustParse("64") == 64);
  CHECK(MustParse(std::to_string(SIGRTMAX)) == SIGRTMAX);
}

TEST_CASE("ParseSignal rejects numbers out of range", "[signals]") {
  CHECK(ErrorOf("0") == "invalid signal number 0");
  CHECK(ErrorOf("65") == "invalid signal number 65");
  CHECK(ErrorOf("-1") == "invalid signal number -1");
  CHECK(ErrorOf("-9") == "invalid signal number -9");
  CHECK_FALSE(ParseSignal("99999999999999999999").ok());
}

TEST_CASE("ParseSignal parses real-time signals", "[signals]") {
  CHECK(MustParse("RTMIN") == SIGRTMIN);
  CHECK(MustParse("SIGRTMIN") == SIGRTMIN);
  CHECK(MustParse("rtmin") == SIGRTMIN);
  CHECK(MustParse("RTMIN+3") == SIGRTMIN + 3);
  CHECK(MustParse("SIGRTMIN+3") == SIGRTMIN + 3);
  CHECK(MustParse("RTMIN+0") == SIGRTMIN);
  CHECK(MustParse("RTMAX") == SIGRTMAX);
  CHECK(MustParse("SIGRTMAX-1") == SIGRTMAX - 1);
  CHECK(MustParse("sigrtmax-1") == SIGRTMAX - 1);
  CHECK(MustParse(std::string("RTMIN+") + std::to_string(SIGRTMAX - SIGRTMIN)) == SIGRTMAX);
  CHECK(MustParse(std::string("RTMAX-") + std::to_string(SIGRTMAX - SIGRTMIN)) == SIGRTMIN);
}

TEST_CASE("ParseSignal rejects malformed real-time signals", "[signals]") {
  std::string text = GENERATE("RTMIN-1", "RTMAX+1", "RTMIN3", "RTMIN+", "RTMAX-", "RTMIN+x",
                              "RTMINFOO", "RTMIN+31", "RTMAX-31", "RTMIN+-1", "RTMAX--1");
  CHECK(ErrorOf(text) == "unknown signal \"" + text + "\"");
}

TEST_CASE("ParseSignal rejects unknown names", "[signals]") {
  CHECK(ErrorOf("NOPE") == "unknown signal \"NOPE\"");
  CHECK(ErrorOf("SIGNOPE") == "unknown signal \"SIGNOPE\"");
  CHECK(ErrorOf("") == "unknown signal \"\"");
  CHECK(ErrorOf("SIG") == "unknown signal \"SIG\"");
  CHECK(ErrorOf("SIGSIGKILL") == "unknown signal \"SIGSIGKILL\"");
  CHECK(ErrorOf("KILLX") == "unknown signal \"KILLX\"");
  CHECK(ErrorOf("9x") == "unknown signal \"9x\"");
}

}  // namespace
}  // namespace berth::container
