#include "supervisor/daemon/spec_builder.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <sys/prctl.h>

#include <algorithm>
#include <cmath>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "lib/errors.h"
#include "runtime/spec/default_spec.h"
#include "runtime/spec/parser.h"
#include "supervisor/daemon/default_seccomp.h"

namespace berth::supervisor {
namespace {

using google::protobuf::ListValue;
using google::protobuf::Struct;
using google::protobuf::Value;

// docker's default capability set (moby's oci/caps/defaults.go).
const char* const kDefaultCaps[] = {
    "CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
    "CAP_MKNOD",   "CAP_NET_RAW",      "CAP_SETGID",           "CAP_SETUID",
    "CAP_SETFCAP", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
    "CAP_KILL",    "CAP_AUDIT_WRITE"};

// Every capability this kernel generation knows (for --privileged and ALL),
// in the order of their numbers.
const char* const kAllCaps[] = {"CAP_CHOWN",
                                "CAP_DAC_OVERRIDE",
                                "CAP_DAC_READ_SEARCH",
                                "CAP_FOWNER",
                                "CAP_FSETID",
                                "CAP_KILL",
                                "CAP_SETGID",
                                "CAP_SETUID",
                                "CAP_SETPCAP",
                                "CAP_LINUX_IMMUTABLE",
                                "CAP_NET_BIND_SERVICE",
                                "CAP_NET_BROADCAST",
                                "CAP_NET_ADMIN",
                                "CAP_NET_RAW",
                                "CAP_IPC_LOCK",
                                "CAP_IPC_OWNER",
                                "CAP_SYS_MODULE",
                                "CAP_SYS_RAWIO",
                                "CAP_SYS_CHROOT",
                                "CAP_SYS_PTRACE",
                                "CAP_SYS_PACCT",
                                "CAP_SYS_ADMIN",
                                "CAP_SYS_BOOT",
                                "CAP_SYS_NICE",
                                "CAP_SYS_RESOURCE",
                                "CAP_SYS_TIME",
                                "CAP_SYS_TTY_CONFIG",
                                "CAP_MKNOD",
                                "CAP_LEASE",
                                "CAP_AUDIT_WRITE",
                                "CAP_AUDIT_CONTROL",
                                "CAP_SETFCAP",
                                "CAP_MAC_OVERRIDE",
                                "CAP_MAC_ADMIN",
                                "CAP_SYSLOG",
                                "CAP_WAKE_ALARM",
                                "CAP_BLOCK_SUSPEND",
                                "CAP_AUDIT_READ",
                                "CAP_PERFMON",
                                "CAP_BPF",
                                "CAP_CHECKPOINT_RESTORE"};

// --privileged and ALL mean every capability berthd itself may grant (its
// bounding set), as docker's do: a VM without CAP_SYS_RESOURCE cannot give it.
std::vector<std::string> GrantableCaps() {
  std::vector<std::string> caps;
  for (size_t i = 0; i < std::size(kAllCaps); ++i) {
    if (prctl(PR_CAPBSET_READ, static_cast<unsigned long>(i), 0, 0, 0) > 0)
      caps.push_back(kAllCaps[i]);
  }
  return caps;
}

absl::StatusOr<Struct> ToStruct(const std::string& json, absl::string_view what) {
  Struct s;
  auto st = google::protobuf::util::JsonStringToMessage(json, &s);
  if (!st.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": not a JSON object: ", st.message().as_string()));
  }
  return s;
}

absl::StatusOr<std::string> ToJson(const google::protobuf::Message& m) {
  std::string out;
  google::protobuf::util::JsonPrintOptions o;
  o.preserve_proto_field_names = true;
  auto st = google::protobuf::util::MessageToJsonString(m, &out, o);
  if (!st.ok()) return absl::InternalError(absl::StrCat("render spec: ", st.message().as_string()));
  return out;
}

Struct* Obj(Struct* parent, const std::string& key) {
  return (*parent->mutable_fields())[key].mutable_struct_value();
}

void SetNumber(Struct* s, const std::string& key, double v) {
  (*s->mutable_fields())[key].set_number_value(v);
}

ListValue Strings(const std::vector<std::string>& v) {
  ListValue l;
  for (const std::string& s : v) l.add_values()->set_string_value(s);
  return l;
}

std::vector<std::string> StringsOf(const Value& v) {
  std::vector<std::string> out;
  for (const Value& e : v.list_value().values()) out.push_back(e.string_value());
  return out;
}

std::string CapName(std::string c) {
  c = absl::AsciiStrToUpper(c);
  return absl::StartsWith(c, "CAP_") || c == "ALL" ? c : "CAP_" + c;
}

