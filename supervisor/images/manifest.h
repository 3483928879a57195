// The OCI image-spec's documents (and Docker's schema 2 twins): descriptors,
// indexes, manifests and image configs, parsed with errors naming the field.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace berth::supervisor {

namespace media {
inline constexpr absl::string_view kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr absl::string_view kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr absl::string_view kOciConfig = "application/vnd.oci.image.config.v1+json";
inline constexpr absl::string_view kOciLayer = "application/vnd.oci.image.layer.v1.tar";
inline constexpr absl::string_view kOciLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr absl::string_view kOciLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd";
inline constexpr absl::string_view kDockerList =
    "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr absl::string_view kDockerManifest =
    "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr absl::string_view kDockerConfig = "application/vnd.docker.container.image.v1+json";
inline constexpr absl::string_view kDockerLayer = "application/vnd.docker.image.rootfs.diff.tar";
inline constexpr absl::string_view kDockerLayerGzip =
    "application/vnd.docker.image.rootfs.diff.tar.gzip";
inline constexpr absl::string_view kDockerForeignLayer =
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
}  // namespace media

enum class Compression { kNone, kGzip, kZstd };

struct Platform {
  std::string os, architecture, variant;
  std::string String() const;  // "linux/amd64", "linux/arm/v7"
};

// "linux/amd64[/variant]"; empty: the host's.
absl::StatusOr<Platform> ParsePlatform(absl::string_view s);
Platform HostPlatform();

struct Descriptor {
  std::string media_type;
  std::string digest;
  uint64_t size = 0;
  bool has_platform = false;
  Platform platform;
  std::map<std::string, std::string> annotations;
};

struct Index {
  std::vector<Descriptor> manifests;
};

struct Manifest {
  Descriptor config;
  std::vector<Descriptor> layers;
};

struct ImageConfig {
  Platform platform;
  std::string created;  // RFC 3339, as written
  std::string user, working_dir, stop_signal;
  std::vector<std::string> entrypoint, cmd, env;
  bool has_entrypoint = false, has_cmd = false;
  std::map<std::string, std::string> labels;
  std::vector<std::string> exposed_ports, volumes;
  std::vector<std::string> diff_ids;  // rootfs.diff_ids, bottom layer first
};

bool IsIndexType(absl::string_view media_type);
bool IsManifestType(absl::string_view media_type);
// The compression of a layer media type; an error names the type when it is
// not a layer berth can unpack.
absl::StatusOr<Compression> LayerCompression(absl::string_view media_type);

// `what` names the document in errors ("index.json", "manifest sha256:...").
absl::StatusOr<Index> ParseIndex(absl::string_view json, absl::string_view what);
absl::StatusOr<Manifest> ParseManifest(absl::string_view json, absl::string_view what);
absl::StatusOr<ImageConfig> ParseImageConfig(absl::string_view json, absl::string_view what);
// The mediaType a document declares ("" when it has none).
std::string DeclaredMediaType(absl::string_view json);

// The entry of an index for `want`: os and architecture equal, the variant
// equal when asked for (else the first, preferring none). NOT_FOUND lists
// the platforms there are.
absl::StatusOr<Descriptor> SelectPlatform(const Index& index, const Platform& want,
                                          absl::string_view what);

// ChainID(L0) = DiffID(L0); ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln)).
std::vector<std::string> ChainIds(const std::vector<std::string>& diff_ids);

// A manifest document (OCI media type) for a config and layers: what a
// `docker save` archive, which has none, is recorded as.
std::string RenderManifest(const Descriptor& config, const std::vector<Descriptor>& layers);

}  // namespace berth::supervisor
