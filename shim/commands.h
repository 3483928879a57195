// The three ways containerd runs a shim binary.
#pragma once

#include "shim/shim_flags.h"

namespace berth::shim {

// `start`: starts the long-lived shim (this binary, no action) in its own
// session on a fresh socket, prints the socket's address.
int StartCommand(const ShimFlags& flags);
// `delete`: cleans up after a shim that died: the container, its rootfs
// mount; prints a DeleteResponse.
int DeleteCommand(const ShimFlags& flags);
// No action: serves the task API until Shutdown.
int Serve(const ShimFlags& flags);

}  // namespace berth::shim
