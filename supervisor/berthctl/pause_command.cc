// pause and unpause CONTAINER...: freeze and thaw every process of a task.
#include "absl/strings/str_cat.h"
#include "lib/errors.h"
#include "supervisor/berthctl/commands.h"

namespace berth::ctl {
namespace {

template <typename Request>
int FreezeOrThaw(const GlobalOptions& g, const Args& args, absl::string_view command,
                 grpc::Status (v1::Tasks::Stub::*method)(grpc::ClientContext*, const Request&,
                                                         v1::Empty*)) {
  FlagSet flags(command, absl::StrCat(command, " CONTAINER [CONTAINER...]"));
  auto refs = flags.Parse(args);
  if (!refs.ok()) return UsageError(flags, refs.status().message());
  if (flags.help_requested()) return PrintHelp(flags);
  if (refs->empty()) return UsageError(flags, "requires at least 1 container");
  Client client(g);
  return ForEachContainer(client, *refs, [&](const v1::Container& c, const std::string& ref) {
    Request req;
    req.set_container_id(c.id());
    BERTH_RETURN_IF_ERROR(client.Call(method, req).status());
    Print(absl::StrCat(ref, "\n"));
    return absl::OkStatus();
  });
}

}  // namespace

int PauseCommand(const GlobalOptions& g, const Args& args) {
  return FreezeOrThaw(g, args, "pause", &v1::Tasks::Stub::Pause);
}

int UnpauseCommand(const GlobalOptions& g, const Args& args) {
  return FreezeOrThaw(g, args, "unpause", &v1::Tasks::Stub::Resume);
}

}  // namespace berth::ctl
