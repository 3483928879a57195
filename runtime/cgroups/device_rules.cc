#include "runtime/cgroups/device_rules.h"

#include <algorithm>

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

std::vector<DeviceCgroupRule> EffectiveDeviceRules(const std::vector<spec::DeviceRule>& config) {
  std::vector<DeviceCgroupRule> out;
  out.push_back({false, 'a', std::nullopt, std::nullopt, "rwm", kDefaults});
  for (size_t i = 0; i < config.size(); ++i) {
    const spec::DeviceRule& r = config[i];
    out.push_back({r.allow, r.type, r.major, r.minor, r.access,
                   absl::StrCat("linux.resources.devices[", i, "]")});
  }
  for (DeviceCgroupRule& r : DefaultRules()) out.push_back(std::move(r));
  return out;
}

std::string RenderV1DeviceRule(const DeviceCgroupRule& rule) {
  auto number = [](const std::optional<int64_t>& n) {
    return n ? absl::StrCat(*n) : std::string("*");
  };
  return absl::StrCat(std::string(1, rule.type), " ", number(rule.major), ":", number(rule.minor),
                      " ", rule.access);
}

namespace {

bool Everything(const DeviceCgroupRule& r) {
  return r.type == 'a' && !r.major && !r.minor && Covers(r.access, "rwm");
}

// Whether every device `inner` matches is matched by `outer` (same type).
bool Contains(const DeviceCgroupRule& outer, const DeviceCgroupRule& inner) {
  return (!outer.major || outer.major == inner.major) &&
         (!outer.minor || outer.minor == inner.minor);
}

bool Intersects(const DeviceCgroupRule& a, const DeviceCgroupRule& b) {
  return a.type == b.type && (!a.major || !b.major || a.major == b.major) &&
         (!a.minor || !b.minor || a.minor == b.minor);
}

std::string Without(absl::string_view access, absl::string_view taken) {
  std::string out;
  for (char c : access) {
    if (!absl::StrContains(taken, c)) out.push_back(c);
  }
  return out;
}

// A rule on "a" types with a narrower match or access, once per type.
std::vector<DeviceCgroupRule> PerType(const DeviceCgroupRule& r) {
  if (r.type != 'a') return {r};
  DeviceCgroupRule c = r, b = r;
  c.type = 'c';
  b.type = 'b';
  return {c, b};
}

}  // namespace

// The v1 kernel keeps a default (allow or deny everything) and a list of
// exceptions; a rule that agrees with the default only takes rights from an
// exception with exactly its pattern. Writing the rules one by one would
// then not give "the last match wins" (a later "deny c *:* rwm" would leave
// an earlier "allow c 1:3" in force). So the rules are run here, as the
// eBPF program decides, into the default and the exceptions they leave,
// and only those are written.
absl::StatusOr<std::vector<FileWrite>> RenderV1Devices(const std::vector<DeviceCgroupRule>& rules) {
  bool default_allow = false;
  std::string default_source = kDefaults;
  std::vector<DeviceCgroupRule> exceptions;
  for (const DeviceCgroupRule& rule : rules) {
    if (Everything(rule)) {
      default_allow = rule.allow;
      default_source = rule.source;
      exceptions.clear();
      continue;
    }
    for (const DeviceCgroupRule& r : PerType(rule)) {
      if (r.allow != default_allow) {
        auto same = std::find_if(exceptions.begin(), exceptions.end(), [&](const auto& e) {
          return e.type == r.type && e.major == r.major && e.minor == r.minor;
        });
        if (same == exceptions.end()) {
          exceptions.push_back(r);
        } else {
          same->access = absl::StrCat(same->access, Without(r.access, same->access));
        }
        continue;
      }
      for (auto it = exceptions.begin(); it != exceptions.end();) {
        if (!Intersects(r, *it) || !Overlaps(it->access, r.access)) {
          ++it;
          continue;
        }
        if (!Contains(r, *it)) {
          return absl::InvalidArgumentError(absl::StrCat(
              r.source, ": \"", RenderV1DeviceRule(r), "\" takes rights from part of \"",
              RenderV1DeviceRule(*it), "\" (", it->source,
              "), which the v1 devices cgroup cannot express; split the earlier rule"));
        }
        it->access = Without(it->access, r.access);
        it = it->access.empty() ? exceptions.erase(it) : it + 1;
      }
    }
  }
  std::vector<FileWrite> out;
  const char* default_file = default_allow ? "devices.allow" : "devices.deny";
  const char* exception_file = default_allow ? "devices.deny" : "devices.allow";
  out.push_back({"devices", {{default_file, "a *:* rwm"}}, default_source});
  for (const DeviceCgroupRule& e : exceptions) {
    out.push_back({"devices", {{exception_file, RenderV1DeviceRule(e)}}, e.source});
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
