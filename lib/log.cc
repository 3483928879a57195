#include "lib/log.h"

#include <fcntl.h>
#include <unistd.h>

#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "lib/errors.h"
#include "lib/json_writer.h"
#include "lib/time_format.h"

namespace berth::log {
namespace {

struct Sink {
  int fd = -1;  // the --log file, or -1
  Format format = Format::kText;
  bool debug = false;
  std::string program = "berth";
  Level stderr_level = Level::kWarning;
};
Sink& sink() {
  static Sink s;
  return s;
}

absl::string_view LevelName(Level level) {
  switch (level) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarning:
      return "warning";
    case Level::kError:
      return "error";
  }
  return "info";
}

void WriteAll(int fd, absl::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    data.remove_prefix(static_cast<size_t>(n));
  }
}

}  // namespace

absl::Status Init(absl::string_view file, Format format, bool debug) {
  Sink& s = sink();
  s.format = format;
  s.debug = debug;
  if (file.empty()) return absl::OkStatus();
  std::string path(file);
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoError(absl::StrCat("open log file ", path));
  s.fd = fd;
  return absl::OkStatus();
}

void SetFd(int fd) { sink().fd = fd; }
void SetProgramName(absl::string_view name) { sink().program = std::string(name); }
void SetStderrLevel(Level level) { sink().stderr_level = level; }
int Fd() { return sink().fd; }
bool DebugEnabled() { return sink().debug; }

std::string FormatLine(Format format, Level level, absl::string_view msg, absl::string_view time) {
  if (format == Format::kJson) {
    JsonWriter w;
    w.BeginObject();
    w.Key("level").String(LevelName(level));
    w.Key("msg").String(msg);
    w.Key("time").String(time);
    w.EndObject();
    return w.Take();
  }
  // logrus's text format: the message quoted, with quotes and control
  // characters escaped.
  return absl::StrCat("time=\"", time, "\" level=", LevelName(level), " msg=\"", absl::CEscape(msg),
                      "\"");
}

void Write(Level level, absl::string_view msg) {
  const Sink& s = sink();
  if (level == Level::kDebug && !s.debug) return;
  if (s.fd >= 0) {
    std::string line = FormatLine(s.format, level, msg, FormatRfc3339Nano(absl::Now()));
    line.push_back('\n');
    WriteAll(s.fd, line);
  }
  // Warnings and errors always reach the user's terminal as one plain line;
  // debug/info only when no log file was given and --debug is on.
  if (level >= s.stderr_level || (s.fd < 0 && s.debug)) {
    std::string line = level == Level::kError
                           ? absl::StrCat(s.program, ": ", msg, "\n")
                           : absl::StrCat(s.program, ": ", LevelName(level), ": ", msg, "\n");
    WriteAll(STDERR_FILENO, line);
  }
}

}  // namespace berth::log
