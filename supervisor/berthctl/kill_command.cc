// kill [-s SIGNAL] CONTAINER...: a signal (default KILL) to the init.
#include "absl/strings/str_cat.h"
#include "lib/errors.h"
#include "supervisor/berthctl/commands.h"
#include "supervisor/berthctl/options.h"

namespace berth::ctl {

int KillCommand(const GlobalOptions& g, const Args& args) {
  std::string signal_name = "KILL";
  FlagSet flags("kill", "kill [OPTIONS] CONTAINER [CONTAINER...]");
  flags.String({"s", "signal"}, &signal_name, "Signal to send: a name (KILL, SIGHUP) or a number");
  auto refs = flags.Parse(args);
  if (!refs.ok()) return UsageError(flags, refs.status().message());
  if (flags.help_requested()) return PrintHelp(flags);
  if (refs->empty()) return UsageError(flags, "requires at least 1 container");
  auto sig = ParseSignalName(signal_name);
  if (!sig.ok()) return UsageError(flags, sig.status().message());
  Client client(g);
  return ForEachContainer(client, *refs, [&](const v1::Container& c, const std::string& ref) {
    v1::KillTaskRequest req;
    req.set_container_id(c.id());
    req.set_signal(static_cast<uint32_t>(*sig));
    BERTH_RETURN_IF_ERROR(client.Call(&v1::Tasks::Stub::Kill, req).status());
    Print(absl::StrCat(ref, "\n"));
    return absl::OkStatus();
  });
}

}  // namespace berth::ctl
