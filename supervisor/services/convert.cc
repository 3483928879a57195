#include "supervisor/services/convert.h"

#include "absl/strings/str_cat.h"
#include "supervisor/daemon/ids.h"

namespace berth::supervisor {

grpc::Status ToGrpc(const absl::Status& st) {
  if (st.ok()) return grpc::Status::OK;
  // absl's codes are gRPC's codes, number for number.
  return grpc::Status(static_cast<grpc::StatusCode>(st.code()), std::string(st.message()));
}

absl::StatusOr<std::string> CallNamespace(const grpc::ServerContext* ctx) {
  auto it = ctx->client_metadata().find(kNamespaceKey);
  if (it == ctx->client_metadata().end()) return std::string("default");
  std::string ns(it->second.data(), it->second.size());
  if (absl::Status st = ValidateName(ns, "namespace"); !st.ok()) return st;
  return ns;
}

void ToProto(absl::Time t, google::protobuf::Timestamp* out) {
  if (t == absl::UnixEpoch()) return;
  int64_t ns = absl::ToUnixNanos(t);
  out->set_seconds(ns / 1000000000);
  out->set_nanos(static_cast<int32_t>(ns % 1000000000));
}

std::string StatusName(const ContainerView& c) {
  if (!c.task) return "created";
  switch (c.task->status) {
    case TaskStatus::kCreated:
      return "created";
    case TaskStatus::kRunning:
      return "running";
    case TaskStatus::kPaused:
      return "paused";
    case TaskStatus::kStopped:
      return "stopped";
    default:
      return "unknown";
  }
}

void ToProto(const ContainerView& c, v1::Container* out) {
  out->set_id(c.record.id);
  out->set_name(c.record.name);
  for (const auto& [k, v] : c.record.labels) (*out->mutable_labels())[k] = v;
  out->set_spec_json(c.record.spec_json);
  out->mutable_rootfs()->set_path(c.record.rootfs_path);
  out->mutable_rootfs()->set_read_only(c.record.rootfs_read_only);
  out->set_image(c.record.image);
  out->set_image_digest(c.record.image_digest);
  out->set_runtime(c.record.runtime);
  ToProto(c.record.created_at, out->mutable_created_at());
  ToProto(c.record.updated_at, out->mutable_updated_at());
  out->set_status(StatusName(c));
  // Written by berthd itself: one that does not parse stays out.
  out->mutable_settings()->ParseFromString(c.record.settings);
  out->mutable_state()->set_restart_count(c.record.restart_count);
}

namespace {

void ProcessToProto(const ProcessView& p, const std::string& container_id, v1::Process* out) {
  out->set_container_id(container_id);
  out->set_exec_id(p.exec_id);
  out->set_pid(p.pid);
  out->set_status(static_cast<v1::TaskStatus>(p.status));
  out->set_exit_status(p.exit_status);
  ToProto(p.exited_at, out->mutable_exited_at());
  out->set_terminal(p.stdio.terminal);
  out->set_stdin(p.stdio.stdin_open);
}

}  // namespace

void ToProto(const TaskView& t, v1::Task* out) {
  const TaskRecord& r = t.record;
  ProcessView init{
      "", r.pid, t.status, r.exit_status, r.exited_at, {r.attach, r.stdin_open, r.terminal}};
  ProcessToProto(init, r.container_id, out->mutable_init());
  for (const ProcessView& e : t.execs) ProcessToProto(e, r.container_id, out->add_execs());
  out->set_shim_address(r.shim_address);
  out->set_shim_pid(r.shim_pid);
  ToProto(r.created_at, out->mutable_created_at());
  ToProto(r.started_at, out->mutable_started_at());
}

void ToProto(const EventRecord& e, v1::Event* out) {
  out->set_seq(e.seq);
  ToProto(e.timestamp, out->mutable_timestamp());
  out->set_namespace_(e.ns);
  out->set_topic(e.topic);
  out->set_container_id(e.container_id);
  out->set_exec_id(e.exec_id);
  out->set_pid(e.pid);
  out->set_exit_status(e.exit_status);
  ToProto(e.exited_at, out->mutable_exited_at());
}

}  // namespace berth::supervisor
