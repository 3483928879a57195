// berthctl's helpers that need no berthd: flags, value parsing, output
// formatting, spec JSON rewriting.
#include <signal.h>

#include <catch2/catch.hpp>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "supervisor/berthctl/flags.h"
#include "supervisor/berthctl/format.h"
#include "supervisor/berthctl/options.h"
#include "supervisor/berthctl/spec_json.h"

namespace berth::ctl {
namespace {

EnvLookup FakeEnv(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

TEST_CASE("ParseSize reads docker's memory sizes", "[berthctl]") {
  CHECK(*ParseSize("1024") == 1024);
  CHECK(*ParseSize("64m") == 64LL << 20);
  CHECK(*ParseSize("64M") == 64LL << 20);
  CHECK(*ParseSize("1g") == 1LL << 30);
  CHECK(*ParseSize("1.5g") == 3LL << 29);
  CHECK(*ParseSize("512kb") == 512LL << 10);
  CHECK(*ParseSize("2GiB") == 2LL << 30);
  CHECK(*ParseSize("10b") == 10);
  CHECK(*ParseSize("1 t") == 1LL << 40);
  for (const char* bad : {"", "m", "-1", "64x", "1..2g", ".5g", "1e3", "64mm", "9999999p"}) {
    INFO(bad);
    CHECK_FALSE(ParseSize(bad).ok());
  }
}

TEST_CASE("ParseCpus takes positive decimals", "[berthctl]") {
  CHECK(*ParseCpus("0.5") == 0.5);
  CHECK(*ParseCpus("2") == 2);
  CHECK_FALSE(ParseCpus("0").ok());
  CHECK_FALSE(ParseCpus("-1").ok());
  CHECK_FALSE(ParseCpus("half").ok());
}

TEST_CASE("ParseUser takes numeric UID[:GID] only", "[berthctl]") {
  auto u = ParseUser("1000");
  REQUIRE(u.ok());
  CHECK(u->uid == 1000);
  CHECK_FALSE(u->gid.has_value());
  u = ParseUser("1000:100");
  REQUIRE(u.ok());
  CHECK(u->gid == 100u);
  for (const char* bad : {"", "root", "1000:", ":100", "1000:staff", "-1", "1:2:3"}) {
    INFO(bad);
    CHECK_FALSE(ParseUser(bad).ok());
  }
}

TEST_CASE("signal names and numbers", "[berthctl]") {
  CHECK(*ParseSignalName("KILL") == SIGKILL);
  CHECK(*ParseSignalName("SIGKILL") == SIGKILL);
  CHECK(*ParseSignalName("term") == SIGTERM);
  CHECK(*ParseSignalName("9") == SIGKILL);
  CHECK(*ParseSignalName("SIGRTMIN+1") == SIGRTMIN + 1);
  CHECK_FALSE(ParseSignalName("NOPE").ok());
  CHECK_FALSE(ParseSignalName("0").ok());
}

TEST_CASE("HumanDuration reads as docker's", "[berthctl]") {
  CHECK(HumanDuration(absl::Milliseconds(300)) == "Less than a second");
  CHECK(HumanDuration(absl::Seconds(1)) == "1 second");
  CHECK(HumanDuration(absl::Seconds(5)) == "5 seconds");
  CHECK(HumanDuration(absl::Seconds(59)) == "59 seconds");
  CHECK(HumanDuration(absl::Seconds(60)) == "About a minute");
  CHECK(HumanDuration(absl::Minutes(3)) == "3 minutes");
  CHECK(HumanDuration(absl::Minutes(59)) == "59 minutes");
  CHECK(HumanDuration(absl::Minutes(60)) == "About an hour");
  CHECK(HumanDuration(absl::Hours(5)) == "5 hours");
  CHECK(HumanDuration(absl::Hours(47)) == "47 hours");
  CHECK(HumanDuration(absl::Hours(24 * 3)) == "3 days");
  CHECK(HumanDuration(absl::Hours(24 * 7 * 3)) == "3 weeks");
  CHECK(HumanDuration(absl::Hours(24 * 30 * 3)) == "3 months");
  CHECK(HumanDuration(absl::Hours(24 * 365 * 3)) == "3 years");
}

TEST_CASE("StatusText is docker ps's STATUS", "[berthctl]") {
  absl::Time now = absl::FromUnixSeconds(1000000);
  TaskTimes t;
  t.started = now - absl::Seconds(5);
  CHECK(StatusText("running", t, now) == "Up 5 seconds");
  CHECK(StatusText("paused", t, now) == "Up 5 seconds (Paused)");
  t.exited = now - absl::Seconds(3);
  t.exit_status = 137;
  CHECK(StatusText("stopped", t, now) == "Exited (137) 3 seconds ago");
  CHECK(StatusText("stopped", TaskTimes(), now) == "Exited (0)");
  CHECK(StatusText("created", TaskTimes(), now) == "Created");
  CHECK(StatusText("unknown", TaskTimes(), now) == "Unknown");
}

TEST_CASE("BytesSize and CpuPercent as docker stats shows them", "[berthctl]") {
  CHECK(BytesSize(0) == "0B");
  CHECK(BytesSize(1023) == "1023B");
  CHECK(BytesSize(1536) == "1.5KiB");
  CHECK(BytesSize(1.5 * 1024 * 1024) == "1.5MiB");
  CHECK(BytesSize(8.0 * 1024 * 1024 * 1024) == "8GiB");
  CHECK(BytesSize(1617920) == "1.543MiB");
  CHECK(CpuPercent(0, 500'000'000, absl::Seconds(1)) == Approx(50));
  CHECK(CpuPercent(1'000, 2'000'001'000, absl::Seconds(1)) == Approx(200));
  CHECK(CpuPercent(10, 5, absl::Seconds(1)) == 0);
  CHECK(CpuPercent(0, 5, absl::ZeroDuration()) == 0);
}

TEST_CASE("the COMMAND column is quoted and cut to 20 characters", "[berthctl]") {
  CHECK(CommandColumn({"sleep", "100"}, false) == "\"sleep 100\"");
  CHECK(CommandColumn({"sh", "-c", "echo hello; sleep 1000"}, false) ==
        "\"sh -c 'echo hello; \xE2\x80\xA6\"");
  CHECK(CommandColumn({"sh", "-c", "echo \"hi\""}, true) == "\"sh -c 'echo \\\"hi\\\"'\"");
  CHECK(JoinCommand({"a", "b c"}) == "a 'b c'");
  CHECK(Ellipsis("abcdef", 6) == "abcdef");
  CHECK(Ellipsis("abcdefg", 6) == "abcde\xE2\x80\xA6");
  CHECK(Quote("a\nb\x01") == "\"a\\nb\\x01\"");
  CHECK(ShortId("0123456789abcdef") == "0123456789ab");
}

TEST_CASE("RenderTable pads like docker's tabwriter", "[berthctl]") {
  std::string out = RenderTable({{"CONTAINER ID", "NAMES"}, {"abc", "web"}});
  CHECK(out ==
        "CONTAINER ID   NAMES\n"
        "abc            web\n");
  // Columns are at least ten wide; widths count characters, not bytes.
  CHECK(RenderTable({{"A", "B"}, {"\xE2\x80\xA6", "C"}}) ==
        "A         B\n"
        "\xE2\x80\xA6         C\n");
}

TEST_CASE("-e and --env-file as docker reads them", "[berthctl]") {
  EnvLookup env = FakeEnv({{"HOME", "/root"}, {"EMPTY", ""}});
  CHECK(**ExpandEnv("A=1", env) == "A=1");
  CHECK(**ExpandEnv("A==1", env) == "A==1");
  CHECK(**ExpandEnv("HOME", env) == "HOME=/root");
  CHECK(**ExpandEnv("EMPTY", env) == "EMPTY=");
  CHECK_FALSE(ExpandEnv("UNSET", env)->has_value());
  CHECK_FALSE(ExpandEnv("=1", env).ok());
  CHECK_FALSE(ExpandEnv("A B=1", env).ok());
  auto file = ParseEnvFile("# comment\n\nA=1\r\n  HOME\nUNSET\nB=two words\n", "f.env", env);
  REQUIRE(file.ok());
  CHECK(*file == std::vector<std::string>{"A=1", "HOME=/root", "B=two words"});
  auto bad = ParseEnvFile("A=1\nB C\n", "f.env", env);
  REQUIRE_FALSE(bad.ok());
  CHECK(std::string(bad.status().message()).find("f.env:2") == 0);
}

TEST_CASE("labels", "[berthctl]") {
  CHECK(*ParseLabel("a=b=c") == std::pair<std::string, std::string>("a", "b=c"));
  CHECK(*ParseLabel("flag") == std::pair<std::string, std::string>("flag", ""));
  CHECK_FALSE(ParseLabel("=x").ok());
}

TEST_CASE("ps filters: one key's values are alternatives, keys all apply", "[berthctl]") {
  auto f = ParseFilters({"name=web", "name=db", "label=tier=front", "status=exited"},
                        {"id", "name", "label", "status"});
  REQUIRE(f.ok());
  CHECK(ValidateStatusFilter(*f).ok());
  ContainerFacts c{"abcdef", "my-web-1", {{"tier", "front"}}, "stopped"};
  CHECK(MatchesFilters(*f, c));
  c.status = "running";
  CHECK_FALSE(MatchesFilters(*f, c));
  c.status = "stopped";
  c.labels["tier"] = "back";
  CHECK_FALSE(MatchesFilters(*f, c));

  auto presence = ParseFilters({"label=tier", "id=abc"}, {"id", "label"});
  REQUIRE(presence.ok());
  CHECK(MatchesFilters(*presence, c));
  c.id = "xabc";
  CHECK_FALSE(MatchesFilters(*presence, c));

  CHECK(MatchesFilters(Filters(), c));
  CHECK_FALSE(ParseFilters({"colour=red"}, {"name"}).ok());
  CHECK_FALSE(ParseFilters({"name"}, {"name"}).ok());
  auto bad_status = ParseFilters({"status=sleeping"}, {"status"});
  REQUIRE(bad_status.ok());
  CHECK_FALSE(ValidateStatusFilter(*bad_status).ok());
}

TEST_CASE("exit status of a process that could not start", "[berthctl]") {
  CHECK(StartFailureExitCode(
            absl::NotFoundError("exec: \"nope\": executable file not found in $PATH")) == 127);
  CHECK(StartFailureExitCode(absl::PermissionDeniedError("exec /etc/passwd: permission denied")) ==
        126);
  CHECK(StartFailureExitCode(absl::UnavailableError("shim gone")) == 125);
}

TEST_CASE("FlagSet parses docker's forms", "[berthctl]") {
  bool i = false, t = false, d = false, rm = false;
  std::string name, user;
  std::vector<std::string> env;
  int64_t n = 0;
  FlagSet flags("run", "run");
  flags.Bool({"i", "interactive"}, &i, "");
  flags.Bool({"t", "tty"}, &t, "");
  flags.Bool({"d", "detach"}, &d, "");
  flags.Bool({"rm"}, &rm, "");
  flags.String({"name"}, &name, "");
  flags.String({"u", "user"}, &user, "");
  flags.StringList({"e", "env"}, &env, "");
  flags.Int({"pids-limit"}, &n, "");

  auto rest = flags.Parse({"-it", "--rm", "--name=web", "-e", "A=1", "-eB=2", "--env", "C=3",
                           "-u1000", "--pids-limit", "5", "sh", "-c", "--rm"},
                          /*interspersed=*/false);
  REQUIRE(rest.ok());
  CHECK(i);
  CHECK(t);
  CHECK_FALSE(d);
  CHECK(rm);
  CHECK(name == "web");
  CHECK(user == "1000");
  CHECK(env == std::vector<std::string>{"A=1", "B=2", "C=3"});
  CHECK(n == 5);
  CHECK(*rest == std::vector<std::string>{"sh", "-c", "--rm"});

  rest = flags.Parse({"--rm=false", "-d=true", "--", "-x"});
  REQUIRE(rest.ok());
  CHECK_FALSE(rm);
  CHECK(d);
  CHECK(*rest == std::vector<std::string>{"-x"});

  rest = flags.Parse({"a", "-t", "b"}, /*interspersed=*/true);
  REQUIRE(rest.ok());
  CHECK(*rest == std::vector<std::string>{"a", "b"});

  CHECK(flags.Parse({"--nope"}).status().message() == "unknown flag: --nope");
  CHECK(flags.Parse({"-ix"}).status().message() == "unknown shorthand flag: 'x' in -ix");
  CHECK(flags.Parse({"--name"}).status().message() == "flag needs an argument: --name");
  CHECK_FALSE(flags.Parse({"--pids-limit", "many"}).ok());
  CHECK_FALSE(flags.Parse({"--rm=maybe"}).ok());
  CHECK_FALSE(flags.help_requested());
  REQUIRE(flags.Parse({"--help"}).ok());
  CHECK(flags.help_requested());
}

TEST_CASE("RewriteSpec changes process fields and keeps numbers exact", "[berthctl]") {
  const char* spec = R"({"ociVersion":"1.0.2","process":{"terminal":false,"user":{"uid":0,"gid":0},
    "args":["sh"],"env":["PATH=/bin","TERM=xterm"],"cwd":"/"},
    "root":{"path":"rootfs","readonly":true},
    "linux":{"resources":{"memory":{"limit":9223372036854771712}}}})";
  SpecOverrides o;
  o.args = std::vector<std::string>{"echo", "hi"};
  o.env = {"TERM=dumb", "A=1"};
  o.cwd = "/tmp";
  o.terminal = true;
  o.uid = 1000;
  auto out = RewriteSpec(spec, o, "config.json");
  REQUIRE(out.ok());
  auto summary = SummarizeSpec(*out, "out");
  REQUIRE(summary.ok());
  CHECK(summary->args == std::vector<std::string>{"echo", "hi"});
  CHECK(summary->terminal);
  CHECK(summary->root_path == "rootfs");
  CHECK(summary->root_readonly);
  auto flat = ReformatJson(*out, "");
  REQUIRE(flat.ok());
  CHECK(flat->find("\"env\":[\"PATH=/bin\",\"TERM=dumb\",\"A=1\"]") != std::string::npos);
  CHECK(flat->find("\"cwd\":\"/tmp\"") != std::string::npos);
  CHECK(flat->find("\"user\":{\"uid\":1000,\"gid\":0}") != std::string::npos);
  CHECK(flat->find("9223372036854771712") != std::string::npos);

