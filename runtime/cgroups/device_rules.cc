#include "runtime/cgroups/device_rules.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace berth::cgroups {
namespace {

constexpr char kDefaults[] = "default device rules";

DeviceCgroupRule Allow(char type, std::optional<int64_t> major, std::optional<int64_t> minor,
                       const char* access = "rwm") {
  return {true, type, major, minor, access, kDefaults};
}

// runtime-spec config-linux.md "Default Devices" plus what a shell needs:
// mknod of anything (creating a node grants no access), /dev/console, the
// pty multiplexer and slaves, and /dev/net/tun.
std::vector<DeviceCgroupRule> DefaultRules() {
  return {
      Allow('c', std::nullopt, std::nullopt, "m"),
      Allow('b', std::nullopt, std::nullopt, "m"),
      Allow('c', 1, 3),               // /dev/null
      Allow('c', 1, 5),               // /dev/zero
      Allow('c', 1, 7),               // /dev/full
      Allow('c', 1, 8),               // /dev/random
      Allow('c', 1, 9),               // /dev/urandom
      Allow('c', 5, 0),               // /dev/tty
      Allow('c', 5, 1),               // /dev/console
      Allow('c', 5, 2),               // /dev/ptmx
      Allow('c', 136, std::nullopt),  // /dev/pts/*
      Allow('c', 10, 200),            // /dev/net/tun
  };
}

bool TypeMatches(char rule, char type) { return rule == 'a' || rule == type; }

bool Covers(absl::string_view granted, absl::string_view wanted) {
  for (char c : wanted) {
    if (!absl::StrContains(granted, c)) return false;
  }
  return true;
}

bool Overlaps(absl::string_view a, absl::string_view b) {
  for (char c : b) {
    if (absl::StrContains(a, c)) return true;
  }
  return false;
}

}  // namespace

std::vector<DeviceCgroupRule> EffectiveDeviceRules(const std::vector<spec::DeviceRule>& config,
                                                   const std::vector<spec::Device>& devices) {
  std::vector<DeviceCgroupRule> out;
  out.push_back({false, 'a', std::nullopt, std::nullopt, "rwm", kDefaults});
  for (size_t i = 0; i < config.size(); ++i) {
    const spec::DeviceRule& r = config[i];
    out.push_back({r.allow, r.type, r.major, r.minor, r.access,
                   absl::StrCat("linux.resources.devices[", i, "]")});
  }
  for (DeviceCgroupRule& r : DefaultRules()) out.push_back(std::move(r));
  for (size_t i = 0; i < devices.size(); ++i) {
    const spec::Device& d = devices[i];
    if (d.type == 'p') continue;  // a FIFO is not a device to the cgroup
    char type = d.type == 'b' ? 'b' : 'c';
    out.push_back({true, type, d.major, d.minor, "rwm", absl::StrCat("linux.devices[", i, "]")});
  }
  return out;
}

std::string RenderV1DeviceRule(const DeviceCgroupRule& rule) {
  auto number = [](const std::optional<int64_t>& n) {
    return n ? absl::StrCat(*n) : std::string("*");
  };
  return absl::StrCat(std::string(1, rule.type), " ", number(rule.major), ":", number(rule.minor),
                      " ", rule.access);
}

std::vector<FileWrite> RenderV1Devices(const std::vector<DeviceCgroupRule>& rules) {
  std::vector<FileWrite> out;
  auto add = [&](const DeviceCgroupRule& r) {
    out.push_back({"devices",
                   {{r.allow ? "devices.allow" : "devices.deny", RenderV1DeviceRule(r)}},
                   r.source});
  };
  for (const DeviceCgroupRule& r : rules) {
    // The kernel reads any "a" line as "everything, all rights"; a narrower
    // rule on all types must be spelled once per type.
    bool everything = !r.major && !r.minor && Covers(r.access, "rwm");
    if (r.type != 'a' || everything) {
      add(r);
      continue;
    }
    for (char type : {'c', 'b'}) {
      DeviceCgroupRule one = r;
      one.type = type;
      add(one);
    }
  }
  return out;
}

bool DeviceAllowed(const std::vector<DeviceCgroupRule>& rules, char type, int64_t major,
                   int64_t minor, absl::string_view access) {
  for (auto it = rules.rbegin(); it != rules.rend(); ++it) {
    const DeviceCgroupRule& r = *it;
    if (!TypeMatches(r.type, type)) continue;
    if (r.major && *r.major != major) continue;
    if (r.minor && *r.minor != minor) continue;
    if (r.allow && Covers(r.access, access)) return true;
    if (!r.allow && Overlaps(r.access, access)) return false;
  }
  return false;
}

}  // namespace berth::cgroups
