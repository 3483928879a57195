// Pull: an image from a registry into the content and layer stores, the way
// import takes one from an archive: the manifest (an index resolved to the
// platform's manifest), its config, and its layers fetched and unpacked at
// once, a few in parallel, each verified as it streams in. Touches no
// database; the engine records the result.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "supervisor/content/content_store.h"
#include "supervisor/images/importer.h"
#include "supervisor/images/layer_store.h"
#include "supervisor/registry/registry_client.h"

namespace berth::supervisor::registry {

// `reference`: as docker takes it ("busybox", "localhost:5000/x:1",
// "repo@sha256:..."). options.name is ignored (the reference names it).
absl::StatusOr<ImportResult> PullImage(RegistryClient& client, const std::string& reference,
                                       const ImportOptions& options, const ContentStore& content,
                                       const LayerStore& layers);

}  // namespace berth::supervisor::registry
