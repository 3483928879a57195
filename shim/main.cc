// berth-shim, installed as containerd-shim-berth-v2: one per container,
// serving containerd's runtime v2 task API over ttrpc (containerd's
// runtime name io.containerd.berth.v2).
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "lib/version.h"
#include "shim/commands.h"

int main(int argc, char** argv) {
  absl::StatusOr<berth::shim::ShimFlags> flags = berth::shim::ParseShimFlags(argc, argv);
  if (!flags.ok()) {
    std::fprintf(stderr, "berth-shim: %s\n", std::string(flags.status().message()).c_str());
    return 2;
  }
  if (flags->version) {
    std::printf("%s:\n  Version:  %s\n", argv[0], berth::kVersion);
    return 0;
  }
  if (flags->ns.empty()) {
    std::fprintf(stderr, "berth-shim: shim namespace cannot be empty (-namespace)\n");
    return 2;
  }
  if (flags->action == "start") return berth::shim::StartCommand(*flags);
  if (flags->action == "delete") return berth::shim::DeleteCommand(*flags);
  return berth::shim::Serve(*flags);
}