  // Fields the spec lacks are added; no overrides leave it as it was.
  auto added = RewriteSpec(R"({"process":{"args":["true"]}})", o, "c");
  REQUIRE(added.ok());
  auto added_flat = ReformatJson(*added, "");
  CHECK(*added_flat == R"({"process":{"args":["echo","hi"],"env":["TERM=dumb","A=1"],"cwd":"/tmp",)"
                       R"("terminal":true,"user":{"uid":1000}}})");
  auto same =
      RewriteSpec(R"({"process":{"args":["true"]},"x":[1.5,null,false]})", SpecOverrides(), "c");
  CHECK(*ReformatJson(*same, "") == R"({"process":{"args":["true"]},"x":[1.5,null,false]})");

  CHECK_FALSE(RewriteSpec(R"({"root":{}})", o, "c").ok());
  CHECK_FALSE(RewriteSpec("{", o, "c").ok());
  CHECK(std::string(RewriteSpec("[1]", o, "c.json").status().message()).find("c.json") == 0);
}

TEST_CASE("ReformatJson indents", "[berthctl]") {
  auto out = ReformatJson(R"([{"a":1}])", "  ");
  REQUIRE(out.ok());
  CHECK(*out == "[\n  {\n    \"a\": 1\n  }\n]");
}

}  // namespace
}  // namespace berth::ctl
