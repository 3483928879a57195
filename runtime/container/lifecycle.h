// Operations on an existing container: start, kill, delete.
#pragma once

#include "absl/status/status.h"
#include "lib/unique_fd.h"
#include "runtime/state/state_dir.h"

namespace berth::container {

// Releases the init blocked on the exec fifo (opens it, writes one byte,
// removes it) and returns once the init has executed the user's process (or
// died), so poststart hooks run after the exec as the runtime-spec says.
// Errors if the container is not in "created".
absl::Status Start(const state::StateDir& dir, const state::ContainerState& s);

// The fifo part of Start, for `run`, which has just created the container.
absl::Status ReleaseInit(const state::StateDir& dir);

// A pidfd for the init, checked against the recorded start time so a reused
// pid is never signalled. NotFound ("container not running") otherwise.
absl::StatusOr<UniqueFd> OpenInitPidfd(const state::ContainerState& s);

// Signals the init, or with `all` every process in the container's cgroup.
absl::Status Kill(const state::ContainerState& s, int signal, bool all);

// Removes the container: kills what still runs (when allowed), removes the
// cgroups berth created and the state directory, then runs poststop hooks
// (a failing one is logged as a warning).
absl::Status Delete(state::StateDir& dir, bool force);

// poststart hooks after the process started; failures are warnings.
void RunPoststartHooks(const state::StateDir& dir, const state::ContainerState& s);

}  // namespace berth::container
