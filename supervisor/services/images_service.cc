// berth.v1.Images: import (a path on this machine, or the archive's bytes
// streamed in), names, removal, prune and disk usage.
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <memory>
#include <mutex>
#include <type_traits>

#include "absl/strings/str_cat.h"
#include "berth/v1/images.grpc.pb.h"
#include "lib/errors.h"
#include "lib/file_util.h"
#include "lib/unique_fd.h"
#include "supervisor/images/reference.h"
#include "supervisor/services/convert.h"
#include "supervisor/services/service_list.h"

namespace berth::supervisor {
namespace {

void ImageToProto(const ImageView& v, v1::Image* out) {
  out->set_name(v.record.name);
  out->set_digest(v.record.manifest_digest);
  out->set_config_digest(v.manifest.config_digest);
  out->set_media_type(v.manifest.media_type);
  out->set_platform(v.manifest.platform);
  out->set_size(v.size);
  for (const LayerRecord& l : v.manifest.layers) {
    v1::Layer* layer = out->add_layers();
    layer->set_chain_id(l.chain_id);
    layer->set_diff_id(l.diff_id);
    layer->set_size(l.size);
  }
  v1::ImageConfig* c = out->mutable_config();
  for (const std::string& s : v.config.entrypoint) c->add_entrypoint(s);
  for (const std::string& s : v.config.cmd) c->add_cmd(s);
  for (const std::string& s : v.config.env) c->add_env(s);
  c->set_working_dir(v.config.working_dir);
  c->set_user(v.config.user);
  c->set_stop_signal(v.config.stop_signal);
  for (const auto& [k, val] : v.config.labels) (*c->mutable_labels())[k] = val;
  for (const std::string& s : v.config.exposed_ports) c->add_exposed_ports(s);
  for (const std::string& s : v.config.volumes) c->add_volumes(s);
  ToProto(v.record.created_at, out->mutable_created_at());
  ToProto(v.record.updated_at, out->mutable_updated_at());
  out->set_image_created(v.config.created);
}

// The bytes of a streamed archive, in a file berthd's import then reads.
// Kept under the content store's ingest directory, swept at start.
absl::StatusOr<std::string> ReceiveArchive(
    const Engine& engine, const v1::ImportImageRequest& first,
    grpc::ServerReaderWriter<v1::ImportImageResponse, v1::ImportImageRequest>* stream) {
  std::string path = absl::StrCat(engine.config().root, "/content/ingest/upload-XXXXXX");
  UniqueFd fd(::mkostemp(path.data(), O_CLOEXEC));
  if (!fd) return ErrnoError(absl::StrCat("create ", path));
  absl::Status st = WriteAll(fd.get(), first.data());
  v1::ImportImageRequest chunk;
  while (st.ok() && stream->Read(&chunk)) st = WriteAll(fd.get(), chunk.data());
  if (!st.ok()) {
    ::unlink(path.c_str());
    return st;
  }
  return path;
}

// Progress lines from the import's worker threads to the call's stream; the
// worker may outlive a call whose client went away, so the stream is only
// used while the call is open.
template <typename Stream, typename Response>
class ProgressSink {
 public:
  explicit ProgressSink(Stream* stream) : stream_(stream) {}
  void Line(const std::string& line) {
    Response r;
    r.set_progress(line);
    Write(r);
  }
  void Write(const Response& r) {
    std::lock_guard<std::mutex> l(mu_);
    if (stream_ != nullptr) stream_->Write(r);
  }
  void Close() {
    std::lock_guard<std::mutex> l(mu_);
    stream_ = nullptr;
  }

 private:
  std::mutex mu_;
  Stream* stream_;
};

class ImagesService final : public v1::Images::Service {
 public:
  explicit ImagesService(Engine* engine) : engine_(engine) {}

