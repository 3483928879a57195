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

}  // namespace berth::container
