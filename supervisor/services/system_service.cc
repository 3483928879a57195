// Namespaces (tenants) and System (version, info).
#include <unistd.h>

#include "berth/v1/system.grpc.pb.h"
#include "lib/version.h"
#include "supervisor/services/convert.h"
#include "supervisor/services/service_list.h"

namespace berth::supervisor {
namespace {

class NamespacesService final : public v1::Namespaces::Service {
 public:
  explicit NamespacesService(Engine* engine) : engine_(engine) {}

  grpc::Status Create(grpc::ServerContext*, const v1::CreateNamespaceRequest* req,
                      v1::NamespaceResponse* resp) override {
    NamespaceRecord r;
    r.name = req->name();
    for (const auto& [k, v] : req->labels()) r.labels[k] = v;
    absl::Status st =
        engine_->Sync<absl::Status>([&](auto reply) { reply(engine_->CreateNamespace(r)); });
    if (!st.ok()) return ToGrpc(st);
    resp->mutable_namespace_()->set_name(r.name);
    for (const auto& [k, v] : r.labels) (*resp->mutable_namespace_()->mutable_labels())[k] = v;
    return grpc::Status::OK;
  }

  grpc::Status List(grpc::ServerContext*, const v1::ListNamespacesRequest*,
                    v1::ListNamespacesResponse* resp) override {
    auto list = engine_->Sync<absl::StatusOr<std::vector<NamespaceRecord>>>(
        [&](auto reply) { reply(engine_->ListNamespaces()); });
    if (!list.ok()) return ToGrpc(list.status());
    for (const NamespaceRecord& r : *list) {
      v1::Namespace* n = resp->add_namespaces();
      n->set_name(r.name);
      for (const auto& [k, v] : r.labels) (*n->mutable_labels())[k] = v;
      ToProto(r.created_at, n->mutable_created_at());
    }
    return grpc::Status::OK;
  }

  grpc::Status Delete(grpc::ServerContext*, const v1::DeleteNamespaceRequest* req,
                      v1::DeleteNamespaceResponse*) override {
    absl::Status st = engine_->Sync<absl::Status>(
        [&](auto reply) { reply(engine_->DeleteNamespace(req->name())); });
    return ToGrpc(st);
  }

 private:
  Engine* engine_;
};

class SystemService final : public v1::System::Service {
 public:
  explicit SystemService(Engine* engine) : engine_(engine) {}

  grpc::Status Version(grpc::ServerContext*, const v1::VersionRequest*,
                       v1::VersionResponse* resp) override {
    resp->set_version(kVersion);
    resp->set_revision(kRevision);
    resp->set_api_version("berth.v1");
    return grpc::Status::OK;
  }

  grpc::Status Info(grpc::ServerContext*, const v1::InfoRequest*, v1::InfoResponse* resp) override {
    engine_->Sync<bool>([&](auto reply) {
      const Config& c = engine_->config();
      resp->set_version(kVersion);
      resp->set_root(c.root);
      resp->set_state(c.state);
      resp->set_address(c.address);
      resp->set_pid(static_cast<uint32_t>(getpid()));
      resp->set_default_runtime(c.runtime_binary);
      for (const ContainerView& v : engine_->ListContainers("")) {
        std::string s = StatusName(v);
        resp->set_containers(resp->containers() + 1);
        if (s == "running") resp->set_running(resp->running() + 1);
        if (s == "paused") resp->set_paused(resp->paused() + 1);
        if (s == "stopped" || s == "created") resp->set_stopped(resp->stopped() + 1);
      }
      resp->set_last_event_seq(engine_->LastEventSeq());
      const RecoveryReport& r = engine_->recovery();
      v1::Recovery* out = resp->mutable_recovery();
      ToProto(r.started_at, out->mutable_started_at());
      out->set_duration_ms(static_cast<uint32_t>(absl::ToInt64Milliseconds(r.duration)));
      out->set_containers(r.containers);
      out->set_reconnected(r.reconnected);
      out->set_exited(r.exited);
      out->set_gone(r.gone);
      out->set_orphans(r.orphans);
      out->set_unknown(r.unknown);
      reply(true);
    });
    return grpc::Status::OK;
  }

 private:
  Engine* engine_;
};

}  // namespace

std::unique_ptr<grpc::Service> MakeNamespacesService(Engine* engine) {
  return std::make_unique<NamespacesService>(engine);
}
std::unique_ptr<grpc::Service> MakeSystemService(Engine* engine) {
  return std::make_unique<SystemService>(engine);
}

}  // namespace berth::supervisor
