// The attached path of run, start -a and exec: Attach to the process (its
// task or exec created with stdio.attach), wait for berthd's
// acknowledgment, only then Start it, so no early output is lost; copy
// stdin up and stdout/stderr down until the exit status comes.
#pragma once

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "supervisor/berthctl/client.h"

namespace berth::ctl {

struct AttachOptions {
  std::string container_id;
  std::string exec_id;  // empty: the init
  bool stdin = false;   // copy berthctl's stdin (-i)
  bool tty = false;     // local terminal raw, resizes sent (-t)
};

// Blocks the signals the attached path handles itself (proxied ones,
// SIGWINCH). Call before the Client exists: gRPC's threads inherit the mask,
// so none of them takes a signal's default action instead.
void BlockAttachSignals();

// The outcome of an attached run.
struct AttachResult {
  absl::Status start;  // Start's error: the process never ran
  int exit_status = 0;
};

// Attaches, calls `start`, copies stdio until the process exits. Without a
// tty, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 are sent on to
// the process (docker's sig-proxy); with one, they detach berthctl (exit
// 128+signal) and the terminal is restored on every path.
absl::StatusOr<AttachResult> AttachAndStart(Client& client, const AttachOptions& options,
                                            const std::function<absl::Status()>& start);

}  // namespace berth::ctl
