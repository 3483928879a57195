#pragma once

#include <signal.h>

#include "absl/status/statusor.h"
#include "runtime/container/create.h"

namespace berth::container {

// Signals `run` forwards to the container; block them before Create so none
// is lost between clone and the wait loop.
sigset_t ForwardedSignals();

// Starts the created container and stays with it: forwards signals, bridges
// its terminal to ours, and returns its exit status (128+N for signal N).
absl::StatusOr<int> StartAndWait(CreatedContainer& c);

// The wait part: forwards signals to the process behind pidfd, bridges
// `console` (a pty master, or -1) to our stdio, returns the exit status.
// `pid` must be our child.
absl::StatusOr<int> WaitForeground(pid_t pid, int pidfd, int console);

}  // namespace berth::container
