// `berth features`: the runtime-spec features document (features.md,
// features-linux.md) describing what berth implements. The static parts come
// from berth's own tables (mount options, seccomp names, hooks, namespaces)
// so the document cannot drift from what the parsers accept; the few
// host-dependent parts are probed by ProbeFeaturesInput.
#pragma once

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace berth::cli {

struct FeaturesInput {
  std::string version;             // berth's, for the io.github.berth.version annotation
  std::string libseccomp_version;  // "2.5.4"; empty leaves the annotation out
  // Capability names berth recognizes ("CAP_CHOWN", ...).
  std::vector<std::string> capabilities;
  // SECCOMP_FILTER_FLAG_* names berth can apply on this host.
  std::vector<std::string> seccomp_supported_flags;
};

// The document as indented JSON (four spaces, like runc), without a final
// newline. Pure: everything host-dependent comes from `in`.
std::string BuildFeaturesJson(const FeaturesInput& in);

// Every capability name libcap knows, upper-cased, in capability order. Names
// this kernel is too old for are included: berth recognizes them (and skips
// them with a warning), which is what the spec's list means.
std::vector<std::string> KnownCapabilityNames();

// The seccomp flags berth knows that this kernel accepts, probed with
// seccomp(2) on a NULL program (EFAULT: the flags are valid).
std::vector<std::string> SupportedSeccompFlags();

// Fills a FeaturesInput for this host.
FeaturesInput ProbeFeaturesInput(absl::string_view version);

}  // namespace berth::cli