  grpc::Status Import(
      grpc::ServerContext* ctx,
      grpc::ServerReaderWriter<v1::ImportImageResponse, v1::ImportImageRequest>* stream) override {
    absl::StatusOr<std::string> ns = CallNamespace(ctx);
    if (!ns.ok()) return ToGrpc(ns.status());
    v1::ImportImageRequest first;
    if (!stream->Read(&first)) {
      return ToGrpc(absl::InvalidArgumentError("import: no request"));
    }
    ImportOptions options;
    absl::StatusOr<Platform> platform = ParsePlatform(first.platform());
    if (!platform.ok()) return ToGrpc(platform.status());
    options.platform = *platform;
    options.keep_layer_blobs = first.keep_layer_blobs();
    options.name = first.name();
    if (!options.name.empty()) {
      if (absl::Status st = ParseReference(options.name).status(); !st.ok()) return ToGrpc(st);
    }
    using Sink = ProgressSink<std::remove_pointer_t<decltype(stream)>, v1::ImportImageResponse>;
    auto sink = std::make_shared<Sink>(stream);
    options.progress = [sink](const std::string& line) { sink->Line(line); };
    std::string path = first.path();
    bool uploaded = path.empty();
    if (uploaded) {
      absl::StatusOr<std::string> received = ReceiveArchive(*engine_, first, stream);
      if (!received.ok()) return ToGrpc(received.status());
      path = *received;
    } else if (path[0] != '/') {
      return ToGrpc(
          absl::InvalidArgumentError(absl::StrCat("path: \"", path, "\" is not absolute")));
    }
    auto result = AwaitOrCancel(ctx, engine_->Later<absl::StatusOr<std::vector<ImageView>>>(
                                         [engine = engine_, ns = *ns, path, options](auto reply) {
                                           engine->ImportImage(ns, path, options, reply);
                                         }));
    if (uploaded) ::unlink(path.c_str());
    if (result.ok()) {
      v1::ImportImageResponse last;
      for (const ImageView& v : *result) ImageToProto(v, last.add_images());
      sink->Write(last);
    }
    sink->Close();
    return result.ok() ? grpc::Status::OK : ToGrpc(result.status());
  }

  grpc::Status Pull(grpc::ServerContext* ctx, const v1::PullImageRequest* req,
                    grpc::ServerWriter<v1::PullImageResponse>* stream) override {
    absl::StatusOr<std::string> ns = CallNamespace(ctx);
    if (!ns.ok()) return ToGrpc(ns.status());
    if (absl::Status st = ParseReference(req->reference()).status(); !st.ok()) return ToGrpc(st);
    ImportOptions options;
    absl::StatusOr<Platform> platform = ParsePlatform(req->platform());
    if (!platform.ok()) return ToGrpc(platform.status());
    options.platform = *platform;
    options.keep_layer_blobs = req->keep_layer_blobs();
    using Sink = ProgressSink<grpc::ServerWriter<v1::PullImageResponse>, v1::PullImageResponse>;
    auto sink = std::make_shared<Sink>(stream);
    options.progress = [sink](const std::string& line) { sink->Line(line); };
    auto result =
        AwaitOrCancel(ctx, engine_->Later<absl::StatusOr<std::vector<ImageView>>>(
                               [engine = engine_, ns = *ns, ref = req->reference(), options](
                                   auto reply) { engine->PullImage(ns, ref, options, reply); }));
    if (result.ok() && !result->empty()) {
      v1::PullImageResponse last;
      ImageToProto(result->front(), last.mutable_image());
      sink->Write(last);
    }
    sink->Close();
    return result.ok() ? grpc::Status::OK : ToGrpc(result.status());
  }

  grpc::Status Get(grpc::ServerContext* ctx, const v1::GetImageRequest* req,
                   v1::GetImageResponse* resp) override {
    absl::StatusOr<std::string> ns = CallNamespace(ctx);
    if (!ns.ok()) return ToGrpc(ns.status());
    auto v = engine_->Sync<absl::StatusOr<ImageView>>(
        [&](auto reply) { reply(engine_->GetImage(*ns, req->name())); });
    if (!v.ok()) return ToGrpc(v.status());
    ImageToProto(*v, resp->mutable_image());
    return grpc::Status::OK;
  }

