// wait CONTAINER...: blocks until each exits, prints its exit status.
#include "absl/strings/str_cat.h"
#include "lib/errors.h"
#include "supervisor/berthctl/commands.h"

namespace berth::ctl {

int WaitCommand(const GlobalOptions& g, const Args& args) {
  FlagSet flags("wait", "wait CONTAINER [CONTAINER...]");
  auto refs = flags.Parse(args);
  if (!refs.ok()) return UsageError(flags, refs.status().message());
  if (flags.help_requested()) return PrintHelp(flags);
  if (refs->empty()) return UsageError(flags, "requires at least 1 container");
  Client client(g);
  return ForEachContainer(client, *refs, [&](const v1::Container& c, const std::string&) {
    v1::WaitTaskRequest req;
    req.set_container_id(c.id());
    auto resp = client.Call(&v1::Tasks::Stub::Wait, req, /*deadline=*/false);
    if (!resp.ok()) return resp.status();
    Print(absl::StrCat(resp->exit_status(), "\n"));
    return absl::OkStatus();
  });
}

}  // namespace berth::ctl