// uid[:gid], numeric (names need the image's /etc/passwd: the image issue).
absl::Status ApplyUser(Struct* process, const std::string& user, absl::string_view field) {
  if (user.empty()) return absl::OkStatus();
  std::vector<std::string> parts = absl::StrSplit(user, ':');
  uint32_t uid = 0, gid = 0;
  if (parts.size() > 2 || !absl::SimpleAtoi(parts[0], &uid) ||
      (parts.size() == 2 && !absl::SimpleAtoi(parts[1], &gid))) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": \"", user, "\" is not UID[:GID] (numeric ids only, for now)"));
  }
  Struct* u = Obj(process, "user");
  u->clear_fields();
  SetNumber(u, "uid", uid);
  SetNumber(u, "gid", parts.size() == 2 ? gid : uid == 0 ? 0 : gid);
  return absl::OkStatus();
}

// Adds KEY=VALUE entries, replacing the ones with the same KEY.
std::vector<std::string> MergeEnv(std::vector<std::string> base,
                                  const std::vector<std::string>& add) {
  for (const std::string& kv : add) {
    std::string key = kv.substr(0, kv.find('='));
    std::erase_if(base, [&](const std::string& b) { return b.substr(0, b.find('=')) == key; });
    base.push_back(kv);
  }
  return base;
}

absl::Status CheckEnv(const google::protobuf::RepeatedPtrField<std::string>& env) {
  for (int i = 0; i < env.size(); ++i) {
    if (env[i].empty() || env[i][0] == '=' || env[i].find('=') == std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("process.env[", i, "]: \"", env[i], "\" is not KEY=VALUE"));
    }
  }
  return absl::OkStatus();
}

absl::Status Validate(const std::string& json) {
  absl::StatusOr<spec::Spec> parsed = spec::ParseSpec(json);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("spec: ", parsed.status().message()));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> BuildSpec(const v1::ProcessConfig& p, const std::string& ns,
                                      const std::string& id, bool read_only) {
  if (p.args().empty()) return absl::InvalidArgumentError("process.args: no command given");
  BERTH_RETURN_IF_ERROR(CheckEnv(p.env()));
  BERTH_ASSIGN_OR_RETURN(Struct spec, ToStruct(spec::DefaultSpecJson(false, 0, 0), "default spec"));
  Struct* process = Obj(&spec, "process");
  (*process->mutable_fields())["args"].mutable_list_value()->CopyFrom(
      Strings({p.args().begin(), p.args().end()}));
  std::vector<std::string> env = StringsOf(process->fields().at("env"));
  if (!p.terminal())
    std::erase_if(env, [](const std::string& e) { return absl::StartsWith(e, "TERM="); });
  env = MergeEnv(env, {p.env().begin(), p.env().end()});
  (*process->mutable_fields())["env"].mutable_list_value()->CopyFrom(Strings(env));
  (*process->mutable_fields())["terminal"].set_bool_value(p.terminal());
  (*process->mutable_fields())["noNewPrivileges"].set_bool_value(false);
  if (!p.cwd().empty()) {
    if (p.cwd()[0] != '/') {
      return absl::InvalidArgumentError(
          absl::StrCat("process.cwd: \"", p.cwd(), "\" is not absolute"));
    }
    (*process->mutable_fields())["cwd"].set_string_value(p.cwd());
  }
  BERTH_RETURN_IF_ERROR(ApplyUser(process, p.user(), "process.user"));

  // Capabilities as docker computes them: --cap-add ALL is everything but
  // the drops; --cap-drop ALL is exactly the adds; otherwise the defaults
  // plus the adds minus the drops.
  std::vector<std::string> add, drop;
  for (const std::string& c : p.cap_add()) add.push_back(CapName(c));
  for (const std::string& c : p.cap_drop()) drop.push_back(CapName(c));
  auto has = [](const std::vector<std::string>& v, const std::string& c) {
    return std::find(v.begin(), v.end(), c) != v.end();
  };
  std::vector<std::string> caps;
  if (p.privileged() || has(add, "ALL")) {
    caps = GrantableCaps();
  } else if (!has(drop, "ALL")) {
    caps.assign(std::begin(kDefaultCaps), std::end(kDefaultCaps));
  }
  if (!has(add, "ALL")) {
    for (const std::string& c : add) {
      if (!has(caps, c)) caps.push_back(c);
    }
  }
  if (!has(drop, "ALL")) {
    for (const std::string& c : drop) std::erase(caps, c);
  }
  Struct* capabilities = Obj(process, "capabilities");
  capabilities->clear_fields();
  for (const char* set : {"bounding", "effective", "permitted"}) {
    (*capabilities->mutable_fields())[set].mutable_list_value()->CopyFrom(Strings(caps));
  }

  Struct* root = Obj(&spec, "root");
  (*root->mutable_fields())["path"].set_string_value("rootfs");
  (*root->mutable_fields())["readonly"].set_bool_value(read_only);
  (*spec.mutable_fields())["hostname"].set_string_value(p.hostname().empty() ? id.substr(0, 12)
                                                                             : p.hostname());
  Struct* linux = Obj(&spec, "linux");
  (*linux->mutable_fields())["cgroupsPath"].set_string_value(absl::StrCat("/berth/", ns, "/", id));
  if (p.privileged()) {
    linux->mutable_fields()->erase("maskedPaths");
    linux->mutable_fields()->erase("readonlyPaths");
  } else {
    *(*linux->mutable_fields())["seccomp"].mutable_struct_value() = DefaultSeccomp(caps);
  }
  Struct* resources = Obj(linux, "resources");
  if (p.memory_bytes() < 0) return absl::InvalidArgumentError("process.memory_bytes: negative");
  if (p.memory_bytes() > 0)
    SetNumber(Obj(resources, "memory"), "limit", static_cast<double>(p.memory_bytes()));
  if (p.cpus() < 0) return absl::InvalidArgumentError("process.cpus: negative");
  if (p.cpus() > 0) {
    constexpr double kPeriod = 100000;  // docker's --cpus: quota over a 100 ms period
    Struct* cpu = Obj(resources, "cpu");
    SetNumber(cpu, "period", kPeriod);
    SetNumber(cpu, "quota", std::round(p.cpus() * kPeriod));
  }
  if (p.pids_limit() < 0) return absl::InvalidArgumentError("process.pids_limit: negative");
  if (p.pids_limit() > 0)
    SetNumber(Obj(resources, "pids"), "limit", static_cast<double>(p.pids_limit()));
  BERTH_ASSIGN_OR_RETURN(std::string json, ToJson(spec));
  BERTH_RETURN_IF_ERROR(Validate(json));
  return json;
}

