#include "lib/ttrpc/frame.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "lib/errors.h"

namespace berth::ttrpc {
namespace {

void PutBigEndian32(uint32_t value, char* out) {
  out[0] = static_cast<char>(value >> 24);
  out[1] = static_cast<char>(value >> 16);
  out[2] = static_cast<char>(value >> 8);
  out[3] = static_cast<char>(value);
}

uint32_t GetBigEndian32(const char* in) {
  auto byte = [in](int i) { return uint32_t{static_cast<unsigned char>(in[i])}; };
  return byte(0) << 24 | byte(1) << 16 | byte(2) << 8 | byte(3);
}

}  // namespace

void EncodeHeader(const FrameHeader& header, char out[kHeaderSize]) {
  PutBigEndian32(header.length, out);
  PutBigEndian32(header.stream_id, out + 4);
  out[8] = static_cast<char>(header.type);
  out[9] = static_cast<char>(header.flags);
}

FrameHeader DecodeHeader(const char in[kHeaderSize]) {
  return FrameHeader{
      .length = GetBigEndian32(in),
      .stream_id = GetBigEndian32(in + 4),
      .type = static_cast<uint8_t>(in[8]),
      .flags = static_cast<uint8_t>(in[9]),
  };
}

std::string EncodeFrame(uint32_t stream_id, FrameType type, absl::string_view payload) {
  std::string frame(kHeaderSize, '\0');
  EncodeHeader(FrameHeader{.length = static_cast<uint32_t>(payload.size()),
                           .stream_id = stream_id,
                           .type = static_cast<uint8_t>(type)},
               frame.data());
  frame.append(payload.data(), payload.size());
  return frame;
}

void FrameReader::Feed(absl::string_view bytes) {
  // The rest of an oversized frame's payload goes nowhere.
  size_t skip = std::min(discard_, bytes.size());
  bytes.remove_prefix(skip);
  discard_ -= skip;
  if (bytes.empty()) return;
  // Drop consumed bytes before growing, so the buffer holds about one frame.
  if (start_ > 0 && start_ >= buffer_.size() / 2) {
    buffer_.erase(0, start_);
    start_ = 0;
  }
  buffer_.append(bytes.data(), bytes.size());
}

std::optional<Frame> FrameReader::Next() {
  size_t available = buffer_.size() - start_;
  if (available < kHeaderSize) return std::nullopt;
  Frame frame;
  frame.header = DecodeHeader(buffer_.data() + start_);
  if (frame.header.length > kMaxMessage) {
    // Answerable at once; its payload is skipped from here on.
    size_t buffered = std::min<size_t>(frame.header.length, available - kHeaderSize);
    start_ += kHeaderSize + buffered;
    discard_ = frame.header.length - buffered;
    frame.oversized = true;
  } else {
    if (available - kHeaderSize < frame.header.length) return std::nullopt;
    frame.payload = buffer_.substr(start_ + kHeaderSize, frame.header.length);
    start_ += kHeaderSize + frame.header.length;
  }
  if (start_ == buffer_.size()) {
    buffer_.clear();
    start_ = 0;
  }
  return frame;
}

absl::StatusOr<bool> FrameReader::ReadFrom(int fd) {
  char chunk[64 * 1024];
  while (buffer_.size() - start_ < kHeaderSize + kMaxMessage) {
    ssize_t n = ::read(fd, chunk, sizeof(chunk));
    if (n > 0) {
      Feed(absl::string_view(chunk, static_cast<size_t>(n)));
    } else if (n == 0) {
      return false;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      return true;
    } else if (errno != EINTR) {
      return ErrnoError("ttrpc: read");
    }
  }
  return true;
}

}  // namespace berth::ttrpc
