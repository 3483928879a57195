#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "lib/ttrpc/frame.h"
#include "lib/unique_fd.h"

namespace berth::ttrpc {
namespace {

std::string Header(uint32_t length, uint32_t stream, uint8_t type) {
  char bytes[kHeaderSize];
  EncodeHeader(FrameHeader{.length = length, .stream_id = stream, .type = type, .flags = 0}, bytes);
  return std::string(bytes, kHeaderSize);
}

TEST_CASE("ttrpc header is big-endian length, stream, type, flags", "[ttrpc]") {
  char bytes[kHeaderSize];
  EncodeHeader(FrameHeader{.length = 0x01020304, .stream_id = 0xA0B0C0D0, .type = 2, .flags = 0x80},
               bytes);
  CHECK(std::string(bytes, kHeaderSize) ==
        std::string("\x01\x02\x03\x04\xA0\xB0\xC0\xD0\x02\x80", kHeaderSize));
  FrameHeader back = DecodeHeader(bytes);
  CHECK(back.length == 0x01020304);
  CHECK(back.stream_id == 0xA0B0C0D0);
  CHECK(back.type == 2);
  CHECK(back.flags == 0x80);
}

TEST_CASE("ttrpc EncodeFrame puts the payload after its header", "[ttrpc]") {
  std::string frame = EncodeFrame(7, FrameType::kResponse, "hello");
  CHECK(frame == std::string("\0\0\0\x05\0\0\0\x07\x02\0hello", kHeaderSize + 5));
  CHECK(EncodeFrame(1, FrameType::kRequest, "").size() == kHeaderSize);
}

TEST_CASE("ttrpc FrameReader reassembles frames fed one byte at a time", "[ttrpc]") {
  std::string stream = EncodeFrame(1, FrameType::kRequest, "first") +
                       EncodeFrame(3, FrameType::kRequest, "") +
                       EncodeFrame(5, FrameType::kData, std::string(300, 'z'));
  FrameReader reader;
  std::vector<Frame> frames;
  std::vector<size_t> completed_at;
  for (size_t i = 0; i < stream.size(); ++i) {
    reader.Feed(stream.substr(i, 1));
    while (std::optional<Frame> frame = reader.Next()) {
      frames.push_back(*frame);
      completed_at.push_back(i + 1);
    }
  }
  REQUIRE(frames.size() == 3);
  CHECK(completed_at == std::vector<size_t>{15, 25, stream.size()});
  CHECK(frames[0].header.stream_id == 1);
  CHECK(frames[0].payload == "first");
  CHECK(frames[1].header.stream_id == 3);
  CHECK(frames[1].payload.empty());
  CHECK(frames[2].header.type == static_cast<uint8_t>(FrameType::kData));
  CHECK(frames[2].payload == std::string(300, 'z'));
  CHECK_FALSE(frames[2].oversized);
}

TEST_CASE("ttrpc FrameReader returns two frames that arrive in one piece", "[ttrpc]") {
  FrameReader reader;
  reader.Feed(EncodeFrame(1, FrameType::kRequest, "a") + EncodeFrame(3, FrameType::kRequest, "bc") +
              Header(4, 5, 1) + "12");  // and half of a third
  std::optional<Frame> first = reader.Next();
  std::optional<Frame> second = reader.Next();
  REQUIRE(first);
  REQUIRE(second);
  CHECK(first->payload == "a");
  CHECK(second->payload == "bc");
  CHECK(second->header.stream_id == 3);
  CHECK_FALSE(reader.Next());
  reader.Feed("34");
  std::optional<Frame> third = reader.Next();
  REQUIRE(third);
  CHECK(third->payload == "1234");
}

TEST_CASE("ttrpc FrameReader skips an oversized frame and reads the next", "[ttrpc]") {
  const uint32_t big = kMaxMessage + 1;
  FrameReader reader;
  // The header and the start of its payload in one piece.
  reader.Feed(Header(big, 9, 1) + std::string(1000, 'x'));
  std::optional<Frame> skipped = reader.Next();
  REQUIRE(skipped);
  CHECK(skipped->oversized);
  CHECK(skipped->header.stream_id == 9);
  CHECK(skipped->header.length == big);
  CHECK(skipped->payload.empty());
  // The rest of the payload, in pieces, then the next frame glued to its end.
  std::string chunk(64 * 1024, 'x');
  size_t left = big - 1000;
  while (left > chunk.size()) {
    reader.Feed(chunk);
    left -= chunk.size();
    REQUIRE_FALSE(reader.Next());
  }
  reader.Feed(std::string(left, 'x') + EncodeFrame(11, FrameType::kRequest, "after"));
  std::optional<Frame> next = reader.Next();
  REQUIRE(next);
  CHECK_FALSE(next->oversized);
  CHECK(next->header.stream_id == 11);
  CHECK(next->payload == "after");
  CHECK_FALSE(reader.Next());
}

TEST_CASE("ttrpc FrameReader accepts a frame of exactly the maximum size", "[ttrpc]") {
  FrameReader reader;
  reader.Feed(EncodeFrame(1, FrameType::kRequest, std::string(kMaxMessage, 'm')));
  std::optional<Frame> frame = reader.Next();
  REQUIRE(frame);
  CHECK_FALSE(frame->oversized);
  CHECK(frame->payload.size() == kMaxMessage);
}

TEST_CASE("ttrpc FrameReader::ReadFrom reads until EAGAIN, then sees EOF", "[ttrpc]") {
  int fds[2];
  REQUIRE(::pipe2(fds, O_CLOEXEC | O_NONBLOCK) == 0);
  UniqueFd read_end(fds[0]), write_end(fds[1]);
  std::string bytes =
      EncodeFrame(1, FrameType::kRequest, "one") + EncodeFrame(3, FrameType::kRequest, "two");
  REQUIRE(::write(write_end.get(), bytes.data(), bytes.size()) ==
          static_cast<ssize_t>(bytes.size()));
  FrameReader reader;
  absl::StatusOr<bool> open = reader.ReadFrom(read_end.get());
  REQUIRE(open.ok());
  CHECK(*open);
  CHECK(reader.Next()->payload == "one");
  CHECK(reader.Next()->payload == "two");
  write_end.reset();
  open = reader.ReadFrom(read_end.get());
  REQUIRE(open.ok());
  CHECK_FALSE(*open);
}

TEST_CASE("ttrpc FrameReader::ReadFrom reports a read error", "[ttrpc]") {
  FrameReader reader;
  absl::StatusOr<bool> open = reader.ReadFrom(-1);
  REQUIRE_FALSE(open.ok());
  CHECK(absl::StrContains(open.status().message(), "read"));
}

}  // namespace
}  // namespace berth::ttrpc
