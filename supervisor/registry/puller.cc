#include "supervisor/registry/puller.h"

#include <map>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "lib/errors.h"
#include "supervisor/images/manifest.h"
#include "supervisor/images/reference.h"

namespace berth::supervisor::registry {
namespace {

// Blobs come from the registry, by digest, with the size the manifest gave.
class RegistrySource : public ImageSource {
 public:
  RegistrySource(RegistryClient& client, Reference ref, const ContentStore& content,
                 const ImportOptions& options)
      : client_(client), ref_(std::move(ref)), content_(content), options_(options) {}

  void Expect(const Descriptor& d) {
    std::lock_guard<std::mutex> l(mu_);
    sizes_[d.digest] = d.size;
  }

  absl::StatusOr<std::string> Doc(const std::string& name) override {
    return absl::NotFoundError(absl::StrCat("a registry has no ", name));
  }

  absl::StatusOr<std::string> Blob(const std::string& path,
                                   std::optional<std::string> digest) override {
    if (!digest) return absl::InvalidArgumentError(absl::StrCat("pull: no digest for ", path));
    if (content_.Has(*digest)) return *digest;
    uint64_t size;
    {
      std::lock_guard<std::mutex> l(mu_);
      auto it = sizes_.find(*digest);
      if (it == sizes_.end())
        return absl::InternalError(absl::StrCat("pull: no size for ", *digest));
      size = it->second;
    }
    BERTH_ASSIGN_OR_RETURN(auto writer, content_.NewWriter(*digest, size));
    BERTH_RETURN_IF_ERROR(client_.FetchBlob(ref_, *digest, size, *writer, nullptr));
    BERTH_ASSIGN_OR_RETURN(std::string committed, writer->Commit());
    if (!writer->existed()) NoteAdded(committed);
    if (options_.progress && size > (1 << 20)) {
      options_.progress(absl::StrFormat("pulled %s (%.1f MB)", *digest, size / 1e6));
    }
    return committed;
  }

 private:
  RegistryClient& client_;
  Reference ref_;
  const ContentStore& content_;
  const ImportOptions& options_;
  std::mutex mu_;
  std::map<std::string, uint64_t> sizes_;
};

// A manifest or index from the registry, stored (small, so kept even when
// the pull fails: the sweep at start takes it if nothing records it).
absl::StatusOr<FetchedManifest> FetchAndStore(RegistryClient& client, const Reference& ref,
                                              absl::string_view object, const ContentStore& content,
                                              RegistrySource& src) {
  BERTH_ASSIGN_OR_RETURN(FetchedManifest m, client.FetchManifest(ref, object));
  bool had = content.Has(m.digest);
  BERTH_RETURN_IF_ERROR(content.Put(m.bytes, m.digest).status());
  if (!had) src.NoteAdded(m.digest);
  if (m.media_type.empty() || m.media_type == "application/json") {
    m.media_type = DeclaredMediaType(m.bytes);
  }
  return m;
}

absl::StatusOr<ImportResult> Pull(RegistryClient& client, const Reference& ref,
                                  const ImportOptions& options, const ContentStore& content,
                                  const LayerStore& layers, RegistrySource& src,
                                  std::vector<std::string>* unpacked) {
  std::string shown = ref.Familiar();
  if (options.progress) options.progress(absl::StrCat("pulling ", shown));
  BERTH_ASSIGN_OR_RETURN(FetchedManifest top,
                         FetchAndStore(client, ref, ref.Object(), content, src));
  FetchedManifest manifest = top;
  if (IsIndexType(top.media_type)) {
    BERTH_ASSIGN_OR_RETURN(Index index, ParseIndex(top.bytes, absl::StrCat("index of ", shown)));
    BERTH_ASSIGN_OR_RETURN(Descriptor d,
                           SelectPlatform(index, options.platform, absl::StrCat("image ", shown)));
    BERTH_ASSIGN_OR_RETURN(manifest, FetchAndStore(client, ref, d.digest, content, src));
  }
  if (!IsManifestType(manifest.media_type)) {
    return absl::InvalidArgumentError(
        absl::StrCat(shown, ": media type \"", manifest.media_type, "\" is not an image manifest"));
  }
  BERTH_ASSIGN_OR_RETURN(Manifest m,
                         ParseManifest(manifest.bytes, absl::StrCat("manifest of ", shown)));
  src.Expect(m.config);
  for (const Descriptor& l : m.layers) src.Expect(l);
  ImageToImport wanted{ref.String(), manifest.digest};
  return ImportManifests(src, {wanted}, options, content, layers, unpacked);
}

}  // namespace

absl::StatusOr<ImportResult> PullImage(RegistryClient& client, const std::string& reference,
                                       const ImportOptions& options, const ContentStore& content,
                                       const LayerStore& layers) {
  BERTH_ASSIGN_OR_RETURN(Reference ref, ParseReference(reference));
  RegistrySource src(client, ref, content, options);
  std::vector<std::string> unpacked;
  absl::StatusOr<ImportResult> r = Pull(client, ref, options, content, layers, src, &unpacked);
  if (!r.ok()) {
    for (const std::string& d : src.TakeAdded()) (void)content.Remove(d);
    for (const std::string& c : unpacked) (void)layers.Remove(c);
    return absl::Status(r.status().code(),
                        absl::StrCat("pull ", ref.Familiar(), ": ", r.status().message()));
  }
  return r;
}

}  // namespace berth::supervisor::registry
