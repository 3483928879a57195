#include "supervisor/images/importer.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "lib/errors.h"
#include "lib/file_util.h"
#include "lib/json_tree.h"
#include "lib/unique_fd.h"
#include "supervisor/images/reference.h"

namespace berth::supervisor {
namespace {

constexpr uint64_t kMaxDocument = 16 << 20;  // index.json, manifest.json, configs
constexpr const char* kDocs[] = {"index.json", "manifest.json", "oci-layout", "repositories"};

bool IsDoc(absl::string_view name) {
  for (const char* d : kDocs) {
    if (name == d) return true;
  }
  return false;
}

std::string CleanPath(absl::string_view p) {
  while (absl::ConsumePrefix(&p, "./") || absl::ConsumePrefix(&p, "/")) {
  }
  return std::string(p);
}

std::string Megabytes(uint64_t n) { return absl::StrFormat("%.1f MB", n / 1e6); }

// A tar (or compressed tar) read in one pass: every file is streamed into
// the content store as it comes (their order in the archive is arbitrary).
class TarSource : public ImageSource {
 public:
  static absl::StatusOr<std::unique_ptr<TarSource>> Read(const std::string& path,
                                                         const ContentStore& content) {
    auto src = std::make_unique<TarSource>();
    std::unique_ptr<struct archive, int (*)(struct archive*)> a(archive_read_new(),
                                                                archive_read_free);
    archive_read_support_format_tar(a.get());
    archive_read_support_format_gnutar(a.get());
    archive_read_support_filter_gzip(a.get());
    archive_read_support_filter_zstd(a.get());
    archive_read_support_filter_xz(a.get());
    auto fail = [&](absl::string_view what) {
      src->RemoveAdded(content);
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": ", what, ": ", archive_error_string(a.get())));
    };
    if (archive_read_open_filename(a.get(), path.c_str(), 1 << 20) != ARCHIVE_OK) {
      return fail("cannot read it as an image archive");
    }
    for (;;) {
      struct archive_entry* e;
      int rc = archive_read_next_header(a.get(), &e);
      if (rc == ARCHIVE_EOF) break;
      if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) return fail("not a valid tar");
      if (archive_entry_filetype(e) != AE_IFREG) continue;
      std::string name = CleanPath(archive_entry_pathname(e));
      absl::Status st = src->Entry(a.get(), e, name, content);
      if (!st.ok()) {
        src->RemoveAdded(content);
        return absl::Status(st.code(), absl::StrCat(path, ": ", name, ": ", st.message()));
      }
    }
    return src;
  }

  absl::StatusOr<std::string> Doc(const std::string& name) override {
    auto it = docs_.find(name);
    if (it == docs_.end()) return absl::NotFoundError(absl::StrCat("no ", name));
    return it->second;
  }

  absl::StatusOr<std::string> Blob(const std::string& path,
                                   std::optional<std::string> digest) override {
    auto it = blobs_.find(CleanPath(path));
    if (it == blobs_.end()) {
      return absl::NotFoundError(absl::StrCat("the archive has no file ", path));
    }
    if (digest && *digest != it->second) {
      return absl::DataLossError(absl::StrCat(path, " hashes to ", it->second, ", not ", *digest));
    }
    return it->second;
  }

  void RemoveAdded(const ContentStore& content) {
    for (const std::string& d : TakeAdded()) (void)content.Remove(d);
  }

 private:
  absl::Status Entry(struct archive* a, struct archive_entry* e, const std::string& name,
                     const ContentStore& content) {
    if (IsDoc(name)) {
      if (archive_entry_size(e) > static_cast<la_int64_t>(kMaxDocument)) {
        return absl::InvalidArgumentError("too large");
      }
      std::string data(static_cast<size_t>(archive_entry_size(e)), '\0');
      if (archive_read_data(a, data.data(), data.size()) != static_cast<la_ssize_t>(data.size())) {
        return absl::DataLossError(archive_error_string(a));
      }
      docs_[name] = std::move(data);
      return absl::OkStatus();
    }
    std::optional<std::string> expected;
    if (absl::StartsWith(name, "blobs/sha256/")) {
      expected = absl::StrCat("sha256:", name.substr(13));
      BERTH_RETURN_IF_ERROR(CheckDigest(*expected, name));
    }
    BERTH_ASSIGN_OR_RETURN(auto w, content.NewWriter(expected, archive_entry_size(e)));
    for (;;) {
      const void* buf;
      size_t size;
      la_int64_t offset;
      int rc = archive_read_data_block(a, &buf, &size, &offset);
      if (rc == ARCHIVE_EOF) break;
      if (rc != ARCHIVE_OK) return absl::DataLossError(archive_error_string(a));
      BERTH_RETURN_IF_ERROR(w->Write(absl::string_view(static_cast<const char*>(buf), size)));
    }
    BERTH_ASSIGN_OR_RETURN(std::string digest, w->Commit());
    if (!w->existed()) NoteAdded(digest);
    blobs_[name] = digest;
    return absl::OkStatus();
  }

  std::map<std::string, std::string> docs_;
  std::map<std::string, std::string> blobs_;  // path -> digest
};