  grpc::Status List(grpc::ServerContext* ctx, const v1::ListImagesRequest*,
                    v1::ListImagesResponse* resp) override {
    absl::StatusOr<std::string> ns = CallNamespace(ctx);
    if (!ns.ok()) return ToGrpc(ns.status());
    auto all = engine_->Sync<absl::StatusOr<std::vector<ImageView>>>(
        [&](auto reply) { reply(engine_->ListImages(*ns)); });
    if (!all.ok()) return ToGrpc(all.status());
    for (const ImageView& v : *all) ImageToProto(v, resp->add_images());
    return grpc::Status::OK;
  }

  grpc::Status Delete(grpc::ServerContext* ctx, const v1::DeleteImageRequest* req,
                      v1::DeleteImageResponse* resp) override {
    absl::StatusOr<std::string> ns = CallNamespace(ctx);
    if (!ns.ok()) return ToGrpc(ns.status());
    auto r = engine_->Sync<absl::StatusOr<ImageRemoval>>(
        [&](auto reply) { engine_->DeleteImage(*ns, req->name(), req->force(), reply); });
    if (!r.ok()) return ToGrpc(r.status());
    for (const std::string& n : r->untagged) resp->add_untagged(n);
    resp->set_reclaimed_bytes(r->reclaimed_bytes);
    return grpc::Status::OK;
  }

  grpc::Status Tag(grpc::ServerContext* ctx, const v1::TagImageRequest* req,
                   v1::TagImageResponse* resp) override {
    absl::StatusOr<std::string> ns = CallNamespace(ctx);
    if (!ns.ok()) return ToGrpc(ns.status());
    auto v = engine_->Sync<absl::StatusOr<ImageView>>(
        [&](auto reply) { reply(engine_->TagImage(*ns, req->source(), req->target())); });
    if (!v.ok()) return ToGrpc(v.status());
    ImageToProto(*v, resp->mutable_image());
    return grpc::Status::OK;
  }

  grpc::Status Prune(grpc::ServerContext* ctx, const v1::PruneImagesRequest*,
                     v1::PruneImagesResponse* resp) override {
    absl::StatusOr<std::string> ns = CallNamespace(ctx);
    if (!ns.ok()) return ToGrpc(ns.status());
    auto r = engine_->Sync<absl::StatusOr<ImageRemoval>>(
        [&](auto reply) { engine_->PruneImages(*ns, reply); });
    if (!r.ok()) return ToGrpc(r.status());
    for (const std::string& n : r->untagged) resp->add_deleted(n);
    resp->set_reclaimed_bytes(r->reclaimed_bytes);
    return grpc::Status::OK;
  }

  grpc::Status DiskUsage(grpc::ServerContext*, const v1::DiskUsageRequest*,
                         v1::DiskUsageResponse* resp) override {
    auto u = engine_->Sync<absl::StatusOr<ImageDiskUsage>>(
        [&](auto reply) { engine_->DiskUsage(reply); });
    if (!u.ok()) return ToGrpc(u.status());
    resp->set_images(u->images);
    resp->set_layers(u->layers);
    resp->set_layers_bytes(u->layers_bytes);
    resp->set_shared_bytes(u->shared_bytes);
    resp->set_blobs_bytes(u->blobs_bytes);
    resp->set_containers(u->containers);
    resp->set_containers_bytes(u->containers_bytes);
    return grpc::Status::OK;
  }

 private:
  Engine* engine_;
};

}  // namespace

std::unique_ptr<grpc::Service> MakeImagesService(Engine* engine) {
  return std::make_unique<ImagesService>(engine);
}

}  // namespace berth::supervisor
