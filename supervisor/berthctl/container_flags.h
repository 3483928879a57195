// The flags `run` and `create` share, and the Containers.Create request
// they make.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "supervisor/berthctl/client.h"
#include "supervisor/berthctl/flags.h"

namespace berth::ctl {

struct ContainerFlags {
  std::string rootfs;
  std::string bundle;
  // --entrypoint; kUnset when not given ("" clears the image's).
  static constexpr const char* kUnset = "\x01unset";
  std::string entrypoint = kUnset;
  std::string pull = "missing";  // --pull missing|always|never
  std::string name;
  std::vector<std::string> env;
  std::vector<std::string> env_files;
  std::string workdir;
  std::string user;
  std::string hostname;
  std::vector<std::string> labels;
  std::string memory;
  std::string cpus;
  int64_t pids_limit = 0;
  bool read_only = false;
  std::vector<std::string> cap_add;
  std::vector<std::string> cap_drop;
  bool privileged = false;
  std::string runtime;
  bool interactive = false;
  bool tty = false;

  void Register(FlagSet& flags);
};

// The request for `flags` and the positional arguments: IMAGE [CMD ARG...]
// (the image's config gives the defaults), or with --rootfs (a
// ProcessConfig) or --bundle (its config.json, rewritten where flags say)
// CMD [ARG...].
absl::StatusOr<v1::CreateContainerRequest> BuildCreateRequest(const ContainerFlags& flags,
                                                              const std::vector<std::string>& cmd);

// The environment from --env-file files, then -e flags, as docker orders
// them; `-e KEY` is taken from berthctl's environment.
absl::StatusOr<std::vector<std::string>> CollectEnv(const std::vector<std::string>& env_files,
                                                    const std::vector<std::string>& env);

}  // namespace berth::ctl