// A directory: files are read (inside it: openat2 RESOLVE_IN_ROOT) when asked.
class DirSource : public ImageSource {
 public:
  explicit DirSource(UniqueFd dir, std::string path, const ContentStore& content)
      : dir_(std::move(dir)), path_(std::move(path)), content_(content) {}

  absl::StatusOr<std::string> Doc(const std::string& name) override {
    BERTH_ASSIGN_OR_RETURN(UniqueFd fd, Open(name));
    struct stat st;
    if (::fstat(fd.get(), &st) != 0 || static_cast<uint64_t>(st.st_size) > kMaxDocument) {
      return absl::InvalidArgumentError(absl::StrCat(path_, "/", name, ": too large"));
    }
    std::string data(static_cast<size_t>(st.st_size), '\0');
    if (::pread(fd.get(), data.data(), data.size(), 0) != static_cast<ssize_t>(data.size())) {
      return ErrnoError(absl::StrCat("read ", path_, "/", name));
    }
    return data;
  }

  absl::StatusOr<std::string> Blob(const std::string& path,
                                   std::optional<std::string> digest) override {
    if (digest && content_.Has(*digest)) return *digest;
    BERTH_ASSIGN_OR_RETURN(UniqueFd fd, Open(CleanPath(path)));
    BERTH_ASSIGN_OR_RETURN(auto w, content_.NewWriter(digest, std::nullopt));
    std::string buf(1 << 20, '\0');
    for (;;) {
      ssize_t n = ::read(fd.get(), buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return ErrnoError(absl::StrCat("read ", path_, "/", path));
      if (n == 0) break;
      BERTH_RETURN_IF_ERROR(w->Write(absl::string_view(buf.data(), static_cast<size_t>(n))));
    }
    auto committed = w->Commit();
    if (!committed.ok()) {
      return absl::Status(committed.status().code(),
                          absl::StrCat(path_, "/", path, ": ", committed.status().message()));
    }
    if (!w->existed()) NoteAdded(*committed);
    return *committed;
  }

 private:
  absl::StatusOr<UniqueFd> Open(const std::string& name) {
    UniqueFd fd(OpenAt2(dir_.get(), name, O_RDONLY, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS));
    if (!fd) {
      if (errno == ENOENT) return absl::NotFoundError(absl::StrCat(path_, " has no ", name));
      return ErrnoError(absl::StrCat("open ", path_, "/", name));
    }
    return fd;
  }

  UniqueFd dir_;
  std::string path_;
  const ContentStore& content_;
};

// The archive's name for an image, made a full reference; `tag_only` names
// ("latest") take their repository from options.name.
absl::StatusOr<std::string> ImageName(const std::string& given, const ImportOptions& o) {
  if (given.empty()) {
    if (o.name.empty()) {
      return absl::InvalidArgumentError(
          "the archive does not name its image: give it a name (berthctl images import --name)");
    }
    BERTH_ASSIGN_OR_RETURN(Reference r, ParseReference(o.name));
    return r.String();
  }
  bool tag_only = given.find_first_of(":/@") == std::string::npos;
  if (tag_only) {
    if (o.name.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("the archive names its image only by the tag \"", given,
                       "\": give the repository with --name (the image becomes NAME:", given, ")"));
    }
    BERTH_ASSIGN_OR_RETURN(Reference r, ParseReference(o.name));
    r.tag = given;
    r.digest.clear();
    return r.String();
  }
  BERTH_ASSIGN_OR_RETURN(Reference r, ParseReference(given));
  return r.String();
}

std::string BlobPath(const std::string& digest) {
  return absl::StrCat("blobs/sha256/", DigestHex(digest));
}

// A blob a document names: in the store already (a docker save archive's
// files are stored under their own digests), else the layout's
// blobs/sha256/<hex>.
}  // namespace

