// What every gRPC service shares: the namespace of a call, absl::Status to
// grpc::Status, and the engine's views as berth.v1 messages.
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <future>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "berth/v1/containers.pb.h"
#include "berth/v1/events.pb.h"
#include "berth/v1/tasks.pb.h"
#include "google/protobuf/timestamp.pb.h"
#include "supervisor/daemon/engine.h"

namespace berth::supervisor {

// The gRPC metadata key naming a call's namespace ("default" without it).
inline constexpr char kNamespaceKey[] = "berth-namespace";

grpc::Status ToGrpc(const absl::Status& st);
// The call's namespace, validated.
absl::StatusOr<std::string> CallNamespace(const grpc::ServerContext* ctx);

void ToProto(absl::Time t, google::protobuf::Timestamp* out);
void ToProto(const ContainerView& c, v1::Container* out);
void ToProto(const TaskView& t, v1::Task* out);
void ToProto(const EventRecord& e, v1::Event* out);
std::string StatusName(const ContainerView& c);
absl::Status FillMetrics(const containerd::task::v2::StatsResponse& stats,
                         v1::MetricsResponse* out);

// Waits for `f`, giving up (CANCELLED) if the client goes away first.
template <typename T>
absl::StatusOr<T> AwaitOrCancel(grpc::ServerContext* ctx, std::future<absl::StatusOr<T>> f) {
  while (f.wait_for(std::chrono::milliseconds(500)) != std::future_status::ready) {
    if (ctx->IsCancelled()) return absl::CancelledError("the client went away");
  }
  return f.get();
}

}  // namespace berth::supervisor
