// Images in the engine: import (on a worker, then one transaction), names,
// removal with garbage collection, disk usage, and the sweep at start of
// files a crash left unrecorded.
#include <sys/stat.h>

#include <filesystem>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "lib/errors.h"
#include "lib/log.h"
#include "supervisor/daemon/engine.h"
#include "supervisor/images/reference.h"
#include "supervisor/registry/puller.h"

namespace berth::supervisor {
namespace {

namespace fs = std::filesystem;

constexpr uint64_t kMaxConfig = 16 << 20;

uint64_t TreeBytes(const std::string& dir) {
  uint64_t total = 0;
  std::error_code ec;
  for (auto it =
           fs::recursive_directory_iterator(dir, fs::directory_options::skip_permission_denied, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    struct stat st;
    if (::lstat(it->path().c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
      total += static_cast<uint64_t>(st.st_blocks) * 512;
    }
  }
  return total;
}

bool LooksLikeId(absl::string_view ref) {
  absl::ConsumePrefix(&ref, "sha256:");
  if (ref.size() < 4) return false;
  for (char c : ref) {
    if (!absl::ascii_isxdigit(c) || absl::ascii_isupper(c)) return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<ImageView> Engine::ImageViewOf(const ImageRecord& r) {
  ImageView v;
  v.record = r;
  BERTH_ASSIGN_OR_RETURN(v.manifest, store_->GetManifest(r.manifest_digest));
  BERTH_ASSIGN_OR_RETURN(std::string config, content_->Read(v.manifest.config_digest, kMaxConfig));
  BERTH_ASSIGN_OR_RETURN(
      v.config, ParseImageConfig(config, absl::StrCat("image config ", v.manifest.config_digest)));
  for (const LayerRecord& l : v.manifest.layers) v.size += l.size;
  return v;
}

absl::StatusOr<ImageRecord> Engine::FindImage(const std::string& ns, const std::string& ref) {
  if (absl::StatusOr<Reference> r = ParseReference(ref); r.ok()) {
    absl::StatusOr<ImageRecord> found = store_->GetImage(ns, r->String());
    if (found.ok() || !absl::IsNotFound(found.status())) return found;
  }
  if (LooksLikeId(ref)) {
    std::string prefix = absl::StartsWith(ref, "sha256:") ? ref : absl::StrCat("sha256:", ref);
    BERTH_ASSIGN_OR_RETURN(std::vector<ImageRecord> all, store_->ListImages(ns));
    std::optional<ImageRecord> match;
    std::set<std::string> ids;
    for (const ImageRecord& i : all) {
      BERTH_ASSIGN_OR_RETURN(ManifestRecord m, store_->GetManifest(i.manifest_digest));
      if (absl::StartsWith(m.config_digest, prefix) ||
          absl::StartsWith(i.manifest_digest, prefix)) {
        ids.insert(m.config_digest);
        if (!match) match = i;
      }
    }
    if (ids.size() > 1) {
      return absl::FailedPreconditionError(
          absl::StrCat("image id prefix ", ref, " matches ", ids.size(), " images"));
    }
    if (match) return *match;
  }
  return absl::NotFoundError(
      absl::StrCat("image ", ref, " not found in namespace ", ns, " (berthctl images lists them)"));
}

absl::StatusOr<ImageView> Engine::GetImage(const std::string& ns, const std::string& ref) {
  BERTH_ASSIGN_OR_RETURN(ImageRecord r, FindImage(ns, ref));
  return ImageViewOf(r);
}

absl::StatusOr<std::vector<ImageView>> Engine::ListImages(const std::string& ns) {
  BERTH_ASSIGN_OR_RETURN(std::vector<ImageRecord> all, store_->ListImages(ns));
  std::vector<ImageView> out;
  for (const ImageRecord& r : all) {
    BERTH_ASSIGN_OR_RETURN(ImageView v, ImageViewOf(r));
    out.push_back(std::move(v));
  }
  return out;
}

absl::StatusOr<std::vector<std::string>> Engine::LayerDirs(const std::string& manifest_digest) {
  BERTH_ASSIGN_OR_RETURN(ManifestRecord m, store_->GetManifest(manifest_digest));
  std::vector<std::string> dirs;
  for (auto it = m.layers.rbegin(); it != m.layers.rend(); ++it) {
    dirs.push_back(layers_->Dir(it->chain_id));
  }
  return dirs;
}

void Engine::ImportImage(const std::string& ns, std::string path, ImportOptions options,
                         Done<std::vector<ImageView>> done) {
  const ContentStore* content = content_.get();
  const LayerStore* layers = &*layers_;
  Offload<absl::StatusOr<ImportResult>>(
      [path, options, content, layers] { return ImportArchive(path, options, *content, *layers); },
      [this, ns, done](absl::StatusOr<ImportResult> result) {
        RecordImages(ns, std::move(result), done);
      });
}

void Engine::PullImage(const std::string& ns, std::string reference, ImportOptions options,
                       Done<std::vector<ImageView>> done) {
  const ContentStore* content = content_.get();
  const LayerStore* layers = &*layers_;
  registry::RegistryClient* client = registry_.get();
  Offload<absl::StatusOr<ImportResult>>(
      [reference, options, content, layers, client] {
        return registry::PullImage(*client, reference, options, *content, *layers);
      },
      [this, ns, done](absl::StatusOr<ImportResult> result) {
        RecordImages(ns, std::move(result), done);
      });
}

void Engine::RecordImages(const std::string& ns, absl::StatusOr<ImportResult> result,
                          Done<std::vector<ImageView>> done) {
  if (!result.ok()) return done(result.status());
  std::vector<EventRecord> events;
  std::vector<std::string> names;
  absl::Status st = Commit(
      [&]() -> absl::Status {
        for (const ImageRecordDraft& img : result->images) {
          for (const LayerInfo& l : img.layers) {
            // A removal that ran while this import worked took it.
            if (!layers_->Has(l.chain_id)) {
              return absl::UnavailableError(absl::StrCat(
                  "layer ", l.chain_id, " was removed during the import: import again"));
            }
          }
          BERTH_RETURN_IF_ERROR(
              store_->PutBlob({img.manifest_digest, img.manifest_size, img.media_type}));
          BERTH_RETURN_IF_ERROR(store_->PutBlob(
              {img.config_digest, img.config_size, std::string(media::kOciConfig)}));
          ManifestRecord m;
          m.digest = img.manifest_digest;
          m.media_type = img.media_type;
          m.config_digest = img.config_digest;
          m.platform = img.platform.String();
          m.created_at = absl::Now();
          for (size_t i = 0; i < img.layers.size(); ++i) {
            LayerRecord l{img.layers[i].chain_id, img.layers[i].diff_id, img.layers[i].size, ""};
            if (i < img.layer_blobs.size()) {
              l.blob_digest = img.layer_blobs[i];
              auto size = content_->Size(l.blob_digest);
              BERTH_RETURN_IF_ERROR(store_->PutBlob(
                  {l.blob_digest, size.ok() ? *size : 0, "application/octet-stream"}));
            }
            m.layers.push_back(std::move(l));
          }
          BERTH_RETURN_IF_ERROR(store_->PutManifest(m));
          ImageRecord r;
          r.ns = ns;
          r.name = img.name;
          r.manifest_digest = img.manifest_digest;
          r.created_at = r.updated_at = absl::Now();
          BERTH_ASSIGN_OR_RETURN(std::optional<std::string> previous, store_->PutImage(r));
          // Stored in this transaction, published once it commits.
          EventRecord e = NewEvent(ns, previous ? "/images/update" : "/images/create", img.name);
          BERTH_RETURN_IF_ERROR(store_->AppendEvent(e).status());
          events.push_back(std::move(e));
          names.push_back(img.name);
        }
        return absl::OkStatus();
      },
      {});
  if (!st.ok()) return done(st);
  for (const EventRecord& e : events) hub_.Publish(e);
  std::vector<ImageView> views;
  for (const std::string& name : names) {
    absl::StatusOr<ImageView> v = GetImage(ns, name);
    if (!v.ok()) return done(v.status());
    views.push_back(*std::move(v));
  }
  // A name moved to a new manifest may leave the old one unused.
  CollectGarbage([done, views](uint64_t) { done(views); });
}

absl::StatusOr<ImageView> Engine::TagImage(const std::string& ns, const std::string& source,
                                           const std::string& target) {
  BERTH_ASSIGN_OR_RETURN(ImageRecord src, FindImage(ns, source));
  BERTH_ASSIGN_OR_RETURN(Reference ref, ParseReference(target));
  ImageRecord r = src;
  r.name = ref.String();
  r.created_at = r.updated_at = absl::Now();
  std::optional<std::string> previous;
  BERTH_RETURN_IF_ERROR(Commit(
      [&]() -> absl::Status {
        BERTH_ASSIGN_OR_RETURN(previous, store_->PutImage(r));
        return absl::OkStatus();
      },
      {NewEvent(ns, "/images/create", r.name)}));
  if (previous && *previous != r.manifest_digest) CollectGarbage([](uint64_t) {});
  return GetImage(ns, r.name);
}

void Engine::DeleteImage(const std::string& ns, const std::string& ref, bool force,
                         Done<ImageRemoval> done) {
  absl::StatusOr<ImageRecord> r = FindImage(ns, ref);
  if (!r.ok()) return done(r.status());
  absl::StatusOr<std::vector<std::string>> users = store_->ContainersUsing(ns, r->manifest_digest);
  if (!users.ok()) return done(users.status());
  if (!users->empty() && !force) {
    return done(absl::FailedPreconditionError(absl::StrCat(
        "image ", FamiliarName(r->name), " is used by container ", users->front(),
        (users->size() > 1 ? absl::StrCat(" and ", users->size() - 1, " more") : ""),
        ": remove the container first, or use force (the name goes, the layers stay until the "
        "container does)")));
  }
  std::string name = r->name;
  absl::Status st =
      Commit([&] { return store_->DeleteImage(ns, name); }, {NewEvent(ns, "/images/delete", name)});
  if (!st.ok()) return done(st);
  CollectGarbage([done, name](uint64_t bytes) { done(ImageRemoval{{name}, bytes}); });
}

void Engine::PruneImages(const std::string& ns, Done<ImageRemoval> done) {
  absl::StatusOr<std::vector<ImageRecord>> all = store_->ListImages(ns);
  if (!all.ok()) return done(all.status());
  ImageRemoval removal;
  std::vector<EventRecord> events;
  absl::Status st = Commit(
      [&]() -> absl::Status {
        for (const ImageRecord& r : *all) {
          BERTH_ASSIGN_OR_RETURN(std::vector<std::string> users,
                                 store_->ContainersUsing("", r.manifest_digest));
          if (!users.empty()) continue;
          BERTH_RETURN_IF_ERROR(store_->DeleteImage(ns, r.name));
          EventRecord e = NewEvent(ns, "/images/delete", r.name);
          BERTH_RETURN_IF_ERROR(store_->AppendEvent(e).status());
          events.push_back(std::move(e));
          removal.untagged.push_back(r.name);
        }
        return absl::OkStatus();
      },
      {});
  if (!st.ok()) return done(st);
  for (const EventRecord& e : events) hub_.Publish(e);
  CollectGarbage([done, removal](uint64_t bytes) mutable {
    removal.reclaimed_bytes = bytes;
    done(removal);
  });
}

void Engine::CollectGarbage(std::function<void(uint64_t)> done) {
  absl::StatusOr<Garbage> g = store_->CollectGarbage();
  if (!g.ok()) {
    log::Warn(absl::StrCat("image garbage collection: ", g.status().message()));
    return done(0);
  }
  if (g->blobs.empty() && g->layers.empty()) return done(0);
  const ContentStore* content = content_.get();
  const LayerStore* layers = &*layers_;
  Offload<uint64_t>(
      [garbage = *g, content, layers] {
        uint64_t bytes = 0;
        for (const std::string& d : garbage.blobs) {
          if (auto size = content->Size(d); size.ok()) bytes += *size;
          (void)content->Remove(d);
        }
        for (const std::string& c : garbage.layers) {
          bytes += TreeBytes(layers->Dir(c));
          if (absl::Status st = layers->Remove(c); !st.ok()) log::Warn(st.message());
        }
        return bytes;
      },
      std::move(done));
}

void Engine::SweepUnrecorded() {
  // What the database records, read on the engine's thread; the files are
  // removed here, on the caller's (berthd's start, before the API serves).
  auto recorded = Sync<absl::StatusOr<std::pair<std::set<std::string>, std::set<std::string>>>>(
      [this](auto reply) {
        absl::StatusOr<std::vector<std::string>> blobs = store_->AllBlobs();
        absl::StatusOr<std::vector<std::string>> chains = store_->AllLayers();
        if (!blobs.ok()) return reply(blobs.status());
        if (!chains.ok()) return reply(chains.status());
        std::set<std::string> dirs;
        for (const std::string& c : *chains) dirs.insert(fs::path(layers_->Dir(c)).filename());
        reply(std::make_pair(std::set<std::string>(blobs->begin(), blobs->end()), dirs));
      });
  if (!recorded.ok()) {
    log::Warn(absl::StrCat("sweep of unrecorded images: ", recorded.status().message()));
    return;
  }
  const auto& [keep_blobs, keep_dirs] = *recorded;
  content_->SweepIngest();
  layers_->SweepTemporary();
  int removed = 0;
  for (const std::string& d : content_->List()) {
    if (!keep_blobs.contains(d)) removed += content_->Remove(d).ok();
  }
  for (const std::string& dir : layers_->ListDirs()) {
    if (keep_dirs.contains(dir)) continue;
    std::error_code ec;
    fs::remove_all(absl::StrCat(layers_->dir(), "/", dir), ec);
    ++removed;
  }
  if (removed > 0) log::Info(absl::StrCat("removed ", removed, " unrecorded blobs and layers"));
}

void Engine::DiskUsage(Done<ImageDiskUsage> done) {
  ImageDiskUsage u;
  absl::StatusOr<std::vector<ImageRecord>> images = store_->ListImages("");
  if (!images.ok()) return done(images.status());
  u.images = static_cast<uint32_t>(images->size());
  std::map<std::string, std::pair<uint64_t, std::set<std::string>>> layer_users;
  std::set<std::string> blobs;
  for (const ImageRecord& r : *images) {
    absl::StatusOr<ManifestRecord> m = store_->GetManifest(r.manifest_digest);
    if (!m.ok()) continue;
    blobs.insert(m->digest);
    blobs.insert(m->config_digest);
    for (const LayerRecord& l : m->layers) {
      layer_users[l.chain_id].first = l.size;
      layer_users[l.chain_id].second.insert(m->digest);
      if (!l.blob_digest.empty()) blobs.insert(l.blob_digest);
    }
  }
  u.layers = static_cast<uint32_t>(layer_users.size());
  for (const auto& [chain, info] : layer_users) {
    u.layers_bytes += info.first;
    if (info.second.size() > 1) u.shared_bytes += info.first;
  }
  for (const std::string& b : blobs) {
    if (auto size = content_->Size(b); size.ok()) u.blobs_bytes += *size;
  }
  std::vector<std::string> uppers;
  for (const auto& [key, c] : containers_) {
    ++u.containers;
    uppers.push_back(ContainerDir(c.record.ns, c.record.id));
  }
  Offload<ImageDiskUsage>(
      [u, uppers]() mutable {
        for (const std::string& d : uppers) u.containers_bytes += TreeBytes(d);
        return u;
      },
      [done](ImageDiskUsage u) { done(u); });
}

}  // namespace berth::supervisor