absl::Status EnsureBlob(ImageSource& src, const ContentStore& content, const std::string& digest) {
  if (content.Has(digest)) return absl::OkStatus();
  return src.Blob(BlobPath(digest), digest).status();
}

namespace {

// An index entry down to one manifest (nested indexes by platform).
absl::StatusOr<Descriptor> ResolveToManifest(ImageSource& src, const ContentStore& content,
                                             Descriptor d, const Platform& platform) {
  for (int depth = 0; depth < 8; ++depth) {
    BERTH_RETURN_IF_ERROR(EnsureBlob(src, content, d.digest));
    std::string media_type = d.media_type;
    BERTH_ASSIGN_OR_RETURN(std::string text, content.Read(d.digest, kMaxDocument));
    if (media_type.empty()) media_type = DeclaredMediaType(text);
    if (IsManifestType(media_type) ||
        (media_type.empty() && !absl::StrContains(text, "\"manifests\""))) {
      return d;
    }
    if (!IsIndexType(media_type)) {
      return absl::InvalidArgumentError(absl::StrCat(d.digest, ": media type \"", media_type,
                                                     "\" is not an image manifest or index"));
    }
    BERTH_ASSIGN_OR_RETURN(Index nested, ParseIndex(text, absl::StrCat("index ", d.digest)));
    BERTH_ASSIGN_OR_RETURN(d, SelectPlatform(nested, platform, absl::StrCat("index ", d.digest)));
  }
  return absl::InvalidArgumentError("indexes nested more than 8 deep");
}

absl::StatusOr<std::vector<ImageToImport>> FromIndex(ImageSource& src, const ContentStore& content,
                                                     const std::string& text,
                                                     const ImportOptions& o) {
  BERTH_ASSIGN_OR_RETURN(Index index, ParseIndex(text, "index.json"));
  // Entries grouped by name; several under one name are platforms of it.
  std::map<std::string, Index> by_name;
  for (const Descriptor& d : index.manifests) {
    std::string given;
    if (auto it = d.annotations.find("io.containerd.image.name"); it != d.annotations.end()) {
      given = it->second;
    } else if (auto ref = d.annotations.find("org.opencontainers.image.ref.name");
               ref != d.annotations.end()) {
      given = ref->second;
    }
    BERTH_ASSIGN_OR_RETURN(std::string name, ImageName(given, o));
    by_name[name].manifests.push_back(d);
  }
  std::vector<ImageToImport> out;
  for (auto& [name, group] : by_name) {
    Descriptor d = group.manifests[0];
    if (group.manifests.size() > 1) {
      BERTH_ASSIGN_OR_RETURN(d,
                             SelectPlatform(group, o.platform, absl::StrCat("index.json: ", name)));
    }
    BERTH_ASSIGN_OR_RETURN(Descriptor m, ResolveToManifest(src, content, d, o.platform));
    out.push_back({name, m.digest});
  }
  if (out.empty()) return absl::InvalidArgumentError("index.json lists no image");
  return out;
}

// The first bytes of a layer file: what compression it has.
absl::StatusOr<std::string> LayerMediaTypeByContent(const ContentStore& content,
                                                    const std::string& digest) {
  BERTH_ASSIGN_OR_RETURN(UniqueFd fd, content.OpenBlob(digest));
  unsigned char magic[4] = {};
  ssize_t n = ::pread(fd.get(), magic, sizeof magic, 0);
  if (n >= 2 && magic[0] == 0x1f && magic[1] == 0x8b) return std::string(media::kOciLayerGzip);
  if (n == 4 && magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f && magic[3] == 0xfd) {
    return std::string(media::kOciLayerZstd);
  }
  return std::string(media::kOciLayer);
}

// docker save's manifest.json: [{"Config": "x.json", "RepoTags": [...], "Layers": [...]}].
absl::StatusOr<std::vector<ImageToImport>> FromDockerManifest(ImageSource& src,
                                                              const ContentStore& content,
                                                              const std::string& text,
                                                              const ImportOptions& o) {
  BERTH_ASSIGN_OR_RETURN(auto doc, json::Document::Parse(text, "manifest.json"));
  json::Value root = doc->root();
  if (!root.is_array()) return root.Error("manifest.json: must be an array");
  std::vector<ImageToImport> out;
  for (const json::Value& entry : root.Elements()) {
    BERTH_ASSIGN_OR_RETURN(std::string config_path, entry.Get("Config").AsString());
    BERTH_ASSIGN_OR_RETURN(std::string config_digest, src.Blob(config_path, std::nullopt));
    Descriptor config{std::string(media::kOciConfig), config_digest, 0, false, {}, {}};
    BERTH_ASSIGN_OR_RETURN(config.size, content.Size(config_digest));
    std::vector<Descriptor> layers;
    json::Value list = entry.Get("Layers");
    if (!list.is_array()) return list.Error("manifest.json: must be an array of layer paths");
    for (const json::Value& l : list.Elements()) {
      BERTH_ASSIGN_OR_RETURN(std::string layer_path, l.AsString());
      BERTH_ASSIGN_OR_RETURN(std::string digest, src.Blob(layer_path, std::nullopt));
      Descriptor d;
      d.digest = digest;
      BERTH_ASSIGN_OR_RETURN(d.size, content.Size(digest));
      BERTH_ASSIGN_OR_RETURN(d.media_type, LayerMediaTypeByContent(content, digest));
      layers.push_back(std::move(d));
    }
    BERTH_ASSIGN_OR_RETURN(std::string manifest_digest,
                           content.Put(RenderManifest(config, layers)));
    std::vector<std::string> tags;
    if (json::Value t = entry.Get("RepoTags"); !t.missing() && !t.is_null()) {
      BERTH_ASSIGN_OR_RETURN(tags, t.AsStringArray());
    }
    if (tags.empty()) tags.push_back("");
    for (const std::string& tag : tags) {
      BERTH_ASSIGN_OR_RETURN(std::string name, ImageName(tag, o));
      out.push_back({name, manifest_digest});
    }
  }
  if (out.empty()) return absl::InvalidArgumentError("manifest.json lists no image");
  return out;
}

struct LayerJob {
  Descriptor blob;
  std::string diff_id, chain_id;
};

absl::Status UnpackAll(ImageSource& src, const std::vector<LayerJob>& jobs,
                       const ContentStore& content, const LayerStore& layers,
                       const ImportOptions& o, std::map<std::string, LayerInfo>* done) {
  // Independent layers unpack at once, a few at a time.
  size_t parallel = std::max(2u, std::thread::hardware_concurrency());
  std::vector<std::pair<const LayerJob*, std::future<absl::StatusOr<LayerInfo>>>> running;
  absl::Status first_error;
  auto collect = [&](size_t keep) {
    while (running.size() > keep) {
      auto [job, fut] = std::move(running.front());
      running.erase(running.begin());
      absl::StatusOr<LayerInfo> r = fut.get();
      if (r.ok()) {
        (*done)[job->chain_id] = *r;
      } else {
        first_error.Update(r.status());
      }
    }
  };
  for (const LayerJob& job : jobs) {
    if (done->contains(job.chain_id)) continue;
    if (o.progress)
      o.progress(
          absl::StrCat("unpacking layer ", job.blob.digest, " (", Megabytes(job.blob.size), ")"));
    running.emplace_back(
        &job, std::async(std::launch::async,
                         [&src, &content, &layers, &job]() -> absl::StatusOr<LayerInfo> {
                           // Fetched (a pull) or found (an archive) here, so that layers
                           // download and unpack at once.
                           BERTH_RETURN_IF_ERROR(EnsureBlob(src, content, job.blob.digest));
                           BERTH_ASSIGN_OR_RETURN(Compression c,
                                                  LayerCompression(job.blob.media_type));
                           BERTH_ASSIGN_OR_RETURN(UniqueFd fd, content.OpenBlob(job.blob.digest));
                           return layers.Unpack(fd.get(), c, job.diff_id, job.chain_id,
                                                absl::StrCat("layer ", job.blob.digest));
                         }));
    collect(parallel - 1);
  }
  collect(0);
  return first_error;
}

absl::StatusOr<std::vector<ImageToImport>> ArchiveImages(ImageSource& src,
                                                         const ContentStore& content,
                                                         const ImportOptions& o) {
  if (auto index = src.Doc("index.json"); index.ok()) return FromIndex(src, content, *index, o);
  if (auto manifest = src.Doc("manifest.json"); manifest.ok()) {
    return FromDockerManifest(src, content, *manifest, o);
  }
  return absl::InvalidArgumentError(
      "not an image archive: it has neither index.json (an OCI image layout) nor manifest.json "
      "(docker save)");
}

}  // namespace

