// The two commands of containerd's runtime v2 shim contract, as berthd runs
// them: `start` (launches the serving shim, prints its ttrpc address) and
// `delete` (cleans up after a shim that is gone). Both block for a few
// milliseconds: call them off the engine's thread.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "containerd_shim.pb.h"

namespace berth::supervisor {

struct ShimCommand {
  std::string binary;  // containerd-shim-berth-v2
  std::string ns;
  std::string id;
  std::string bundle;          // the working directory of the shim
  std::string daemon_address;  // berthd's gRPC socket (-address)
  std::string events_address;  // berthd's ttrpc Events.Forward socket ($TTRPC_ADDRESS)
  std::string socket_dir;      // where the shim makes its socket
  std::string options;         // a serialized berth.pb.Any of containerd.runc.v1.Options
};

// The serving shim's address ("unix:///...").
absl::StatusOr<std::string> StartShim(const ShimCommand& c);
// What the shim's `delete` reports (pid, exit status 137, exited_at).
absl::StatusOr<containerd::task::v2::DeleteResponse> DeleteShim(const ShimCommand& c);

}  // namespace berth::supervisor
