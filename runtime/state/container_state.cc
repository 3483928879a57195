#include "runtime/state/container_state.h"

#include "absl/strings/string_view.h"
#include "lib/errors.h"
#include "lib/json_tree.h"
#include "lib/json_writer.h"

namespace berth::state {

const char* StatusName(Status s) {
  switch (s) {
    case Status::kCreating:
      return "creating";
    case Status::kCreated:
      return "created";
    case Status::kRunning:
      return "running";
    case Status::kPaused:
      return "paused";
    case Status::kStopped:
      return "stopped";
  }
  return "unknown";
}

namespace {

void WriteStringList(JsonWriter& w, absl::string_view key, const std::vector<std::string>& list) {
  w.Key(key).BeginArray();
  for (const auto& s : list) w.String(s);
  w.EndArray();
}

}  // namespace

std::string SerializeState(const ContainerState& s) {
  JsonWriter w;
  w.BeginObject();
  w.Key("ociVersion").String(s.oci_version);
  w.Key("id").String(s.id);
  w.Key("pid").Int(s.pid);
  w.Key("pidStartTime").Uint(s.pid_start_time);
  w.Key("bundle").String(s.bundle);
  w.Key("rootfs").String(s.rootfs);
  w.Key("created").String(s.created);
  w.Key("annotations").BeginObject();
  for (const auto& [k, v] : s.annotations) w.Key(k).String(v);
  w.EndObject();
  WriteStringList(w, "createdCgroupDirs", s.created_cgroup_dirs);
  w.Key("cgroupMode").String(s.cgroup_mode);
  w.Key("cgroupPaths").BeginObject();
  for (const auto& [k, v] : s.cgroup_paths) w.Key(k).String(v);
  w.EndObject();
  if (!s.systemd_unit.empty()) {
    w.Key("systemdUnit").String(s.systemd_unit);
    w.Key("systemdUser").Bool(s.systemd_user);
  }
  w.EndObject();
  return w.Take();
}

absl::StatusOr<ContainerState> ParseState(absl::string_view json) {
  BERTH_ASSIGN_OR_RETURN(auto doc, json::Document::Parse(json, "state.json"));
  json::Value root = doc->root();
  ContainerState s;
  BERTH_ASSIGN_OR_RETURN(s.oci_version, root.Get("ociVersion").AsString());
  BERTH_ASSIGN_OR_RETURN(s.id, root.Get("id").AsString());
  BERTH_ASSIGN_OR_RETURN(s.pid, root.Get("pid").AsInt32());
  BERTH_ASSIGN_OR_RETURN(s.pid_start_time, root.Get("pidStartTime").AsUint64());
  BERTH_ASSIGN_OR_RETURN(s.bundle, root.Get("bundle").AsString());
  BERTH_ASSIGN_OR_RETURN(s.rootfs, root.Get("rootfs").AsString());
  BERTH_ASSIGN_OR_RETURN(s.created, root.Get("created").AsString());
  for (const auto& [k, v] : root.Get("annotations").Members()) {
    BERTH_ASSIGN_OR_RETURN(s.annotations[k], v.AsString());
  }
  BERTH_ASSIGN_OR_RETURN(s.created_cgroup_dirs, root.Get("createdCgroupDirs").AsStringArray());
  if (json::Value mode = root.Get("cgroupMode"); !mode.missing()) {
    BERTH_ASSIGN_OR_RETURN(s.cgroup_mode, mode.AsString());
  }
  for (const auto& [k, v] : root.Get("cgroupPaths").Members()) {
    BERTH_ASSIGN_OR_RETURN(s.cgroup_paths[k], v.AsString());
  }
  if (json::Value unit = root.Get("systemdUnit"); !unit.missing()) {
    BERTH_ASSIGN_OR_RETURN(s.systemd_unit, unit.AsString());
    BERTH_ASSIGN_OR_RETURN(s.systemd_user, root.Get("systemdUser").AsBool());
  }
  return s;
}

std::string RenderOciState(const ContainerState& s, Status status, absl::string_view indent) {
  JsonWriter w(indent);
  w.BeginObject();
  w.Key("ociVersion").String(s.oci_version);
  w.Key("id").String(s.id);
  w.Key("pid").Int(status == Status::kStopped ? 0 : s.pid);
  w.Key("status").String(StatusName(status));
  w.Key("bundle").String(s.bundle);
  w.Key("rootfs").String(s.rootfs);
  w.Key("created").String(s.created);
  if (!s.annotations.empty()) {
    w.Key("annotations").BeginObject();
    for (const auto& [k, v] : s.annotations) w.Key(k).String(v);
    w.EndObject();
  }
  w.Key("owner").String(s.owner);
  w.EndObject();
  return w.Take();
}

}  // namespace berth::state