absl::StatusOr<ImportResult> ImportManifests(ImageSource& src,
                                             const std::vector<ImageToImport>& wanted,
                                             const ImportOptions& o, const ContentStore& content,
                                             const LayerStore& layers,
                                             std::vector<std::string>* unpacked_now) {
  ImportResult result;
  std::vector<LayerJob> jobs;
  for (const ImageToImport& w : wanted) {
    std::string what = absl::StrCat("manifest ", w.manifest_digest);
    BERTH_ASSIGN_OR_RETURN(std::string mtext, content.Read(w.manifest_digest, kMaxDocument));
    BERTH_ASSIGN_OR_RETURN(Manifest m, ParseManifest(mtext, what));
    BERTH_RETURN_IF_ERROR(EnsureBlob(src, content, m.config.digest));
    BERTH_ASSIGN_OR_RETURN(std::string ctext, content.Read(m.config.digest, kMaxDocument));
    BERTH_ASSIGN_OR_RETURN(ImageConfig config,
                           ParseImageConfig(ctext, absl::StrCat("image config ", m.config.digest)));
    if (config.diff_ids.size() != m.layers.size()) {
      return absl::InvalidArgumentError(absl::StrCat(what, " has ", m.layers.size(),
                                                     " layers but its config lists ",
                                                     config.diff_ids.size(), " diff ids"));
    }
    std::vector<std::string> chain = ChainIds(config.diff_ids);
    ImageRecordDraft img;
    img.name = w.name;
    img.manifest_digest = w.manifest_digest;
    img.manifest_size = mtext.size();
    img.config_digest = m.config.digest;
    img.config_size = ctext.size();
    img.media_type = DeclaredMediaType(mtext);
    if (img.media_type.empty()) img.media_type = std::string(media::kOciManifest);
    img.platform = config.platform;
    for (size_t i = 0; i < m.layers.size(); ++i) {
      BERTH_RETURN_IF_ERROR(LayerCompression(m.layers[i].media_type).status());
      img.layers.push_back({chain[i], config.diff_ids[i], 0});
      if (layers.Has(chain[i])) continue;  // only layers to unpack need their blob
      jobs.push_back({m.layers[i], config.diff_ids[i], chain[i]});
      if (o.keep_layer_blobs) img.layer_blobs.push_back(m.layers[i].digest);
    }
    result.images.push_back(std::move(img));
  }
  std::map<std::string, LayerInfo> unpacked;
  absl::Status st = UnpackAll(src, jobs, content, layers, o, &unpacked);
  for (const auto& [chain_id, info] : unpacked) {
    unpacked_now->push_back(chain_id);
    result.bytes_unpacked += info.size;
  }
  BERTH_RETURN_IF_ERROR(st);
  for (ImageRecordDraft& img : result.images) {
    for (LayerInfo& l : img.layers) {
      if (auto it = unpacked.find(l.chain_id); it != unpacked.end()) l.size = it->second.size;
    }
  }
  if (!o.keep_layer_blobs) {
    for (const LayerJob& j : jobs) {
      if (src.ForgetAdded(j.blob.digest)) (void)content.Remove(j.blob.digest);
    }
  }
  return result;
}

