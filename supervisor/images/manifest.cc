#include "supervisor/images/manifest.h"

#include <sys/utsname.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "lib/errors.h"
#include "lib/json_tree.h"
#include "lib/json_writer.h"
#include "supervisor/content/digest.h"

namespace berth::supervisor {
namespace {

using json::Value;

absl::Status Prefixed(absl::string_view what, const absl::Status& st) {
  return absl::Status(st.code(), absl::StrCat(what, ": ", st.message()));
}

absl::StatusOr<std::string> OptString(const Value& v) {
  if (v.missing() || v.is_null()) return std::string();
  return v.AsString();
}

absl::Status OptStrings(const Value& v, std::vector<std::string>* out, bool* present = nullptr) {
  if (v.missing() || v.is_null()) return absl::OkStatus();
  BERTH_ASSIGN_OR_RETURN(*out, v.AsStringArray());
  if (present) *present = true;
  return absl::OkStatus();
}

absl::Status StringMap(const Value& v, std::map<std::string, std::string>* out) {
  if (v.missing() || v.is_null()) return absl::OkStatus();
  if (!v.is_object()) return v.Error("must be an object");
  for (const auto& [k, val] : v.Members()) {
    BERTH_ASSIGN_OR_RETURN((*out)[k], val.AsString());
  }
  return absl::OkStatus();
}

// The keys of an object ({"80/tcp": {}} -> ["80/tcp"]).
absl::Status Keys(const Value& v, std::vector<std::string>* out) {
  if (v.missing() || v.is_null()) return absl::OkStatus();
  if (!v.is_object()) return v.Error("must be an object");
  for (const auto& [k, val] : v.Members()) out->push_back(k);
  return absl::OkStatus();
}

absl::StatusOr<Descriptor> ParseDescriptor(const Value& v) {
  if (!v.is_object()) return v.Error("must be a descriptor object");
  Descriptor d;
  BERTH_ASSIGN_OR_RETURN(d.media_type, OptString(v.Get("mediaType")));
  Value digest = v.Get("digest");
  BERTH_ASSIGN_OR_RETURN(d.digest, digest.AsString());
  BERTH_RETURN_IF_ERROR(CheckDigest(d.digest, digest.path()));
  BERTH_ASSIGN_OR_RETURN(d.size, v.Get("size").AsUint64());
  if (Value p = v.Get("platform"); !p.missing()) {
    d.has_platform = true;
    BERTH_ASSIGN_OR_RETURN(d.platform.os, p.Get("os").AsString());
    BERTH_ASSIGN_OR_RETURN(d.platform.architecture, p.Get("architecture").AsString());
    BERTH_ASSIGN_OR_RETURN(d.platform.variant, OptString(p.Get("variant")));
  }
  BERTH_RETURN_IF_ERROR(StringMap(v.Get("annotations"), &d.annotations));
  return d;
}

absl::StatusOr<std::unique_ptr<json::Document>> Parse(absl::string_view text,
                                                      absl::string_view what) {
  BERTH_ASSIGN_OR_RETURN(auto doc, json::Document::Parse(text, what));
  if (!doc->root().is_object())
    return absl::InvalidArgumentError(absl::StrCat(what, ": not an object"));
  return doc;
}

}  // namespace

std::string Platform::String() const {
  std::string s = absl::StrCat(os, "/", architecture);
  if (!variant.empty()) absl::StrAppend(&s, "/", variant);
  return s;
}

Platform HostPlatform() {
  struct utsname u;
  ::uname(&u);
  absl::string_view m = u.machine;
  if (m == "x86_64") return {"linux", "amd64", ""};
  if (m == "aarch64") return {"linux", "arm64", ""};
  if (m == "i686" || m == "i386") return {"linux", "386", ""};
  if (absl::StartsWith(m, "armv7")) return {"linux", "arm", "v7"};
  return {"linux", std::string(m), ""};
}

absl::StatusOr<Platform> ParsePlatform(absl::string_view s) {
  if (s.empty()) return HostPlatform();
  std::vector<std::string> parts = absl::StrSplit(s, '/');
  if (parts.size() < 2 || parts.size() > 3 || parts[0].empty() || parts[1].empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("platform \"", s, "\": expected os/architecture[/variant]"));
  }
  return Platform{parts[0], parts[1], parts.size() == 3 ? parts[2] : ""};
}

bool IsIndexType(absl::string_view t) { return t == media::kOciIndex || t == media::kDockerList; }

bool IsManifestType(absl::string_view t) {
  return t == media::kOciManifest || t == media::kDockerManifest;
}

absl::StatusOr<Compression> LayerCompression(absl::string_view t) {
  if (t == media::kOciLayer || t == media::kDockerLayer) return Compression::kNone;
  if (t == media::kOciLayerGzip || t == media::kDockerLayerGzip ||
      t == media::kDockerForeignLayer) {
    return Compression::kGzip;
  }
  if (t == media::kOciLayerZstd) return Compression::kZstd;
  return absl::InvalidArgumentError(absl::StrCat("layer media type \"", t, "\" is not supported"));
}

std::string DeclaredMediaType(absl::string_view text) {
  auto doc = json::Document::Parse(text, "document");
  if (!doc.ok()) return "";
  auto t = OptString((*doc)->root().Get("mediaType"));
  return t.ok() ? *t : "";
}

absl::StatusOr<Index> ParseIndex(absl::string_view text, absl::string_view what) {
  BERTH_ASSIGN_OR_RETURN(auto doc, Parse(text, what));
  Index index;
  Value list = doc->root().Get("manifests");
  if (!list.is_array()) return Prefixed(what, list.Error("must be an array"));
  for (const Value& m : list.Elements()) {
    auto d = ParseDescriptor(m);
    if (!d.ok()) return Prefixed(what, d.status());
    index.manifests.push_back(*std::move(d));
  }
  return index;
}

