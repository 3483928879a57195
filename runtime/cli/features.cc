#include "runtime/cli/features.h"

#include <seccomp.h>
#include <sys/capability.h>

#include <algorithm>
#include <string_view>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "lib/json_writer.h"
#include "lib/mount_options.h"
#include "runtime/linux/seccomp_filter.h"
#include "runtime/spec/seccomp.h"

namespace berth::cli {
namespace {

using spec::SeccompFlag;

// runtime/spec/parser.cc: IsSupportedOciVersion takes 1.0.0 to 1.2.x.
constexpr char kOciVersionMin[] = "1.0.0";
constexpr char kOciVersionMax[] = "1.2.0";

// The hooks ParseHooks reads, in the order they run.
constexpr std::string_view kHooks[] = {"prestart",       "createRuntime", "createContainer",
                                       "startContainer", "poststart",     "poststop"};

// Every type ParseNamespaceType knows (checked by the unit test).
constexpr std::string_view kNamespaces[] = {"cgroup", "ipc",  "mount", "network",
                                            "pid",    "user", "uts",   "time"};

// Enumerates a seccomp name table through its *Name function: the enums
// are dense from 0 and the name of a value past the end is "?". Sorted, as
// runc prints them.
template <typename E>
std::vector<std::string> SeccompNames(const char* (*name_of)(E)) {
  std::vector<std::string> out;
  for (int i = 0; i < 256; ++i) {
    std::string_view name = name_of(static_cast<E>(i));
    if (name == "?") break;
    out.emplace_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Mount options the table knows and runtime/linux/mounts.cc applies:
// "idmap" and "ridmap" parse but are refused at mount time.
std::vector<std::string> MountOptionNames() {
  std::vector<std::string> out;
  for (std::string_view name : KnownMountOptions()) {
    MountOptions o = ParseMountOptions({std::string(name)});
    if (o.idmap || o.recursive_idmap) continue;
    out.emplace_back(name);
  }
  return out;
}

JsonWriter& Strings(JsonWriter& w, absl::string_view key, const auto& names) {
  w.Key(key).BeginArray();
  for (const auto& n : names) w.String(absl::string_view(n.data(), n.size()));
  return w.EndArray();
}

JsonWriter& Enabled(JsonWriter& w, absl::string_view key, bool enabled) {
  return w.Key(key).BeginObject().Key("enabled").Bool(enabled).EndObject();
}

}  // namespace

std::string BuildFeaturesJson(const FeaturesInput& in) {
  JsonWriter w("    ");
  w.BeginObject();
  w.Key("ociVersionMin").String(kOciVersionMin);
  w.Key("ociVersionMax").String(kOciVersionMax);
  Strings(w, "hooks", kHooks);
  Strings(w, "mountOptions", MountOptionNames());

  w.Key("linux").BeginObject();
  Strings(w, "namespaces", kNamespaces);
  Strings(w, "capabilities", in.capabilities);
  w.Key("cgroup").BeginObject();
  w.Key("v1").Bool(true);
  w.Key("v2").Bool(true);
  w.Key("systemd").Bool(true);
  w.Key("systemdUser").Bool(true);
  w.Key("rdma").Bool(true);
  w.EndObject();

  w.Key("seccomp").BeginObject();
  // The spec's "enabled" is the runtime's implementation (berth is always
  // built with libseccomp), not the host kernel's; supportedFlags is the
  // host-dependent part.
  w.Key("enabled").Bool(true);
  Strings(w, "actions", SeccompNames(spec::SeccompActionName));
  Strings(w, "operators", SeccompNames(spec::SeccompOpName));
  Strings(w, "archs", SeccompNames(spec::SeccompArchName));
  Strings(w, "knownFlags", SeccompNames(spec::SeccompFlagName));
  Strings(w, "supportedFlags", in.seccomp_supported_flags);
  w.EndObject();

  // Likewise implementation status, "irrelevant to the availability ... on
  // the host" (features-linux.md), as runc reports it: berth applies
  // apparmorProfile and selinuxLabel, and refuses them with a clear error
  // (ValidateLsm) on a host without that LSM.
  Enabled(w, "apparmor", true);
  Enabled(w, "selinux", true);
  Enabled(w, "intelRdt", false);
  // runtime-spec 1.3: linux.memoryPolicy, applied with set_mempolicy(2).
  w.Key("memoryPolicy").BeginObject();
  Strings(w, "modes",
          std::vector<std::string>{"MPOL_DEFAULT", "MPOL_BIND", "MPOL_INTERLEAVE",
                                   "MPOL_WEIGHTED_INTERLEAVE", "MPOL_PREFERRED",
                                   "MPOL_PREFERRED_MANY", "MPOL_LOCAL"});
  Strings(w, "flags",
          std::vector<std::string>{"MPOL_F_NUMA_BALANCING", "MPOL_F_RELATIVE_NODES",
                                   "MPOL_F_STATIC_NODES"});
  w.EndObject();
  // containerd reads this before giving mounts uidMappings/gidMappings.
  w.Key("mountExtensions").BeginObject();
  Enabled(w, "idmap", false);
  w.EndObject();
  w.EndObject();  // linux

  w.Key("annotations").BeginObject();
  w.Key("io.github.berth.version").String(in.version);
  if (!in.libseccomp_version.empty()) {
    w.Key("io.github.seccomp.libseccomp.version").String(in.libseccomp_version);
  }
  w.Key("org.opencontainers.runc.checkpoint.enabled").String("false");
  w.EndObject();
  w.EndObject();
  return w.Take();
}

std::vector<std::string> KnownCapabilityNames() {
  std::vector<std::string> out;
  // Past libcap's table cap_to_name prints the number instead of a name.
  for (cap_value_t v = 0; v < 256; ++v) {
    char* name = cap_to_name(v);
    if (name == nullptr) break;
    bool known = absl::StartsWith(name, "cap_");
    if (known) out.push_back(absl::AsciiStrToUpper(name));
    cap_free(name);
    if (!known) break;
  }
  return out;
}

std::vector<std::string> SupportedSeccompFlags() {
  std::vector<std::string> out;
  for (int i = 0; i < 256; ++i) {
    auto flag = static_cast<SeccompFlag>(i);
    std::string_view name = spec::SeccompFlagName(flag);
    if (name == "?") break;
    if (linux_ns::KernelSupports(flag)) out.emplace_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

FeaturesInput ProbeFeaturesInput(absl::string_view version) {
  FeaturesInput in;
  in.version = std::string(version);
  if (const scmp_version* v = seccomp_version()) {
    in.libseccomp_version = absl::StrCat(v->major, ".", v->minor, ".", v->micro);
  }
  in.capabilities = KnownCapabilityNames();
  in.seccomp_supported_flags = SupportedSeccompFlags();
  return in;
}

}  // namespace berth::cli
