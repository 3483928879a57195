// berth-shim's pure logic: containerd's command line, the runtime options,
// and the stats JSON → cgroup metrics conversion `ctr task metrics` decodes.
#include <catch2/catch.hpp>

#include "cgroups_v1_metrics.pb.h"
#include "cgroups_v2_metrics.pb.h"
#include "runc_options.pb.h"
#include "shim/metrics.h"
#include "shim/shim_flags.h"
#include "shim/shim_options.h"

namespace {

absl::StatusOr<berth::shim::ShimFlags> Parse(std::vector<std::string> args) {
  args.insert(args.begin(), "containerd-shim-berth-v2");
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  return berth::shim::ParseShimFlags(static_cast<int>(argv.size()), argv.data());
}

constexpr char kStats[] = R"({"type":"stats","id":"c","data":{
  "cpu":{"usage":{"total":5000,"percpu":[3000,2000],"kernel":1000,"user":4000},
         "throttling":{"periods":3,"throttledPeriods":1,"throttledTime":700}},
  "memory":{"cache":11,"usage":{"limit":1048576,"usage":4096,"max":8192,"failcnt":2},
            "swap":{"limit":2097152,"usage":5096,"failcnt":0},"kernel":{"limit":0,"failcnt":0},
            "kernelTCP":{"limit":0,"failcnt":0},
            "raw":{"rss":123,"total_rss":456,"pgfault":9,"anon":77,"file":88}},
  "pids":{"current":4,"limit":100},
  "blkio":{"ioServiceBytesRecursive":[{"major":8,"minor":0,"op":"Read","value":512}]},
  "hugetlb":{"2MB":{"usage":0,"max":0,"failcnt":0}}}})";

}  // namespace

TEST_CASE("shim flags: containerd 1.6's start and delete command lines", "[shim]") {
  auto f = Parse({"-namespace", "k8s.io", "-address", "/run/containerd/containerd.sock",
                  "-publish-binary", "/usr/bin/containerd", "-id", "abc", "-debug", "start"});
  REQUIRE(f.ok());
  CHECK(f->ns == "k8s.io");
  CHECK(f->address == "/run/containerd/containerd.sock");
  CHECK(f->id == "abc");
  CHECK(f->debug);
  CHECK(f->action == "start");

  f = Parse({"--namespace=default", "-id=x", "-bundle", "/b", "delete"});
  REQUIRE(f.ok());
  CHECK(f->ns == "default");
  CHECK(f->bundle == "/b");
  CHECK(f->action == "delete");

  f = Parse({"-namespace", "n", "-id", "x"});
  REQUIRE(f.ok());
  CHECK(f->action.empty());  // serve
}

TEST_CASE("shim flags: mistakes are named", "[shim]") {
  auto f = Parse({"-namespace", "n", "-frobnicate", "1", "start"});
  REQUIRE_FALSE(f.ok());
  CHECK(std::string(f.status().message()).find("-frobnicate") != std::string::npos);
  f = Parse({"-namespace"});
  REQUIRE_FALSE(f.ok());
  CHECK(std::string(f.status().message()).find("needs a value") != std::string::npos);
  f = Parse({"-namespace", "n", "restart"});
  REQUIRE_FALSE(f.ok());
  CHECK(std::string(f.status().message()).find("restart") != std::string::npos);
}

TEST_CASE("shim options: runc's options type, CRI's, and anything else refused", "[shim]") {
  berth::pb::Any any;
  CHECK(berth::shim::ParseOptions(any).ok());  // none: defaults

  containerd::runc::v1::Options o;
  o.set_binary_name("/usr/sbin/runc");
  o.set_root("/run/x");
  any.set_type_url("containerd.runc.v1.Options");
  any.set_value(o.SerializeAsString());
  auto parsed = berth::shim::ParseOptions(any);
  REQUIRE(parsed.ok());
  CHECK(parsed->binary_name() == "/usr/sbin/runc");
  CHECK(berth::shim::RuntimeRoot(*parsed, "ns") == "/run/x/ns");
  CHECK(berth::shim::RuntimeBinary(*parsed) == "/usr/sbin/runc");

  CHECK(berth::shim::RuntimeRoot(berth::shim::ShimOptions(), "default") ==
        "/run/containerd/berth/default");

  any.set_type_url("type.googleapis.com/runtimeoptions.v1.Options");
  any.set_value("");
  CHECK(berth::shim::ParseOptions(any).ok());

  any.set_type_url("example.com/Other");
  auto bad = berth::shim::ParseOptions(any);
  REQUIRE_FALSE(bad.ok());
  CHECK(std::string(bad.status().message()).find("example.com/Other") != std::string::npos);
}

TEST_CASE("metrics: runc's stats JSON as cgroup v1 metrics", "[shim]") {
  auto any = berth::shim::MetricsFromStatsJson(kStats, false);
  REQUIRE(any.ok());
  CHECK(any->type_url() == "io.containerd.cgroups.v1.Metrics");
  io::containerd::cgroups::v1::Metrics m;
  REQUIRE(m.ParseFromString(any->value()));
  CHECK(m.cpu().usage().total() == 5000);
  CHECK(m.cpu().usage().per_cpu_size() == 2);
  CHECK(m.cpu().usage().per_cpu(1) == 2000);
  CHECK(m.cpu().throttling().throttled_time() == 700);
  CHECK(m.memory().cache() == 11);
  CHECK(m.memory().rss() == 123);
  CHECK(m.memory().total_rss() == 456);
  CHECK(m.memory().usage().limit() == 1048576);
  CHECK(m.memory().usage().usage() == 4096);
  CHECK(m.memory().usage().failcnt() == 2);
  CHECK(m.pids().current() == 4);
  CHECK(m.pids().limit() == 100);
  REQUIRE(m.blkio().io_service_bytes_recursive_size() == 1);
  CHECK(m.blkio().io_service_bytes_recursive(0).op() == "Read");
  CHECK(m.blkio().io_service_bytes_recursive(0).value() == 512);
  REQUIRE(m.hugetlb_size() == 1);
  CHECK(m.hugetlb(0).pagesize() == "2MB");
}

TEST_CASE("metrics: cgroup v2 metrics in microseconds", "[shim]") {
  auto any = berth::shim::MetricsFromStatsJson(kStats, true);
  REQUIRE(any.ok());
  CHECK(any->type_url() == "io.containerd.cgroups.v2.Metrics");
  io::containerd::cgroups::v2::Metrics m;
  REQUIRE(m.ParseFromString(any->value()));
  CHECK(m.cpu().usage_usec() == 5);
  CHECK(m.cpu().user_usec() == 4);
  CHECK(m.memory().anon() == 77);
  CHECK(m.memory().usage() == 4096);
  CHECK(m.memory().usage_limit() == 1048576);
  CHECK(m.memory().swap_usage() == 1000);     // 5096 memory+swap - 4096 memory
  CHECK(m.memory().swap_limit() == 1048576);  // 2 MiB memory+swap - 1 MiB memory
  CHECK(m.pids().current() == 4);
}

TEST_CASE("metrics: output that is not a stats event is an error", "[shim]") {
  CHECK_FALSE(berth::shim::MetricsFromStatsJson("{\"type\":\"oom\"}", false).ok());
  CHECK_FALSE(berth::shim::MetricsFromStatsJson("not json", false).ok());
}
