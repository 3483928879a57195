// CVE-2019-5736: a container whose entrypoint is `#!/proc/self/exe` (or an
// ELF whose interpreter is /proc/self/exe) makes the runtime execute its own
// host binary inside the container, where a process can then reopen it for
// writing. Before execve, the init follows the program's #! interpreters and
// ELF PT_INTERP the way the kernel will and refuses if any of them is the
// file the init itself runs from.
#pragma once

#include <sys/types.h>

#include <string>

#include "absl/status/statusor.h"

namespace berth::linux_ns {

struct FileId {
  dev_t dev = 0;
  ino_t ino = 0;
};

// The identity of the running binary (/proc/self/exe), taken at init start.
absl::StatusOr<FileId> OwnExecutable();

absl::Status CheckNotRuntimeBinary(const std::string& path, const FileId& runtime);

}  // namespace berth::linux_ns
