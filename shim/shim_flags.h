// The command line containerd 1.6 gives a runtime v2 shim:
//   containerd-shim-berth-v2 -namespace NS -address ADDR -publish-binary BIN
//       -id ID [-bundle PATH] [-debug] [-socket PATH] {start|delete|<serve>}
// berthd adds -socket-dir DIR: where `start` makes the shim's socket
// (default: containerd's /run/containerd/s).
// Go's flag syntax: -name value, --name value, -name=value.
#pragma once

#include <string>

#include "absl/status/statusor.h"

namespace berth::shim {

struct ShimFlags {
  std::string ns;
  std::string address;         // containerd's gRPC socket
  std::string publish_binary;  // unused: 1.6 shims publish over ttrpc
  std::string id;
  std::string bundle;                            // default: the working directory
  std::string socket;                            // serve: listen here instead of on fd 3
  std::string socket_dir = "/run/containerd/s";  // start: where the socket goes
  bool debug = false;
  bool hold_stdin = false;  // berthd: stdin ends with CloseIO only (see ProcessIo)
  bool version = false;
  std::string action;  // "start", "delete", or "" to serve
};

absl::StatusOr<ShimFlags> ParseShimFlags(int argc, char** argv);

// -bundle, or the working directory (containerd starts shims in the bundle).
std::string BundleDir(const ShimFlags& flags);

}  // namespace berth::shim
