#include "runtime/cli/flags.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <vector>

namespace berth::cli {
namespace {

using Args = std::vector<std::string>;

// A flag set like runc's create: a bool, a string, an int and a repeatable
// string flag, each with a long and a short name.
struct Flags {
  bool detach = false;
  std::string bundle = "default";
  int64_t count = -1;
  std::vector<std::string> env;
  FlagSet set{"create"};

  Flags() {
    set.Bool({"detach", "d"}, &detach);
    set.String({"bundle", "b"}, &bundle);
    set.Int({"count", "n"}, &count);
    set.StringList({"env", "e"}, &env);
  }

  Args MustParse(const Args& args, bool interspersed = true, size_t max = SIZE_MAX) {
    absl::StatusOr<Args> out = set.Parse(args, interspersed, max);
    if (!out.ok()) FAIL(out.status().message());
    return *std::move(out);
  }

  std::string ErrorOf(const Args& args, bool interspersed = true) {
    absl::StatusOr<Args> out = set.Parse(args, interspersed);
    REQUIRE_FALSE(out.ok());
    CHECK(absl::IsInvalidArgument(out.status()));
    return std::string(out.status().message());
  }
};

TEST_CASE("FlagSet accepts one and two dashes for string flags", "[flags]") {
  std::string arg = GENERATE("-b", "--b", "-bundle", "--bundle");
  Flags f;
  CHECK(f.MustParse({arg, "/tmp/x"}).empty());
  CHECK(f.bundle == "/tmp/x");
}

TEST_CASE("FlagSet takes string values after an equals sign", "[flags]") {
  Flags f;
  SECTION("two dashes") {
    CHECK(f.MustParse({"--bundle=/b"}).empty());
    CHECK(f.bundle == "/b");
  }
  SECTION("one dash") {
    CHECK(f.MustParse({"-b=/b"}).empty());
    CHECK(f.bundle == "/b");
  }
  SECTION("empty value") {
    CHECK(f.MustParse({"--bundle="}).empty());
    CHECK(f.bundle.empty());
  }
  SECTION("only the first equals sign separates the value") {
    CHECK(f.MustParse({"--bundle=a=b=c"}).empty());
    CHECK(f.bundle == "a=b=c");
  }
}

TEST_CASE("FlagSet takes the next argument verbatim as a value, even with a dash", "[flags]") {
  Flags f;
  CHECK(f.MustParse({"--bundle", "--detach", "id"}) == Args{"id"});
  CHECK(f.bundle == "--detach");
  CHECK_FALSE(f.detach);
}

TEST_CASE("FlagSet leaves defaults alone when a flag is absent", "[flags]") {
  Flags f;
  CHECK(f.MustParse({"id"}) == Args{"id"});
  CHECK_FALSE(f.detach);
  CHECK(f.bundle == "default");
  CHECK(f.count == -1);
  CHECK(f.env.empty());
  CHECK_FALSE(f.set.help_requested());
}

TEST_CASE("FlagSet parses empty argument lists", "[flags]") {
  Flags f;
  CHECK(f.MustParse({}).empty());
}

TEST_CASE("FlagSet bool flags without a value are true", "[flags]") {
  std::string arg = GENERATE("-d", "--d", "-detach", "--detach");
  Flags f;
  CHECK(f.MustParse({arg}).empty());
  CHECK(f.detach);
}

TEST_CASE("FlagSet bool flags take =true and =false", "[flags]") {
  Flags f;
  f.detach = true;
  CHECK(f.MustParse({"--detach=false"}).empty());
  CHECK_FALSE(f.detach);
  CHECK(f.MustParse({"--d=true"}).empty());
  CHECK(f.detach);
  CHECK(f.MustParse({"-d=false"}).empty());
  CHECK_FALSE(f.detach);
}

TEST_CASE("FlagSet bool flags never consume the next argument", "[flags]") {
  Flags f;
  SECTION("a following 'false' is a positional") {
    CHECK(f.MustParse({"--detach", "false"}) == Args{"false"});
    CHECK(f.detach);
  }
  SECTION("a following 'true' is a positional") {
    CHECK(f.MustParse({"-d", "true", "id"}) == Args{"true", "id"});
    CHECK(f.detach);
  }
  SECTION("a following flag is still parsed as a flag") {
    CHECK(f.MustParse({"-d", "-b", "/x", "id"}) == Args{"id"});
    CHECK(f.detach);
    CHECK(f.bundle == "/x");
  }
}

TEST_CASE("FlagSet rejects invalid bool values", "[flags]") {
  Flags f;
  CHECK(f.ErrorOf({"--detach=maybe"}) ==
        "create: invalid boolean value \"maybe\" for flag --detach");
  CHECK(f.ErrorOf({"-d="}) == "create: invalid boolean value \"\" for flag --d");
}

TEST_CASE("FlagSet parses int flags", "[flags]") {
  Flags f;
  SECTION("separate value") {
    CHECK(f.MustParse({"--count", "42"}).empty());
    CHECK(f.count == 42);
  }
  SECTION("equals value") {
    CHECK(f.MustParse({"-n=7"}).empty());
    CHECK(f.count == 7);
  }
  SECTION("negative separate value is consumed, not taken for a flag") {
    CHECK(f.MustParse({"--count", "-5", "id"}) == Args{"id"});
    CHECK(f.count == -5);
  }
  SECTION("negative equals value") {
    CHECK(f.MustParse({"--count=-9223372036854775808"}).empty());
    CHECK(f.count == INT64_MIN);
  }
}

TEST_CASE("FlagSet rejects invalid int values", "[flags]") {
  Flags f;
  CHECK(f.ErrorOf({"--count", "ten"}) == "create: invalid integer value \"ten\" for flag --count");
  CHECK(f.ErrorOf({"-n=1.5"}) == "create: invalid integer value \"1.5\" for flag --n");
  CHECK(f.ErrorOf({"--count=9223372036854775808"}) ==
        "create: invalid integer value \"9223372036854775808\" for flag --count");
  CHECK(f.ErrorOf({"--count="}) == "create: invalid integer value \"\" for flag --count");
}

TEST_CASE("FlagSet reports unknown flags like Go's flag package", "[flags]") {
  Flags f;
  CHECK(f.ErrorOf({"-x"}) == "create: flag provided but not defined: -x");
  CHECK(f.ErrorOf({"--x"}) == "create: flag provided but not defined: -x");
  CHECK(f.ErrorOf({"--xyz=1"}) == "create: flag provided but not defined: -xyz");
  CHECK(f.ErrorOf({"id", "--nope"}) == "create: flag provided but not defined: -nope");
}

TEST_CASE("FlagSet reports a missing value", "[flags]") {
  Flags f;
  CHECK(f.ErrorOf({"--bundle"}) == "create: flag needs an argument: -bundle");
  CHECK(f.ErrorOf({"id", "-b"}) == "create: flag needs an argument: -b");
  CHECK(f.ErrorOf({"--count"}) == "create: flag needs an argument: -count");
  CHECK(f.ErrorOf({"-e"}) == "create: flag needs an argument: -e");
}

TEST_CASE("FlagSet allows flags after positionals when interspersed", "[flags]") {
  Flags f;
  CHECK(f.MustParse({"id", "--bundle", "/b", "-d", "extra", "-n=3"}) == Args{"id", "extra"});
  CHECK(f.bundle == "/b");
  CHECK(f.detach);
  CHECK(f.count == 3);
}

TEST_CASE("FlagSet treats a lone dash as a positional", "[flags]") {
  Flags f;
  CHECK(f.MustParse({"-", "-d"}) == Args{"-"});
  CHECK(f.detach);
}

TEST_CASE("FlagSet non-interspersed mode stops at the first positional", "[flags]") {
  Flags f;
  CHECK(f.MustParse({"-d", "--bundle", "/b", "run", "--count", "3", "-x", "--"}, false) ==
        Args{"run", "--count", "3", "-x", "--"});
  CHECK(f.detach);
  CHECK(f.bundle == "/b");
  CHECK(f.count == -1);
}

TEST_CASE("FlagSet non-interspersed mode still honours a leading --", "[flags]") {
  Flags f;
  CHECK(f.MustParse({"-d", "--", "-n", "1"}, false) == Args{"-n", "1"});
  CHECK(f.detach);
  CHECK(f.count == -1);
}

TEST_CASE("FlagSet -- ends the flags", "[flags]") {
  Flags f;
  SECTION("before any positional") {
    CHECK(f.MustParse({"-d", "--", "--bundle", "/b", "-x"}) == Args{"--bundle", "/b", "-x"});
    CHECK(f.bundle == "default");
  }
  SECTION("after a positional") {
    CHECK(f.MustParse({"id", "--", "-d"}) == Args{"id", "-d"});
    CHECK_FALSE(f.detach);
  }
  SECTION("only the first -- is removed") {
    CHECK(f.MustParse({"--", "--", "a"}) == Args{"--", "a"});
  }
  SECTION("a trailing -- yields nothing more") { CHECK(f.MustParse({"id", "--"}) == Args{"id"}); }
}

TEST_CASE("FlagSet max_interspersed_positionals returns the rest verbatim", "[flags]") {
  Flags f;
  SECTION("exec ID cmd args: flags after the ID belong to the command") {
    CHECK(f.MustParse({"-d", "id", "sh", "-c", "--bundle", "x"}, true, 1) ==
          Args{"id", "sh", "-c", "--bundle", "x"});
    CHECK(f.detach);
    CHECK(f.bundle == "default");
  }
  SECTION("flags directly after the ID are not parsed either") {
    CHECK(f.MustParse({"id", "-d", "sh"}, true, 1) == Args{"id", "-d", "sh"});
    CHECK_FALSE(f.detach);
  }
  SECTION("-- after the limit is kept") {
    CHECK(f.MustParse({"id", "--", "x"}, true, 1) == Args{"id", "--", "x"});
  }
  SECTION("-- before the limit is removed") {
    CHECK(f.MustParse({"id", "--", "x", "-d"}, true, 2) == Args{"id", "x", "-d"});
    CHECK_FALSE(f.detach);
  }
  SECTION("unknown flags after the limit are not errors") {
    CHECK(f.MustParse({"-n", "2", "id", "cmd", "--weird"}, true, 2) ==
          Args{"id", "cmd", "--weird"});
    CHECK(f.count == 2);
  }
  SECTION("flags between positionals below the limit are parsed") {
    CHECK(f.MustParse({"a", "-d", "b", "-d=false"}, true, 2) == Args{"a", "b", "-d=false"});
    CHECK(f.detach);
  }
  SECTION("zero: everything is verbatim") {
    CHECK(f.MustParse({"-d", "x"}, true, 0) == Args{"-d", "x"});
    CHECK_FALSE(f.detach);
  }
}

TEST_CASE("FlagSet -h and --help set help_requested", "[flags]") {
  std::string arg = GENERATE("-h", "--h", "-help", "--help");
  Flags f;
  CHECK(f.MustParse({"id", arg, "-d"}) == Args{"id"});
  CHECK(f.set.help_requested());
  CHECK(f.detach);
}

TEST_CASE("FlagSet --help does not consume the next argument", "[flags]") {
  Flags f;
  CHECK(f.MustParse({"--help", "id"}) == Args{"id"});
  CHECK(f.set.help_requested());
}

TEST_CASE("FlagSet StringList collects repeats in order", "[flags]") {
  Flags f;
  CHECK(f.MustParse({"--env", "A=1", "-e=B=2", "id", "--e", "A=3", "-env="}) == Args{"id"});
  CHECK(f.env == std::vector<std::string>{"A=1", "B=2", "A=3", ""});
}

TEST_CASE("FlagSet string flags keep the last value", "[flags]") {
  Flags f;
  CHECK(f.MustParse({"-b", "/one", "--bundle=/two"}).empty());
  CHECK(f.bundle == "/two");
}

TEST_CASE("FlagSet names errors after the command", "[flags]") {
  FlagSet set("kill");
  bool all = false;
  set.Bool({"all", "a"}, &all);
  absl::StatusOr<Args> out = set.Parse({"--signal"});
  REQUIRE_FALSE(out.ok());
  CHECK(std::string(out.status().message()) == "kill: flag provided but not defined: -signal");
}

}  // namespace
}  // namespace berth::cli