absl::StatusOr<std::string> NormaliseSpec(const std::string& spec_json, bool read_only) {
  BERTH_RETURN_IF_ERROR(Validate(spec_json));
  BERTH_ASSIGN_OR_RETURN(Struct spec, ToStruct(spec_json, "spec_json"));
  Struct* root = Obj(&spec, "root");
  (*root->mutable_fields())["path"].set_string_value("rootfs");
  if (read_only) (*root->mutable_fields())["readonly"].set_bool_value(true);
  return ToJson(spec);
}

absl::StatusOr<std::string> BuildExecProcess(const std::string& spec_json, const ExecSettings& e) {
  if (e.args.empty()) return absl::InvalidArgumentError("args: no command given");
  BERTH_ASSIGN_OR_RETURN(Struct spec, ToStruct(spec_json, "container spec"));
  Struct process =
      spec.fields().count("process") ? spec.fields().at("process").struct_value() : Struct();
  (*process.mutable_fields())["args"].mutable_list_value()->CopyFrom(Strings(e.args));
  std::vector<std::string> env;
  if (process.fields().count("env")) env = StringsOf(process.fields().at("env"));
  google::protobuf::RepeatedPtrField<std::string> add(e.env.begin(), e.env.end());
  BERTH_RETURN_IF_ERROR(CheckEnv(add));
  (*process.mutable_fields())["env"].mutable_list_value()->CopyFrom(Strings(MergeEnv(env, e.env)));
  if (!e.cwd.empty()) {
    if (e.cwd[0] != '/')
      return absl::InvalidArgumentError(absl::StrCat("cwd: \"", e.cwd, "\" is not absolute"));
    (*process.mutable_fields())["cwd"].set_string_value(e.cwd);
  }
  BERTH_RETURN_IF_ERROR(ApplyUser(&process, e.user, "user"));
  (*process.mutable_fields())["terminal"].set_bool_value(e.terminal);
  process.mutable_fields()->erase("consoleSize");
  BERTH_ASSIGN_OR_RETURN(std::string json, ToJson(process));
  absl::StatusOr<spec::Process> parsed = spec::ParseProcessJson(json);
  if (!parsed.ok())
    return absl::InvalidArgumentError(absl::StrCat("process: ", parsed.status().message()));
  return json;
}

absl::StatusOr<std::string> AddImageSettings(
    const std::string& spec_json, const std::string& stop_signal,
    const std::vector<std::pair<std::string, std::string>>& volumes) {
  BERTH_ASSIGN_OR_RETURN(Struct spec, ToStruct(spec_json, "spec"));
  if (!stop_signal.empty()) {
    (*Obj(&spec, "annotations")->mutable_fields())["org.opencontainers.image.stopSignal"]
        .set_string_value(stop_signal);
  }
  ListValue* mounts = (*spec.mutable_fields())["mounts"].mutable_list_value();
  for (const auto& [destination, source] : volumes) {
    Struct m;
    (*m.mutable_fields())["destination"].set_string_value(destination);
    (*m.mutable_fields())["type"].set_string_value("bind");
    (*m.mutable_fields())["source"].set_string_value(source);
    *(*m.mutable_fields())["options"].mutable_list_value() = Strings({"rbind", "rw"});
    *mounts->add_values()->mutable_struct_value() = m;
  }
  BERTH_ASSIGN_OR_RETURN(std::string json, ToJson(spec));
  BERTH_RETURN_IF_ERROR(Validate(json));
  return json;
}

absl::StatusOr<bool> SpecTerminal(const std::string& spec_json) {
  BERTH_ASSIGN_OR_RETURN(Struct spec, ToStruct(spec_json, "spec"));
  if (!spec.fields().count("process")) return false;
  const Struct& process = spec.fields().at("process").struct_value();
  return process.fields().count("terminal") && process.fields().at("terminal").bool_value();
}

}  // namespace berth::supervisor