absl::StatusOr<ImportResult> ImportArchive(const std::string& path, const ImportOptions& options,
                                           const ContentStore& content, const LayerStore& layers) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return ErrnoError(absl::StrCat("import ", path));
  std::unique_ptr<ImageSource> src;
  if (S_ISDIR(st.st_mode)) {
    UniqueFd dir(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dir) return ErrnoError(absl::StrCat("open ", path));
    src = std::make_unique<DirSource>(std::move(dir), path, content);
  } else {
    if (options.progress) options.progress(absl::StrCat("reading ", path));
    BERTH_ASSIGN_OR_RETURN(src, TarSource::Read(path, content));
  }
  std::vector<std::string> unpacked_now;
  absl::StatusOr<std::vector<ImageToImport>> wanted = ArchiveImages(*src, content, options);
  absl::StatusOr<ImportResult> r =
      wanted.ok() ? ImportManifests(*src, *wanted, options, content, layers, &unpacked_now)
                  : absl::StatusOr<ImportResult>(wanted.status());
  if (!r.ok()) {
    // Nothing of a failed import stays: what it added is not recorded anywhere.
    for (const std::string& d : src->TakeAdded()) (void)content.Remove(d);
    for (const std::string& c : unpacked_now) (void)layers.Remove(c);
    return absl::Status(r.status().code(),
                        absl::StrCat("import ", path, ": ", r.status().message()));
  }
  return r;
}

}  // namespace berth::supervisor
