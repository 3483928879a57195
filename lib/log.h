// runc-compatible logging: `--log FILE --log-format text|json`. containerd
// shows the user the last `"level":"error"` line of the json log, and podman
// parses the whole file as one object on failure, so a failing command writes
// exactly one error line.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace berth::log {

enum class Level { kDebug, kInfo, kWarning, kError };
enum class Format { kText, kJson };

// Configures the sink. Without a file, messages go to stderr only. Errors are
// always also written to stderr (unless stderr_for_errors is false).
absl::Status Init(absl::string_view file, Format format, bool debug);

// The name stderr lines start with ("berth" unless set), and the lowest
// level that reaches stderr besides the log file (warnings unless set;
// berthd, a daemon, logs from info up).
void SetProgramName(absl::string_view name);
void SetStderrLevel(Level level);

// Redirects the sink to an already open fd (used after fork, before exec).
void SetFd(int fd);
int Fd();

void Write(Level level, absl::string_view msg);
inline void Debug(absl::string_view msg) { Write(Level::kDebug, msg); }
inline void Info(absl::string_view msg) { Write(Level::kInfo, msg); }
inline void Warn(absl::string_view msg) { Write(Level::kWarning, msg); }
inline void Error(absl::string_view msg) { Write(Level::kError, msg); }

bool DebugEnabled();

// Renders one line as the configured format would (no trailing newline).
std::string FormatLine(Format format, Level level, absl::string_view msg, absl::string_view time);

}  // namespace berth::log