absl::StatusOr<Manifest> ParseManifest(absl::string_view text, absl::string_view what) {
  BERTH_ASSIGN_OR_RETURN(auto doc, Parse(text, what));
  Manifest m;
  auto config = ParseDescriptor(doc->root().Get("config"));
  if (!config.ok()) return Prefixed(what, config.status());
  m.config = *std::move(config);
  Value layers = doc->root().Get("layers");
  if (!layers.is_array()) return Prefixed(what, layers.Error("must be an array"));
  for (const Value& l : layers.Elements()) {
    auto d = ParseDescriptor(l);
    if (!d.ok()) return Prefixed(what, d.status());
    m.layers.push_back(*std::move(d));
  }
  return m;
}

absl::StatusOr<ImageConfig> ParseImageConfig(absl::string_view text, absl::string_view what) {
  BERTH_ASSIGN_OR_RETURN(auto doc, Parse(text, what));
  Value root = doc->root();
  ImageConfig c;
  auto read = [&]() -> absl::Status {
    BERTH_ASSIGN_OR_RETURN(c.platform.os, OptString(root.Get("os")));
    BERTH_ASSIGN_OR_RETURN(c.platform.architecture, OptString(root.Get("architecture")));
    BERTH_ASSIGN_OR_RETURN(c.platform.variant, OptString(root.Get("variant")));
    BERTH_ASSIGN_OR_RETURN(c.created, OptString(root.Get("created")));
    Value cfg = root.Get("config");
    if (!cfg.missing() && !cfg.is_null()) {
      BERTH_ASSIGN_OR_RETURN(c.user, OptString(cfg.Get("User")));
      BERTH_ASSIGN_OR_RETURN(c.working_dir, OptString(cfg.Get("WorkingDir")));
      BERTH_ASSIGN_OR_RETURN(c.stop_signal, OptString(cfg.Get("StopSignal")));
      BERTH_RETURN_IF_ERROR(OptStrings(cfg.Get("Entrypoint"), &c.entrypoint, &c.has_entrypoint));
      BERTH_RETURN_IF_ERROR(OptStrings(cfg.Get("Cmd"), &c.cmd, &c.has_cmd));
      BERTH_RETURN_IF_ERROR(OptStrings(cfg.Get("Env"), &c.env));
      BERTH_RETURN_IF_ERROR(StringMap(cfg.Get("Labels"), &c.labels));
      BERTH_RETURN_IF_ERROR(Keys(cfg.Get("ExposedPorts"), &c.exposed_ports));
      BERTH_RETURN_IF_ERROR(Keys(cfg.Get("Volumes"), &c.volumes));
    }
    Value rootfs = root.Get("rootfs");
    if (!rootfs.is_object()) return rootfs.Error("must be an object with diff_ids");
    BERTH_RETURN_IF_ERROR(OptStrings(rootfs.Get("diff_ids"), &c.diff_ids));
    for (size_t i = 0; i < c.diff_ids.size(); ++i) {
      BERTH_RETURN_IF_ERROR(CheckDigest(c.diff_ids[i], absl::StrCat("rootfs.diff_ids[", i, "]")));
    }
    return absl::OkStatus();
  };
  if (absl::Status st = read(); !st.ok()) return Prefixed(what, st);
  return c;
}

absl::StatusOr<Descriptor> SelectPlatform(const Index& index, const Platform& want,
                                          absl::string_view what) {
  const Descriptor* best = nullptr;
  std::vector<std::string> seen;
  for (const Descriptor& d : index.manifests) {
    if (!d.has_platform) {
      seen.push_back("(no platform)");
      continue;
    }
    seen.push_back(d.platform.String());
    if (d.platform.os != want.os || d.platform.architecture != want.architecture) continue;
    if (!want.variant.empty()) {
      if (d.platform.variant == want.variant) return d;
      continue;
    }
    if (best == nullptr || (!best->platform.variant.empty() && d.platform.variant.empty()))
      best = &d;
  }
  if (best != nullptr) return *best;
  // An index of one manifest without a platform (umoci, skopeo's OCI layouts).
  if (index.manifests.size() == 1 && !index.manifests[0].has_platform) return index.manifests[0];
  return absl::NotFoundError(absl::StrCat(what, ": no image for platform ", want.String(),
                                          " (it has: ", absl::StrJoin(seen, ", "), ")"));
}

std::vector<std::string> ChainIds(const std::vector<std::string>& diff_ids) {
  std::vector<std::string> out;
  for (const std::string& d : diff_ids) {
    out.push_back(out.empty() ? d : Sha256::Of(absl::StrCat(out.back(), " ", d)));
  }
  return out;
}

std::string RenderManifest(const Descriptor& config, const std::vector<Descriptor>& layers) {
  JsonWriter w;
  auto descriptor = [&w](const Descriptor& d) {
    w.BeginObject();
    w.Key("mediaType").String(d.media_type);
    w.Key("digest").String(d.digest);
    w.Key("size").Uint(d.size);
    w.EndObject();
  };
  w.BeginObject();
  w.Key("schemaVersion").Int(2);
  w.Key("mediaType").String(media::kOciManifest);
  w.Key("config");
  descriptor(config);
  w.Key("layers").BeginArray();
  for (const Descriptor& l : layers) descriptor(l);
  w.EndArray();
  w.EndObject();
  return w.Take();
}

}  // namespace berth::supervisor
