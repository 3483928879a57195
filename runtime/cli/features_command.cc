// Built into the berth executable rather than the runtime library: it needs
// BERTH_VERSION, which only the executable is compiled with.
#include "runtime/cli/commands.h"
#include "runtime/cli/features.h"
#include "runtime/cli/flags.h"
#include "runtime/cli/report.h"

namespace berth::cli {

int FeaturesCommand(const GlobalOptions&, const Args& args) {
  FlagSet flags("features");
  auto rest = flags.Parse(args);
  if (!rest.ok()) return Fail(rest.status());
  if (flags.help_requested()) {
    Print("usage: berth features\n\nPrints the runtime-spec features document (JSON).\n");
    return 0;
  }
  if (!rest->empty()) return Usage("features: takes no arguments");
  Print(BuildFeaturesJson(ProbeFeaturesInput(BERTH_VERSION)) + "\n");
  return 0;
}

}  // namespace berth::cli
