#include <sys/stat.h>

#include "absl/strings/str_cat.h"
#include "berth/v1/containers.grpc.pb.h"
#include "lib/errors.h"
#include "lib/file_util.h"
#include "supervisor/daemon/container_settings.h"
#include "supervisor/daemon/ids.h"
#include "supervisor/daemon/image_process.h"
#include "supervisor/daemon/spec_builder.h"
#include "supervisor/services/convert.h"
#include "supervisor/services/service_list.h"

namespace berth::supervisor {
namespace {

absl::Status CheckRootfs(const v1::Rootfs& r) {
  if (r.path().empty())
    return absl::InvalidArgumentError("rootfs.path: empty (a directory is needed)");
  if (r.path()[0] != '/') {
    return absl::InvalidArgumentError(
        absl::StrCat("rootfs.path: \"", r.path(), "\" is not absolute"));
  }
  struct stat st;
  if (stat(r.path().c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return absl::InvalidArgumentError(
        absl::StrCat("rootfs.path: ", r.path(), " is not a directory"));
  }
  // Overlay options are split at ',' and ':'; such a path cannot be a lower layer.
  if (r.path().find_first_of(",:") != std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("rootfs.path: ", r.path(), " contains ',' or ':'"));
  }
  return absl::OkStatus();
}

bool Matches(const ContainerView& c, const v1::ListContainersRequest& f) {
  if (!f.name().empty() && c.record.name != f.name()) return false;
  if (!f.status().empty() && StatusName(c) != f.status()) return false;
  for (const auto& [k, v] : f.labels()) {
    auto it = c.record.labels.find(k);
    if (it == c.record.labels.end() || (!v.empty() && it->second != v)) return false;
  }
  return true;
}

class ContainersService final : public v1::Containers::Service {
 public:
  explicit ContainersService(Engine* engine) : engine_(engine) {}

  // On the engine's thread.
  absl::StatusOr<ContainerView> CreateFromImage(ContainerRecord r,
                                                const v1::CreateContainerRequest& req) {
    BERTH_ASSIGN_OR_RETURN(ImageView image, engine_->GetImage(r.ns, req.image()));
    BERTH_ASSIGN_OR_RETURN(std::vector<std::string> layers,
                           engine_->LayerDirs(image.record.manifest_digest));
    r.image = image.record.name;
    r.image_digest = image.record.manifest_digest;
    // The image's labels under the container's own (as docker does).
    for (const auto& [k, v] : image.config.labels) r.labels.try_emplace(k, v);
    if (req.spec_json().empty()) {
      BERTH_ASSIGN_OR_RETURN(v1::ProcessConfig p,
                             ImageProcess(image.config, req.process(), layers));
      BERTH_ASSIGN_OR_RETURN(r.spec_json, BuildSpec(p, r.ns, r.id, r.rootfs_read_only));
      // The image's Volumes: anonymous volumes, directories of the
      // container's own (removed with it).
      std::vector<std::pair<std::string, std::string>> volumes;
      for (size_t i = 0; i < image.config.volumes.size(); ++i) {
        const std::string& path = image.config.volumes[i];
        if (path.empty() || path[0] != '/') {
          return absl::InvalidArgumentError(
              absl::StrCat("the image's Volumes: \"", path, "\" is not absolute"));
        }
        volumes.emplace_back(path, engine_->VolumeDir(r.ns, r.id, i));
      }
      BERTH_ASSIGN_OR_RETURN(r.spec_json,
                             AddImageSettings(r.spec_json, image.config.stop_signal, volumes));
    } else {
      BERTH_ASSIGN_OR_RETURN(r.spec_json, NormaliseSpec(req.spec_json(), r.rootfs_read_only));
    }
    BERTH_ASSIGN_OR_RETURN(ContainerView view, engine_->CreateContainer(r));
    // Made once the container is recorded (a refused create leaves none;
    // the container's directory goes with it).
    for (size_t i = 0; i < image.config.volumes.size() && req.spec_json().empty(); ++i) {
      BERTH_RETURN_IF_ERROR(MakeDirs(engine_->VolumeDir(r.ns, r.id, i), 0755));
    }
    return view;
  }

