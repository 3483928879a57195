// The stdio of one container process as the shim holds it. Without a
// terminal: pipes whose far ends become the process's 0/1/2, copied to and
// from the client's FIFOs (or file:// paths). With a terminal: the pty master
// the runtime sent over the console socket, copied the same way.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "lib/event_loop.h"
#include "lib/unique_fd.h"
#include "shim/pump.h"
#include "shim/runtime_client.h"

namespace berth::shim {

struct StdioPaths {
  std::string in, out, err;  // empty: none
  bool terminal = false;
};

class ProcessIo {
 public:
  // Opens the client's ends; creates the pipes (no terminal). io_uid/io_gid
  // own the process's pipe ends (for containers in a user namespace).
  // hold_stdin: the shim keeps a writer of the stdin FIFO open itself, so
  // the process's stdin ends only with CloseIO, not when the client's writer
  // goes away (berthd restarting).
  static absl::StatusOr<std::unique_ptr<ProcessIo>> Open(EventLoop* loop, const StdioPaths& paths,
                                                         uid_t io_uid, gid_t io_gid,
                                                         bool hold_stdin = false);
  ~ProcessIo();

  // What the runtime command gets as 0/1/2 (and passes to the process).
  CommandStdio ChildStdio() const;
  // After the runtime command: the process holds its ends now; starts copying.
  void StartCopying();
  // With a terminal: the pty master received from the console socket.
  absl::Status AttachConsole(UniqueFd master);
  absl::Status Resize(unsigned width, unsigned height);
  // CloseIO: the process sees end of file on stdin once pending input is in.
  void CloseStdin();
  // The process exited: move the output it left.
  void Drain();
  // Runs `done` when stdout and stderr reached end of file (now, if they have).
  void OnOutputDone(std::function<void()> done);
  bool output_done() const;

 private:
  explicit ProcessIo(EventLoop* loop) : loop_(loop) {}
  void StdinFinished();
  void OutputFinished();

  EventLoop* loop_;
  bool terminal_ = false;
  // Client side.
  UniqueFd client_in_, client_out_, client_err_;
  UniqueFd client_in_hold_;  // a writer of the stdin FIFO, with hold_stdin
  // Process side: *_child are the ends the process gets; *_shim ours.
  UniqueFd in_child_, in_shim_, out_child_, out_shim_, err_child_, err_shim_;
  UniqueFd console_, console_in_;  // pty master, and a dup for the input direction
  std::unique_ptr<Pump> in_pump_, out_pump_, err_pump_;
  int outputs_open_ = 0;
  bool stdin_close_requested_ = false;
  std::function<void()> output_done_;
  // Deferred clean-ups (they run after the pump callback that asked for
  // them has returned); cancelled if this goes first.
  EventLoop::TimerId stdin_timer_ = 0;
  EventLoop::TimerId output_timer_ = 0;
};

// A listening unix socket in a fresh /tmp directory, for the runtime's
// --console-socket; Receive() takes the pty master it was sent.
class ConsoleSocket {
 public:
  static absl::StatusOr<ConsoleSocket> Create();
  ConsoleSocket(ConsoleSocket&&) = default;
  ConsoleSocket& operator=(ConsoleSocket&&) = default;
  ~ConsoleSocket();
  const std::string& path() const { return path_; }
  absl::StatusOr<UniqueFd> Receive();

 private:
  ConsoleSocket() = default;
  std::string dir_, path_;
  UniqueFd listener_;
};

}  // namespace berth::shim
