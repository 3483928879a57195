// version and info: what berthctl and berthd are.
#include "absl/strings/str_cat.h"
#include "lib/time_format.h"
#include "supervisor/berthctl/commands.h"

namespace berth::ctl {

int VersionCommand(const GlobalOptions& g, const Args& args) {
  FlagSet flags("version", "version");
  auto rest = flags.Parse(args);
  if (!rest.ok()) return UsageError(flags, rest.status().message());
  if (flags.help_requested()) return PrintHelp(flags);
  if (!rest->empty()) return UsageError(flags, "accepts no arguments");
  Print(absl::StrCat("Client:\n Version:      ", ClientVersion(),
                     "\n Revision:     ", ClientRevision(), "\n API version:  berth.v1\n\n"));
  Client client(g);
  auto resp = client.Call(&v1::System::Stub::Version, v1::VersionRequest());
  if (!resp.ok()) return Fail(resp.status());
  Print(absl::StrCat("Server:\n Version:      ", resp->version(),
                     "\n Revision:     ", resp->revision().empty() ? "-" : resp->revision(),
                     "\n API version:  ", resp->api_version(), "\n"));
  return 0;
}

int InfoCommand(const GlobalOptions& g, const Args& args) {
  FlagSet flags("info", "info");
  auto rest = flags.Parse(args);
  if (!rest.ok()) return UsageError(flags, rest.status().message());
  if (flags.help_requested()) return PrintHelp(flags);
  if (!rest->empty()) return UsageError(flags, "accepts no arguments");
  Client client(g);
  auto resp = client.Call(&v1::System::Stub::Info, v1::InfoRequest());
  if (!resp.ok()) return Fail(resp.status());
  const v1::InfoResponse& i = *resp;
  std::string out = absl::StrCat(
      "Server Version: ", i.version(), "\n", "Address: ", i.address(), "\n", "PID: ", i.pid(), "\n",
      "Root Dir: ", i.root(), "\n", "State Dir: ", i.state(), "\n",
      "Default Runtime: ", i.default_runtime(), "\n", "Containers: ", i.containers(), "\n",
      " Running: ", i.running(), "\n", " Paused: ", i.paused(), "\n", " Stopped: ", i.stopped(),
      "\n", "Last Event: ", i.last_event_seq(), "\n");
  if (i.has_recovery()) {
    const v1::Recovery& r = i.recovery();
    absl::StrAppend(&out, "Last Start:\n", " Started At: ",
                    IsSet(r.started_at()) ? FormatRfc3339Nano(ToTime(r.started_at())) : "-", "\n",
                    " Recovery Time: ", r.duration_ms(), " ms\n", " Records: ", r.containers(),
                    "\n", " Reconnected: ", r.reconnected(), "\n",
                    " Exited While Down: ", r.exited(), "\n", " Shims Gone: ", r.gone(), "\n",
                    " Orphans Deleted: ", r.orphans(), "\n", " Not Answering: ", r.unknown(), "\n");
  }
  Print(out);
  return 0;
}

}  // namespace berth::ctl
