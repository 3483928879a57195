// What several subcommands share.
#include "supervisor/berthctl/commands.h"

#include "absl/strings/match.h"
#include "lib/errors.h"
#include "supervisor/berthctl/options.h"

namespace berth::ctl {

int ForEachContainer(Client& client, const Args& refs, const ContainerFn& fn) {
  int rc = 0;
  for (const std::string& ref : refs) {
    auto container = client.Resolve(ref);
    absl::Status status = container.ok() ? fn(*container, ref) : container.status();
    // berthd's messages mostly name the container already.
    if (!status.ok())
      rc = Fail(absl::StrContains(status.message(), ref) ? status : Annotate(status, ref));
  }
  return rc;
}

absl::Status StartProcess(Client& client, const std::string& container_id,
                          const std::string& exec_id) {
  v1::StartTaskRequest req;
  req.set_container_id(container_id);
  req.set_exec_id(exec_id);
  return client.Call(&v1::Tasks::Stub::Start, req).status();
}

int RunAttached(Client& client, const AttachOptions& options) {
  auto result = AttachAndStart(
      client, options, [&] { return StartProcess(client, options.container_id, options.exec_id); });
  if (!result.ok()) return Fail(result.status());
  if (!result->start.ok()) {
    Fail(result->start);
    return StartFailureExitCode(result->start);
  }
  return result->exit_status;
}

}  // namespace berth::ctl
