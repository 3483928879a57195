// One function per subcommand; each returns berthctl's exit status. The
// Client is made inside each (after the signal mask of the attached ones).
#pragma once

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "supervisor/berthctl/attach.h"
#include "supervisor/berthctl/client.h"

namespace berth::ctl {

int RunCommand(const GlobalOptions& g, const Args& args);
int CreateCommand(const GlobalOptions& g, const Args& args);
int StartCommand(const GlobalOptions& g, const Args& args);
int ExecCommand(const GlobalOptions& g, const Args& args);
int PsCommand(const GlobalOptions& g, const Args& args);
int StopCommand(const GlobalOptions& g, const Args& args);
int KillCommand(const GlobalOptions& g, const Args& args);
int RmCommand(const GlobalOptions& g, const Args& args);
int PauseCommand(const GlobalOptions& g, const Args& args);
int UnpauseCommand(const GlobalOptions& g, const Args& args);
int WaitCommand(const GlobalOptions& g, const Args& args);
int StatsCommand(const GlobalOptions& g, const Args& args);
int TopCommand(const GlobalOptions& g, const Args& args);
int InspectCommand(const GlobalOptions& g, const Args& args);
int EventsCommand(const GlobalOptions& g, const Args& args);
int NamespaceCommand(const GlobalOptions& g, const Args& args);
int VersionCommand(const GlobalOptions& g, const Args& args);
int InfoCommand(const GlobalOptions& g, const Args& args);
int ImagesCommand(const GlobalOptions& g, const Args& args);
int ImageCommand(const GlobalOptions& g, const Args& args);
int LoadCommand(const GlobalOptions& g, const Args& args);
int RmiCommand(const GlobalOptions& g, const Args& args);
int TagCommand(const GlobalOptions& g, const Args& args);
int PullCommand(const GlobalOptions& g, const Args& args);
int SystemCommand(const GlobalOptions& g, const Args& args);

// Shared by the subcommands.

// Resolves each reference (id, prefix or name) and runs `fn` on the
// container and the reference as typed; a failure is printed and the next
// one is tried, as docker does. kErrorExit if any failed, else 0.
using ContainerFn = std::function<absl::Status(const v1::Container&, const std::string& ref)>;
int ForEachContainer(Client& client, const Args& refs, const ContainerFn& fn);

// Tasks.Start of the init (empty exec_id) or of an exec.
absl::Status StartProcess(Client& client, const std::string& container_id,
                          const std::string& exec_id);

// Containers.Create; an image not there yet is pulled first as `pull`
// says: "missing" (docker's default), "always" or "never".
absl::StatusOr<v1::CreateContainerResponse> CreateFromImagePulling(
    Client& client, const v1::CreateContainerRequest& req, const std::string& pull);

// The attached path: Attach, Start, copy stdio. Returns the process's exit
// status, or docker's 125/126/127 (message printed) when it did not run.
int RunAttached(Client& client, const AttachOptions& options);

}  // namespace berth::ctl