  grpc::Status Create(grpc::ServerContext* ctx, const v1::CreateContainerRequest* req,
                      v1::CreateContainerResponse* resp) override {
    absl::StatusOr<std::string> ns = CallNamespace(ctx);
    if (!ns.ok()) return ToGrpc(ns.status());
    ContainerRecord r;
    r.ns = *ns;
    r.id = req->id().empty() ? GenerateId() : req->id();
    if (absl::Status st = ValidateName(r.id, "id"); !st.ok()) return ToGrpc(st);
    r.name = req->name();
    for (const auto& [k, v] : req->labels()) r.labels[k] = v;
    r.rootfs_read_only = req->rootfs().read_only();
    r.runtime = req->runtime();
    if (absl::Status st = ValidateSettings(req->settings()); !st.ok()) return ToGrpc(st);
    r.settings = req->settings().SerializeAsString();
    if (!req->image().empty()) {
      if (!req->rootfs().path().empty()) {
        return ToGrpc(absl::InvalidArgumentError("image and rootfs.path: give one, not both"));
      }
      // Resolved, turned into a spec and recorded in one step on the
      // engine's thread, so the image cannot go in between.
      auto view = engine_->Sync<absl::StatusOr<ContainerView>>(
          [&](auto reply) { reply(CreateFromImage(std::move(r), *req)); });
      if (!view.ok()) return ToGrpc(view.status());
      ToProto(*view, resp->mutable_container());
      return grpc::Status::OK;
    }
    if (absl::Status st = CheckRootfs(req->rootfs()); !st.ok()) return ToGrpc(st);
    r.rootfs_path = req->rootfs().path();
    absl::StatusOr<std::string> spec =
        req->spec_json().empty() ? BuildSpec(req->process(), r.ns, r.id, r.rootfs_read_only)
                                 : NormaliseSpec(req->spec_json(), r.rootfs_read_only);
    if (!spec.ok()) return ToGrpc(spec.status());
    r.spec_json = std::move(*spec);
    auto view = engine_->Sync<absl::StatusOr<ContainerView>>(
        [&](auto reply) { reply(engine_->CreateContainer(r)); });
    if (!view.ok()) return ToGrpc(view.status());
    ToProto(*view, resp->mutable_container());
    return grpc::Status::OK;
  }

  grpc::Status Get(grpc::ServerContext* ctx, const v1::GetContainerRequest* req,
                   v1::GetContainerResponse* resp) override {
    absl::StatusOr<std::string> ns = CallNamespace(ctx);
    if (!ns.ok()) return ToGrpc(ns.status());
    auto view = engine_->Sync<absl::StatusOr<ContainerView>>(
        [&](auto reply) { reply(engine_->GetContainer(*ns, req->id())); });
    if (!view.ok()) return ToGrpc(view.status());
    ToProto(*view, resp->mutable_container());
    return grpc::Status::OK;
  }

  grpc::Status List(grpc::ServerContext* ctx, const v1::ListContainersRequest* req,
                    v1::ListContainersResponse* resp) override {
    absl::StatusOr<std::string> ns = CallNamespace(ctx);
    if (!ns.ok()) return ToGrpc(ns.status());
    auto views = engine_->Sync<std::vector<ContainerView>>(
        [&](auto reply) { reply(engine_->ListContainers(*ns)); });
    for (const ContainerView& v : views) {
      if (Matches(v, *req)) ToProto(v, resp->add_containers());
    }
    return grpc::Status::OK;
  }

  grpc::Status Update(grpc::ServerContext* ctx, const v1::UpdateContainerRequest* req,
                      v1::UpdateContainerResponse* resp) override {
    absl::StatusOr<std::string> ns = CallNamespace(ctx);
    if (!ns.ok()) return ToGrpc(ns.status());
    bool labels = false, spec = false;
    for (const std::string& path : req->update_mask().paths()) {
      if (path == "labels") {
        labels = true;
      } else if (path == "spec_json") {
        spec = true;
      } else {
        return ToGrpc(absl::InvalidArgumentError(
            absl::StrCat("update_mask: \"", path, "\" cannot be updated (labels, spec_json)")));
      }
    }
    if (!labels && !spec) {
      return ToGrpc(absl::InvalidArgumentError("update_mask: empty (labels, spec_json)"));
    }
    ContainerRecord r;
    r.ns = *ns;
    r.id = req->container().id();
    for (const auto& [k, v] : req->container().labels()) r.labels[k] = v;
    if (spec) {
      absl::StatusOr<std::string> normalised = NormaliseSpec(req->container().spec_json(), false);
      if (!normalised.ok()) return ToGrpc(normalised.status());
      r.spec_json = *normalised;
    }
    auto view = engine_->Sync<absl::StatusOr<ContainerView>>(
        [&](auto reply) { reply(engine_->UpdateContainer(r, labels, spec)); });
    if (!view.ok()) return ToGrpc(view.status());
    ToProto(*view, resp->mutable_container());
    return grpc::Status::OK;
  }

  grpc::Status Delete(grpc::ServerContext* ctx, const v1::DeleteContainerRequest* req,
                      v1::DeleteContainerResponse*) override {
    absl::StatusOr<std::string> ns = CallNamespace(ctx);
    if (!ns.ok()) return ToGrpc(ns.status());
    auto st = engine_->Sync<absl::StatusOr<Nothing>>(
        [&](auto reply) { engine_->DeleteContainer(*ns, req->id(), req->force(), reply); });
    return ToGrpc(st.status());
  }

 private:
  Engine* engine_;
};

}  // namespace

std::unique_ptr<grpc::Service> MakeContainersService(Engine* engine) {
  return std::make_unique<ContainersService>(engine);
}

}  // namespace berth::supervisor
