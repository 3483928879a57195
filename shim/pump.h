// Copies bytes from one fd to another on the event loop: container output to
// the client's FIFO or file, client input to the container. splice(2) moves
// the bytes when either end is a pipe; read/write otherwise (a pty).
//
// Output toward a client never blocks the container: when nobody reads the
// FIFO, up to kMaxBuffered bytes wait in the shim and the rest is dropped.
// Input toward the container applies back-pressure instead: the shim stops
// reading the client until the container has taken what was read.
#pragma once

#include <cstddef>
#include <functional>
#include <string>

#include "lib/event_loop.h"

namespace berth::shim {

class Pump {
 public:
  enum class WhenFull { kDrop, kWait };
  static constexpr size_t kMaxBuffered = 1 << 20;

  // src and dst stay owned by the caller and must be distinct fd numbers
  // (dup() one end if both directions use the same file). `on_done` runs once
  // src reached end of file (or failed) and everything read was written or
  // dropped.
  Pump(EventLoop* loop, int src, int dst, WhenFull when_full, std::function<void()> on_done);
  ~Pump();
  Pump(const Pump&) = delete;
  Pump& operator=(const Pump&) = delete;

  void Start();
  // Moves whatever src holds right now (the process exited: its output is
  // complete unless a descendant still holds the pipe).
  void Drain();
  // Stops copying without waiting for end of file.
  void Stop();
  bool done() const { return done_; }
  size_t dropped() const { return dropped_; }

 private:
  void OnReadable();
  void OnWritable();
  bool SpliceAll();  // false: fall back to read()
  void ReadIntoBuffer();
  void WriteBuffer();
  void Update();  // epoll interest from the state
  void Finish();

  EventLoop* loop_;
  int src_;
  int dst_;
  WhenFull when_full_;
  std::function<void()> on_done_;
  std::string buffer_;
  size_t offset_ = 0;  // bytes of buffer_ already written
  size_t dropped_ = 0;
  bool use_splice_ = true;
  bool src_eof_ = false;
  bool dst_broken_ = false;
  bool done_ = false;
  bool watching_src_ = false;
  bool watching_dst_ = false;
};

}  // namespace berth::shim
