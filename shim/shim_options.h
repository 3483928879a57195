// The runtime options containerd passes with Create (and on the start
// command's stdin): containerd.runc.v1.Options, the same type runc's shim
// takes, so a containerd runtime section configured for runc works for us.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "berth_pb.pb.h"
#include "runc_options.pb.h"

namespace berth::shim {

using ShimOptions = containerd::runc::v1::Options;

// Empty Any: defaults. Another type: INVALID_ARGUMENT naming it.
absl::StatusOr<ShimOptions> ParseOptions(const berth::pb::Any& any);

// Kept in the bundle so `containerd-shim-berth-v2 delete` (run after this
// shim died) finds the runtime binary and root the container was made with.
absl::Status SaveOptions(const std::string& bundle, const ShimOptions& options);
ShimOptions LoadOptions(const std::string& bundle);

// The runtime binary: binary_name, or berth.
std::string RuntimeBinary(const ShimOptions& options);
// The runtime's --root: options.root (or /run/containerd/berth) + "/" + namespace.
std::string RuntimeRoot(const ShimOptions& options, const std::string& ns);

}  // namespace berth::shim
