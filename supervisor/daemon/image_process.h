// The process a container made from an image runs, as docker run combines
// the image's config with the client's settings: --entrypoint replaces the
// Entrypoint (and drops the image's Cmd), args replace the Cmd, -e adds to
// and overrides the image's Env, -w and -u replace WorkingDir and User
// (names resolved in the image's own /etc/passwd and /etc/group).
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "berth/v1/containers.pb.h"
#include "supervisor/images/manifest.h"

namespace berth::supervisor {

// `layers`: the image's layer directories, top first.
absl::StatusOr<v1::ProcessConfig> ImageProcess(const ImageConfig& image,
                                               const v1::ProcessConfig& given,
                                               const std::vector<std::string>& layers);

}  // namespace berth::supervisor
