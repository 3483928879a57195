// The stdio of one attached process on berthd's side: FIFOs in the task's
// bundle that the shim copies the process's stdio to and from. berthd keeps
// every FIFO open read-write (so the shim's opens never wait and no end ever
// sees a spurious end of file), reads output as it comes and hands it to the
// attached clients, dropping it when none is attached: the process is never
// blocked by berthd or by a slow client.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "lib/event_loop.h"
#include "lib/unique_fd.h"
#include "supervisor/daemon/attachment.h"

namespace berth::supervisor {

struct StdioFifos {
  std::string in, out, err;  // empty: none (err is empty with a terminal)
};

class ProcessStdio {
 public:
  static constexpr size_t kMaxPendingStdin = 1 << 20;

  // Makes the FIFOs `dir/name.{stdin,stdout,stderr}` (mode 0600) and opens
  // them; `existing`: opens the ones a shim already uses (after a restart).
  static absl::StatusOr<std::unique_ptr<ProcessStdio>> Create(EventLoop* loop,
                                                              const std::string& dir,
                                                              const std::string& name,
                                                              bool with_stdin, bool terminal,
                                                              bool existing);
  ~ProcessStdio();

  const StdioFifos& fifos() const { return fifos_; }
  void Attach(std::shared_ptr<Attachment> a);
  // Queues input for the process; RESOURCE_EXHAUSTED past kMaxPendingStdin.
  absl::Status Write(std::string data);
  // End of input: closes berthd's stdin end once the pending input is in
  // the FIFO, then runs `flushed` (which tells the shim: it holds a writer of
  // its own, so that a berthd restart never ends the process's input).
  void CloseStdin(std::function<void()> flushed);
  // The process exited: reads what its output FIFOs still hold, then tells
  // every client the exit status and lets them go.
  void Finish(uint32_t exit_status);
  // The task is going away without an exit to report.
  void CloseAll();

 private:
  explicit ProcessStdio(EventLoop* loop) : loop_(loop) {}
  void ReadOutput(int fd, bool is_stderr);
  void FlushStdin();
  void UnwatchAll();

  EventLoop* loop_;
  StdioFifos fifos_;
  UniqueFd in_, out_, err_;
  std::string pending_in_;
  bool close_in_requested_ = false;
  std::function<void()> flushed_;
  bool watching_in_ = false;
  std::vector<std::shared_ptr<Attachment>> attached_;
};

}  // namespace berth::supervisor
