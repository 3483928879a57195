#include "runtime/cli/features.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <vector>

#include "lib/json_tree.h"
#include "runtime/spec/parser.h"

namespace berth::cli {
namespace {

using Strings = std::vector<std::string>;

FeaturesInput SampleInput() {
  FeaturesInput in;
  in.version = "9.8.7";
  in.libseccomp_version = "2.5.4";
  in.capabilities = {"CAP_CHOWN", "CAP_SYS_ADMIN"};
  in.seccomp_supported_flags = {"SECCOMP_FILTER_FLAG_LOG"};
  return in;
}

std::unique_ptr<json::Document> Parse(const FeaturesInput& in) {
  auto doc = json::Document::Parse(BuildFeaturesJson(in), "features");
  REQUIRE(doc.ok());
  return std::move(*doc);
}

Strings StringsAt(const json::Value& v) {
  auto list = v.AsStringArray();
  REQUIRE(list.ok());
  return *list;
}

bool Contains(const Strings& list, const std::string& s) {
  return std::find(list.begin(), list.end(), s) != list.end();
}

bool BoolAt(const json::Value& v) {
  auto b = v.AsBool();
  REQUIRE(b.ok());
  return *b;
}

std::string StringAt(const json::Value& v) {
  auto s = v.AsString();
  REQUIRE(s.ok());
  return *s;
}

TEST_CASE("The features document has every key of features.md", "[features]") {
  auto doc = Parse(SampleInput());
  json::Value root = doc->root();
  CHECK(StringAt(root.Get("ociVersionMin")) == "1.0.0");
  CHECK(StringAt(root.Get("ociVersionMax")) == "1.2.0");
  CHECK(StringsAt(root.Get("hooks")) == Strings{"prestart", "createRuntime", "createContainer",
                                                "startContainer", "poststart", "poststop"});
  CHECK(root.Get("mountOptions").is_array());

  json::Value linux = root.Get("linux");
  REQUIRE(linux.is_object());
  CHECK(StringsAt(linux.Get("namespaces")) ==
        Strings{"cgroup", "ipc", "mount", "network", "pid", "user", "uts", "time"});
  CHECK(StringsAt(linux.Get("capabilities")) == Strings{"CAP_CHOWN", "CAP_SYS_ADMIN"});

  json::Value cgroup = linux.Get("cgroup");
  CHECK(BoolAt(cgroup.Get("v1")));
  CHECK(BoolAt(cgroup.Get("v2")));
  CHECK(BoolAt(cgroup.Get("systemd")));
  CHECK(BoolAt(cgroup.Get("systemdUser")));
  CHECK(BoolAt(cgroup.Get("rdma")));

  json::Value seccomp = linux.Get("seccomp");
  CHECK(BoolAt(seccomp.Get("enabled")));
  CHECK(StringsAt(seccomp.Get("actions")).size() == 9);
  CHECK(StringsAt(seccomp.Get("operators")) == Strings{"SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT",
                                                       "SCMP_CMP_LE", "SCMP_CMP_LT",
                                                       "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE"});
  CHECK(Contains(StringsAt(seccomp.Get("archs")), "SCMP_ARCH_X86_64"));
  CHECK(StringsAt(seccomp.Get("knownFlags")) ==
        Strings{"SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
                "SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"});
  CHECK(StringsAt(seccomp.Get("supportedFlags")) == Strings{"SECCOMP_FILTER_FLAG_LOG"});

  CHECK(BoolAt(linux.Get("apparmor").Get("enabled")));
  CHECK(BoolAt(linux.Get("selinux").Get("enabled")));
  CHECK_FALSE(BoolAt(linux.Get("intelRdt").Get("enabled")));
  CHECK_FALSE(BoolAt(linux.Get("mountExtensions").Get("idmap").Get("enabled")));

  json::Value annotations = root.Get("annotations");
  CHECK(StringAt(annotations.Get("org.opencontainers.runc.checkpoint.enabled")) == "false");
  CHECK(StringAt(annotations.Get("io.github.berth.version")) == "9.8.7");
  CHECK(StringAt(annotations.Get("io.github.seccomp.libseccomp.version")) == "2.5.4");
}

TEST_CASE("Features: mount options are the ones berth applies", "[features]") {
  Strings opts = StringsAt(Parse(SampleInput())->root().Get("mountOptions"));
  CHECK(Contains(opts, "rro"));
  CHECK(Contains(opts, "tmpcopyup"));
  CHECK(Contains(opts, "rbind"));
  // Parsed, but refused at mount time.
  CHECK_FALSE(Contains(opts, "idmap"));
  CHECK_FALSE(Contains(opts, "ridmap"));
  CHECK(std::is_sorted(opts.begin(), opts.end()));
}

TEST_CASE("Features: every listed namespace and version is accepted by the parser", "[features]") {
  auto doc = Parse(SampleInput());
  json::Value root = doc->root();
  Strings ns = StringsAt(root.Get("linux").Get("namespaces"));
  CHECK(Contains(ns, "user"));
  for (const std::string& n : ns) {
    INFO(n);
    CHECK(spec::ParseNamespaceType(n).has_value());
  }
  CHECK(spec::IsSupportedOciVersion(StringAt(root.Get("ociVersionMin"))));
  CHECK(spec::IsSupportedOciVersion(StringAt(root.Get("ociVersionMax"))));
  CHECK_FALSE(spec::IsSupportedOciVersion("1.3.0"));
}

TEST_CASE("Features: seccomp names are the parser's", "[features]") {
  auto doc = Parse(SampleInput());
  json::Value seccomp = doc->root().Get("linux").Get("seccomp");
  Strings actions = StringsAt(seccomp.Get("actions"));
  for (const char* a : {"SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL",
                        "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG",
                        "SCMP_ACT_NOTIFY", "SCMP_ACT_TRACE", "SCMP_ACT_TRAP"}) {
    CHECK(Contains(actions, a));
  }
  Strings archs = StringsAt(seccomp.Get("archs"));
  CHECK(archs.size() == 19);
  CHECK(Contains(archs, "SCMP_ARCH_RISCV64"));
  CHECK(std::is_sorted(archs.begin(), archs.end()));
}

TEST_CASE("Features: the libseccomp annotation is left out when unknown", "[features]") {
  FeaturesInput in = SampleInput();
  in.libseccomp_version.clear();
  CHECK(Parse(in)->root().Get("annotations").Get("io.github.seccomp.libseccomp.version").missing());
}

TEST_CASE("Features: host probes", "[features]") {
  Strings caps = KnownCapabilityNames();
  REQUIRE(caps.size() >= 38);  // CAP_CHOWN .. CAP_AUDIT_READ, in every libcap berth builds with
  CHECK(caps.front() == "CAP_CHOWN");
  CHECK(caps[21] == "CAP_SYS_ADMIN");
  CHECK(Contains(caps, "CAP_SYS_ADMIN"));

  Strings supported = SupportedSeccompFlags();
  Strings known =
      StringsAt(Parse(SampleInput())->root().Get("linux").Get("seccomp").Get("knownFlags"));
  for (const std::string& f : supported) {
    INFO(f);
    CHECK(Contains(known, f));
  }

  FeaturesInput in = ProbeFeaturesInput("1.0");
  CHECK(in.version == "1.0");
  CHECK(in.capabilities == caps);
  CHECK(in.seccomp_supported_flags == supported);
  CHECK_FALSE(in.libseccomp_version.empty());
}

}  // namespace
}  // namespace berth::cli
