// Runtime specs for berthd's containers and exec'd processes: docker-like
// settings (berth.v1.ProcessConfig) applied to berth's default spec with
// docker's default capabilities, and a client's own config.json validated
// by the runtime's parser (errors name the JSON path). No syscalls but one:
// --privileged reads berthd's own capability bounding set.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "berth/v1/containers.pb.h"

namespace berth::supervisor {

// The container's config.json (root.path "rootfs", the shim mounts it there).
absl::StatusOr<std::string> BuildSpec(const v1::ProcessConfig& p, const std::string& ns,
                                      const std::string& id, bool read_only);
// A client's config.json checked and normalised (root.path "rootfs").
absl::StatusOr<std::string> NormaliseSpec(const std::string& spec_json, bool read_only);

struct ExecSettings {
  std::vector<std::string> args, env;
  std::string cwd, user;
  bool terminal = false;
};
// A runtime-spec Process for an exec: the container's process with the
// exec's args, env added, cwd and user replaced when given.
absl::StatusOr<std::string> BuildExecProcess(const std::string& spec_json, const ExecSettings& e);

// What an image adds to a spec berthd built: its StopSignal as the
// org.opencontainers.image.stopSignal annotation (image-spec's conversion),
// and a bind mount of each (destination, host directory) for its Volumes.
absl::StatusOr<std::string> AddImageSettings(
    const std::string& spec_json, const std::string& stop_signal,
    const std::vector<std::pair<std::string, std::string>>& volumes);

// process.terminal of a spec.
absl::StatusOr<bool> SpecTerminal(const std::string& spec_json);

}  // namespace berth::supervisor
