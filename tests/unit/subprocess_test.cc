#include "lib/subprocess.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>

#include "lib/unique_fd.h"

namespace berth {
namespace {

TEST_CASE("WriteNoSigpipe reports EPIPE on a closed pipe instead of raising SIGPIPE") {
  // With SIGPIPE at its default disposition a plain write(2) would end this
  // test binary here.
  struct sigaction dfl = {}, old = {};
  dfl.sa_handler = SIG_DFL;
  sigaction(SIGPIPE, &dfl, &old);
  int p[2];
  REQUIRE(pipe2(p, O_CLOEXEC) == 0);
  close(p[0]);
  UniqueFd w(p[1]);
  errno = 0;
  CHECK(WriteNoSigpipe(w.get(), "x", 1) == -1);
  CHECK(errno == EPIPE);
  sigset_t pending;
  sigpending(&pending);
  CHECK(sigismember(&pending, SIGPIPE) == 0);
  sigaction(SIGPIPE, &old, nullptr);
}

TEST_CASE("RunProcess runs SpawnOptions.path with argv as given and an explicit environment") {
  SpawnOptions o;
  o.path = "/bin/sh";
  o.env = std::vector<std::string>{"ONLY=this"};
  o.capture_stdout = true;
  auto r = RunProcess({"not-a-program", "-c", "echo \"$0 $ONLY ${HOME:-unset}\""}, o);
  REQUIRE(r.ok());
  CHECK(r->success());
  CHECK(r->out == "not-a-program this unset\n");
}

TEST_CASE("RunProcess feeds stdin to a child that exits without reading it") {
  SpawnOptions o;
  o.stdin_data = std::string(1 << 20, 'x');  // more than a pipe holds
  auto r = RunProcess({"/bin/true"}, o);
  REQUIRE(r.ok());
  CHECK(r->success());
}

TEST_CASE("Spawn closes the parent's fds above the mapped ones, close-on-exec or not") {
  int p[2];
  REQUIRE(pipe(p) == 0);  // deliberately inheritable
  // Out of the way of the fd ls opens for the directory.
  UniqueFd r(fcntl(p[0], F_DUPFD, 50)), w(fcntl(p[1], F_DUPFD, 50));
  close(p[0]);
  close(p[1]);
  SpawnOptions o;
  o.capture_stdout = true;
  auto res = RunProcess({"/bin/sh", "-c", "ls /proc/self/fd"}, o);
  REQUIRE(res.ok());
  // 0, 1, 2 and the fd ls opens for the directory: nothing of ours.
  CHECK(res->out == "0\n1\n2\n3\n");
}

}  // namespace
}  // namespace berth
