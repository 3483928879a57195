#include "runtime/spec/parser.h"

#include <algorithm>
#include <array>
#include <memory>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "lib/errors.h"
#include "lib/json_tree.h"
#include "runtime/spec/json_read.h"
#include "runtime/spec/parse_resources.h"
#include "runtime/spec/parse_seccomp.h"

namespace berth::spec {
namespace {

using json::Value;

constexpr std::array<std::pair<std::string_view, NamespaceType>, 8> kNamespaceNames = {{
    {"pid", NamespaceType::kPid},
    {"network", NamespaceType::kNetwork},
    {"mount", NamespaceType::kMount},
    {"ipc", NamespaceType::kIpc},
    {"uts", NamespaceType::kUts},
    {"user", NamespaceType::kUser},
    {"cgroup", NamespaceType::kCgroup},
    {"time", NamespaceType::kTime},
}};

constexpr std::array<std::string_view, 8> kRootfsPropagations = {
    "private", "rprivate", "slave", "rslave", "shared", "rshared", "unbindable", "runbindable"};

// ---- Generic readers. Optional fields treat absent and null alike. ----

absl::StatusOr<std::string> AbsolutePath(const Value& v) {
  absl::StatusOr<std::string> path = v.AsString();
  if (path.ok() && !absl::StartsWith(*path, "/")) return v.Error("must be an absolute path");
  return path;
}

absl::StatusOr<std::string> RequiredAbsolutePath(const Value& v) {
  if (Absent(v)) return v.Error("is required");
  return AbsolutePath(v);
}

// Appends parse(element) for each element of an optional array.
template <typename T>
absl::Status ReadList(const Value& v, absl::StatusOr<T> (*parse)(const Value&),
                      std::vector<T>* out) {
  return ForEachElement(v, [&](const Value& e) -> absl::Status {
    BERTH_ASSIGN_OR_RETURN(T item, parse(e));
    out->push_back(std::move(item));
    return absl::OkStatus();
  });
}

absl::Status ReadAbsolutePaths(const Value& v, std::vector<std::string>* out) {
  return ReadList<std::string>(v, AbsolutePath, out);
}

absl::StatusOr<IdMapping> ParseIdMapping(const Value& v) {
  BERTH_RETURN_IF_ERROR(ExpectObject(v));
  IdMapping m;
  BERTH_ASSIGN_OR_RETURN(m.container_id, RequiredUint32(v.Get("containerID")));
  BERTH_ASSIGN_OR_RETURN(m.host_id, RequiredUint32(v.Get("hostID")));
  BERTH_ASSIGN_OR_RETURN(m.size, RequiredUint32(v.Get("size")));
  return m;
}

// ---- process ----

absl::Status ParseArgs(const Value& v, std::vector<std::string>* out) {
  auto args = v.AsStringArray();
  if (!args.ok() || args->empty()) return v.Error("must be a non-empty array of strings");
  *out = std::move(*args);
  return absl::OkStatus();
}

absl::Status ParseEnv(const Value& v, std::vector<std::string>* out) {
  BERTH_RETURN_IF_ERROR(ReadStringArray(v, out));
  for (size_t i = 0; i < out->size(); ++i) {
    if (!absl::StrContains((*out)[i], '=')) {
      return v.Elements()[i].Error("must be of the form KEY=value");
    }
  }
  return absl::OkStatus();
}

absl::Status ParseUser(const Value& v, User* user) {
  if (Absent(v)) return absl::OkStatus();
  BERTH_RETURN_IF_ERROR(ExpectObject(v));
  BERTH_RETURN_IF_ERROR(ReadUint32(v.Get("uid"), &user->uid));
  BERTH_RETURN_IF_ERROR(ReadUint32(v.Get("gid"), &user->gid));
  BERTH_RETURN_IF_ERROR(ReadUint32(v.Get("umask"), &user->umask));
  BERTH_RETURN_IF_ERROR(ForEachElement(v.Get("additionalGids"), [&](const Value& e) {
    BERTH_ASSIGN_OR_RETURN(uint32_t gid, e.AsUint32());
    user->additional_gids.push_back(gid);
    return absl::OkStatus();
  }));
  return ReadString(v.Get("username"), &user->username);
}

absl::Status ParseConsoleSize(const Value& v, std::optional<ConsoleSize>* out) {
  if (Absent(v)) return absl::OkStatus();
  BERTH_RETURN_IF_ERROR(ExpectObject(v));
  ConsoleSize size;
  BERTH_ASSIGN_OR_RETURN(size.height, RequiredUint32(v.Get("height")));
  BERTH_ASSIGN_OR_RETURN(size.width, RequiredUint32(v.Get("width")));
  *out = size;
  return absl::OkStatus();
}

absl::Status ParseCapabilities(const Value& v, std::optional<Capabilities>* out) {
  if (Absent(v)) return absl::OkStatus();
  BERTH_RETURN_IF_ERROR(ExpectObject(v));
  Capabilities caps;
  BERTH_RETURN_IF_ERROR(ReadStringArray(v.Get("bounding"), &caps.bounding));
  BERTH_RETURN_IF_ERROR(ReadStringArray(v.Get("effective"), &caps.effective));
  BERTH_RETURN_IF_ERROR(ReadStringArray(v.Get("inheritable"), &caps.inheritable));
  BERTH_RETURN_IF_ERROR(ReadStringArray(v.Get("permitted"), &caps.permitted));
  BERTH_RETURN_IF_ERROR(ReadStringArray(v.Get("ambient"), &caps.ambient));
  *out = std::move(caps);
  return absl::OkStatus();
}

absl::StatusOr<Rlimit> ParseRlimit(const Value& v) {
  BERTH_RETURN_IF_ERROR(ExpectObject(v));
  Rlimit r;
  Value type = v.Get("type");
  if (Absent(type)) return type.Error("is required");
  BERTH_ASSIGN_OR_RETURN(r.type, type.AsString());
  if (!absl::StartsWith(r.type, "RLIMIT_")) {
    return type.Error(absl::StrCat("must be an RLIMIT_* name, got \"", r.type, "\""));
  }
  BERTH_ASSIGN_OR_RETURN(r.hard, RequiredUint64(v.Get("hard")));
  BERTH_ASSIGN_OR_RETURN(r.soft, RequiredUint64(v.Get("soft")));
  return r;
}

absl::Status ParseRlimits(const Value& v, std::vector<Rlimit>* out) {
  absl::flat_hash_set<std::string> seen;
  return ForEachElement(v, [&](const Value& e) -> absl::Status {
    BERTH_ASSIGN_OR_RETURN(Rlimit r, ParseRlimit(e));
    if (!seen.insert(r.type).second) {
      return e.Error(absl::StrCat("duplicate rlimit \"", r.type, "\""));
    }
    out->push_back(std::move(r));
    return absl::OkStatus();
  });
}

absl::Status ParseProcess(const Value& v, std::optional<Process>* out) {
  if (Absent(v)) return absl::OkStatus();
  BERTH_RETURN_IF_ERROR(ExpectObject(v));
  Process p;
  BERTH_RETURN_IF_ERROR(ReadBool(v.Get("terminal"), &p.terminal));
  BERTH_RETURN_IF_ERROR(ParseConsoleSize(v.Get("consoleSize"), &p.console_size));
  BERTH_RETURN_IF_ERROR(ParseUser(v.Get("user"), &p.user));
  BERTH_RETURN_IF_ERROR(ParseArgs(v.Get("args"), &p.args));
  BERTH_RETURN_IF_ERROR(ParseEnv(v.Get("env"), &p.env));
  BERTH_ASSIGN_OR_RETURN(p.cwd, RequiredAbsolutePath(v.Get("cwd")));
  BERTH_RETURN_IF_ERROR(ParseCapabilities(v.Get("capabilities"), &p.capabilities));
  BERTH_RETURN_IF_ERROR(ParseRlimits(v.Get("rlimits"), &p.rlimits));
  BERTH_RETURN_IF_ERROR(ReadBool(v.Get("noNewPrivileges"), &p.no_new_privileges));
  BERTH_RETURN_IF_ERROR(ReadString(v.Get("apparmorProfile"), &p.apparmor_profile));
  if (Value oom = v.Get("oomScoreAdj"); !Absent(oom)) {
    BERTH_ASSIGN_OR_RETURN(p.oom_score_adj, oom.AsInt32());
  }
  BERTH_RETURN_IF_ERROR(ReadString(v.Get("selinuxLabel"), &p.selinux_label));
  if (Value sch = v.Get("scheduler"); !sch.missing() && !sch.is_null()) {
    BERTH_ASSIGN_OR_RETURN(p.scheduler, ParseScheduler(sch));
  }
  if (Value io = v.Get("ioPriority"); !io.missing() && !io.is_null()) {
    BERTH_ASSIGN_OR_RETURN(p.io_priority, ParseIoPriority(io));
  }
  *out = std::move(p);
  return absl::OkStatus();
}

// ---- root, mounts, hooks ----

absl::Status ParseRoot(const Value& v, Root* root) {
  if (Absent(v)) return v.Error("is required");
  BERTH_RETURN_IF_ERROR(ExpectObject(v));
  Value path = v.Get("path");
  auto text = path.AsString();
  if (!text.ok() || text->empty()) return path.Error("must be a non-empty string");
  root->path = std::move(*text);
  return ReadBool(v.Get("readonly"), &root->readonly);
}

absl::StatusOr<Mount> ParseMount(const Value& v) {
  BERTH_RETURN_IF_ERROR(ExpectObject(v));
  Mount m;
  BERTH_ASSIGN_OR_RETURN(m.destination, RequiredAbsolutePath(v.Get("destination")));
  BERTH_RETURN_IF_ERROR(ReadString(v.Get("type"), &m.type));
  BERTH_RETURN_IF_ERROR(ReadString(v.Get("source"), &m.source));
  BERTH_RETURN_IF_ERROR(ReadStringArray(v.Get("options"), &m.options));
  BERTH_RETURN_IF_ERROR(ReadList(v.Get("uidMappings"), ParseIdMapping, &m.uid_mappings));
  BERTH_RETURN_IF_ERROR(ReadList(v.Get("gidMappings"), ParseIdMapping, &m.gid_mappings));
  return m;
}

absl::StatusOr<Hook> ParseHook(const Value& v) {
  BERTH_RETURN_IF_ERROR(ExpectObject(v));
  Hook h;
  BERTH_ASSIGN_OR_RETURN(h.path, RequiredAbsolutePath(v.Get("path")));
  BERTH_RETURN_IF_ERROR(ReadStringArray(v.Get("args"), &h.args));
  if (Value env = v.Get("env"); !Absent(env)) {
    BERTH_RETURN_IF_ERROR(ReadStringArray(env, &h.env.emplace()));
  }
  if (Value timeout = v.Get("timeout"); !Absent(timeout)) {
    auto seconds = timeout.AsInt32();
    if (!seconds.ok() || *seconds <= 0) return timeout.Error("must be a positive integer");
    h.timeout = *seconds;
  }
  return h;
}

absl::Status ParseHooks(const Value& v, Hooks* hooks) {
  if (Absent(v)) return absl::OkStatus();
  BERTH_RETURN_IF_ERROR(ExpectObject(v));
  const std::pair<const char*, std::vector<Hook>*> kinds[] = {
      {"prestart", &hooks->prestart},
      {"createRuntime", &hooks->create_runtime},
      {"createContainer", &hooks->create_container},
      {"startContainer", &hooks->start_container},
      {"poststart", &hooks->poststart},
      {"poststop", &hooks->poststop},
  };
  for (const auto& [name, list] : kinds) {
    BERTH_RETURN_IF_ERROR(ReadList(v.Get(name), ParseHook, list));
  }
  return absl::OkStatus();
}

// ---- linux ----

absl::StatusOr<Namespace> ParseNamespace(const Value& v) {
  BERTH_RETURN_IF_ERROR(ExpectObject(v));
  Value type = v.Get("type");
  if (Absent(type)) return type.Error("is required");
  BERTH_ASSIGN_OR_RETURN(std::string name, type.AsString());
  std::optional<NamespaceType> t = ParseNamespaceType(name);
  if (!t) return type.Error(absl::StrCat("unknown namespace type \"", name, "\""));
  Namespace ns{*t, ""};
  // An empty path means "create a new namespace", like an absent one.
  Value path = v.Get("path");
  BERTH_RETURN_IF_ERROR(ReadString(path, &ns.path));
  if (!ns.path.empty() && !absl::StartsWith(ns.path, "/")) {
    return path.Error("must be an absolute path");
  }
  return ns;
}

absl::Status ParseNamespaces(const Value& v, std::vector<Namespace>* out) {
  absl::flat_hash_set<NamespaceType> seen;
  return ForEachElement(v, [&](const Value& e) -> absl::Status {
    BERTH_ASSIGN_OR_RETURN(Namespace ns, ParseNamespace(e));
    if (!seen.insert(ns.type).second) {
      return e.Error(absl::StrCat("duplicate namespace \"", NamespaceTypeName(ns.type), "\""));
    }
    out->push_back(std::move(ns));
    return absl::OkStatus();
  });
}

absl::Status ParseDeviceNumber(const Value& v, char type, int64_t* out) {
  if (Absent(v)) {
    if (type == 'p') return absl::OkStatus();  // FIFOs have no device number
    return v.Error(absl::StrCat("is required for type \"", std::string(1, type), "\""));
  }
  BERTH_ASSIGN_OR_RETURN(*out, v.AsInt64());
  return absl::OkStatus();
}

absl::StatusOr<Device> ParseDevice(const Value& v) {
  BERTH_RETURN_IF_ERROR(ExpectObject(v));
  Device d;
  BERTH_ASSIGN_OR_RETURN(d.path, RequiredAbsolutePath(v.Get("path")));
  Value type = v.Get("type");
  auto t = type.AsString();
  if (!t.ok() || t->size() != 1 || !absl::StrContains("cbup", (*t)[0])) {
    return type.Error("must be one of c, b, u, p");
  }
  d.type = (*t)[0];
  BERTH_RETURN_IF_ERROR(ParseDeviceNumber(v.Get("major"), d.type, &d.major));
  BERTH_RETURN_IF_ERROR(ParseDeviceNumber(v.Get("minor"), d.type, &d.minor));
  BERTH_RETURN_IF_ERROR(ReadUint32(v.Get("fileMode"), &d.file_mode));
  BERTH_RETURN_IF_ERROR(ReadUint32(v.Get("uid"), &d.uid));
  BERTH_RETURN_IF_ERROR(ReadUint32(v.Get("gid"), &d.gid));
  return d;
}

absl::Status ParseRootfsPropagation(const Value& v, std::string* out) {
  BERTH_RETURN_IF_ERROR(ReadString(v, out));
  if (out->empty()) return absl::OkStatus();
  if (std::find(kRootfsPropagations.begin(), kRootfsPropagations.end(), *out) ==
      kRootfsPropagations.end()) {
    return v.Error(
        "must be one of private, rprivate, slave, rslave, shared, rshared, unbindable, "
        "runbindable");
  }
  return absl::OkStatus();
}

absl::Status ParseLinux(const Value& v, Linux* lx) {
  if (Absent(v)) return absl::OkStatus();
  BERTH_RETURN_IF_ERROR(ExpectObject(v));
  BERTH_RETURN_IF_ERROR(ParseNamespaces(v.Get("namespaces"), &lx->namespaces));
  BERTH_RETURN_IF_ERROR(ReadList(v.Get("uidMappings"), ParseIdMapping, &lx->uid_mappings));
  BERTH_RETURN_IF_ERROR(ReadList(v.Get("gidMappings"), ParseIdMapping, &lx->gid_mappings));
  BERTH_RETURN_IF_ERROR(ReadList(v.Get("devices"), ParseDevice, &lx->devices));
  BERTH_RETURN_IF_ERROR(ReadString(v.Get("cgroupsPath"), &lx->cgroups_path));
  BERTH_RETURN_IF_ERROR(ParseResources(v.Get("resources"), &lx->resources));
  BERTH_RETURN_IF_ERROR(
      ParseRootfsPropagation(v.Get("rootfsPropagation"), &lx->rootfs_propagation));
  BERTH_RETURN_IF_ERROR(ReadAbsolutePaths(v.Get("maskedPaths"), &lx->masked_paths));
  BERTH_RETURN_IF_ERROR(ReadAbsolutePaths(v.Get("readonlyPaths"), &lx->readonly_paths));
  BERTH_RETURN_IF_ERROR(ReadString(v.Get("mountLabel"), &lx->mount_label));
  if (Value pers = v.Get("personality"); !pers.missing() && !pers.is_null()) {
    BERTH_ASSIGN_OR_RETURN(lx->personality, ParsePersonality(pers));
  }
  if (Value t = v.Get("timeOffsets"); !t.missing() && !t.is_null()) {
    BERTH_ASSIGN_OR_RETURN(lx->time_offsets, ParseTimeOffsets(t));
  }
  if (Value m = v.Get("memoryPolicy"); !Absent(m)) {
    BERTH_ASSIGN_OR_RETURN(lx->memory_policy, ParseMemoryPolicy(m));
  }
  lx->intel_rdt = !Absent(v.Get("intelRdt"));
  if (Value nd = v.Get("netDevices"); !Absent(nd)) {
    if (!nd.is_object()) return nd.Error("must be an object");
    lx->net_devices = !nd.Members().empty();
  }
  if (Value seccomp = v.Get("seccomp"); !Absent(seccomp)) {
    BERTH_ASSIGN_OR_RETURN(lx->seccomp, ParseSeccomp(seccomp));
  }
  return ReadStringMap(v.Get("sysctl"), &lx->sysctl);
}

// ---- top level ----

absl::Status ParseOciVersion(const Value& v, std::string* out) {
  if (Absent(v)) return v.Error("is required");
  BERTH_ASSIGN_OR_RETURN(*out, v.AsString());
  if (!IsSupportedOciVersion(*out)) {
    return v.Error(
        absl::StrCat("unsupported version \"", *out, "\" (berth supports 1.0.0 to 1.2.x)"));
  }
  return absl::OkStatus();
}

// A decimal version component: digits only (SimpleAtoi alone would accept
// signs and spaces).
bool ParseVersionNumber(absl::string_view s, int* out) {
  return !s.empty() && std::all_of(s.begin(), s.end(), absl::ascii_isdigit) &&
         absl::SimpleAtoi(s, out);
}

}  // namespace

bool IsSupportedOciVersion(std::string_view version) {
  // Pre-release and build suffixes ("-dev", "-rc.1", "+abc") do not matter.
  absl::string_view core(version.data(), std::min(version.size(), version.find_first_of("-+")));
  std::vector<absl::string_view> parts = absl::StrSplit(core, '.');
  int major = 0, minor = 0, patch = 0;
  if (parts.size() != 3 || !ParseVersionNumber(parts[0], &major) ||
      !ParseVersionNumber(parts[1], &minor) || !ParseVersionNumber(parts[2], &patch)) {
    return false;
  }
  return major == 1 && minor <= 2;
}

std::optional<NamespaceType> ParseNamespaceType(std::string_view name) {
  for (const auto& [n, type] : kNamespaceNames) {
    if (n == name) return type;
  }
  return std::nullopt;
}

absl::StatusOr<Spec> ParseSpec(std::string_view json) {
  BERTH_ASSIGN_OR_RETURN(
      std::unique_ptr<json::Document> doc,
      json::Document::Parse(absl::string_view(json.data(), json.size()), "config.json"));
  Value top = doc->root();
  if (!top.is_object()) return top.Error("must be a JSON object");
  Spec spec;
  BERTH_RETURN_IF_ERROR(ParseOciVersion(top.Get("ociVersion"), &spec.oci_version));
  BERTH_RETURN_IF_ERROR(ParseRoot(top.Get("root"), &spec.root));
  BERTH_RETURN_IF_ERROR(ParseProcess(top.Get("process"), &spec.process));
  BERTH_RETURN_IF_ERROR(ReadString(top.Get("hostname"), &spec.hostname));
  BERTH_RETURN_IF_ERROR(ReadString(top.Get("domainname"), &spec.domainname));
  BERTH_RETURN_IF_ERROR(ReadList(top.Get("mounts"), ParseMount, &spec.mounts));
  BERTH_RETURN_IF_ERROR(ParseHooks(top.Get("hooks"), &spec.hooks));
  BERTH_RETURN_IF_ERROR(ReadStringMap(top.Get("annotations"), &spec.annotations));
  BERTH_RETURN_IF_ERROR(ParseLinux(top.Get("linux"), &spec.linux_cfg));
  return spec;
}

absl::StatusOr<Process> ParseProcessJson(std::string_view json) {
  BERTH_ASSIGN_OR_RETURN(
      std::unique_ptr<json::Document> doc,
      json::Document::Parse(absl::string_view(json.data(), json.size()), "process.json"));
  Value top = doc->root();
  if (!top.is_object()) return top.Error("must be a JSON object");
  std::optional<Process> p;
  BERTH_RETURN_IF_ERROR(ParseProcess(top, &p));
  return *std::move(p);
}

}  // namespace berth::spec
