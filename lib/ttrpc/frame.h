// ttrpc framing (github.com/containerd/ttrpc channel.go): a 10-byte header,
// big-endian length (uint32), stream id (uint32), type (uint8), flags (uint8),
// then `length` bytes of payload, at most kMaxMessage.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace berth::ttrpc {

inline constexpr size_t kHeaderSize = 10;
inline constexpr uint32_t kMaxMessage = 4 << 20;

enum class FrameType : uint8_t { kRequest = 1, kResponse = 2, kData = 3 };

struct FrameHeader {
  uint32_t length = 0;
  uint32_t stream_id = 0;
  uint8_t type = 0;  // a FrameType value, kept raw so unknown types can be reported
  uint8_t flags = 0;
};

void EncodeHeader(const FrameHeader& header, char out[kHeaderSize]);
FrameHeader DecodeHeader(const char in[kHeaderSize]);

// Header + payload as one buffer, ready to write.
std::string EncodeFrame(uint32_t stream_id, FrameType type, absl::string_view payload);

struct Frame {
  FrameHeader header;
  std::string payload;
  // Set when the peer announced more than kMaxMessage: `payload` is empty,
  // the announced bytes are read and thrown away as they arrive, never
  // buffered (as ttrpc's Go code does), and the stream must get a
  // RESOURCE_EXHAUSTED answer.
  bool oversized = false;
};

// Reassembles frames from a byte stream that arrives in arbitrary pieces.
class FrameReader {
 public:
  // Appends bytes received from the peer.
  void Feed(absl::string_view bytes);
  // The next complete frame, if one has arrived.
  std::optional<Frame> Next();
  // Reads what is available from a non-blocking fd and feeds it. Returns
  // false at end of file (peer closed), an error status on a read error.
  // Stops early (returning true) once a whole maximal frame is buffered, so a
  // fast peer cannot make it buffer without bound; call Next() and read again.
  absl::StatusOr<bool> ReadFrom(int fd);

 private:
  std::string buffer_;
  size_t start_ = 0;    // bytes of buffer_ already consumed by Next()
  size_t discard_ = 0;  // payload bytes of an oversized frame still to skip
};

}  // namespace berth::ttrpc
