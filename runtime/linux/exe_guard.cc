#include "runtime/linux/exe_guard.h"

#include <elf.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "lib/errors.h"
#include "lib/unique_fd.h"

namespace berth::linux_ns {
namespace {

constexpr int kMaxInterpreterDepth = 5;  // the kernel allows 4 levels of #!

absl::Status Refuse(const std::string& path) {
  return absl::PermissionDeniedError(absl::StrCat(
      "process.args: \"", path,
      "\" would execute the runtime's own binary inside the container; refused (CVE-2019-5736)"));
}

// The interpreter named by "#!..." or by an ELF PT_INTERP; empty if none.
std::string Interpreter(int fd) {
  char head[256] = {0};
  ssize_t n = ::pread(fd, head, sizeof head - 1, 0);
  if (n >= 2 && head[0] == '#' && head[1] == '!') {
    absl::string_view line(head + 2, static_cast<size_t>(n - 2));
    line = line.substr(0, line.find('\n'));
    line = absl::StripLeadingAsciiWhitespace(line);
    return std::string(line.substr(0, line.find_first_of(" \t")));
  }
  Elf64_Ehdr eh;
  if (n < static_cast<ssize_t>(sizeof eh) || std::memcmp(head, ELFMAG, SELFMAG) != 0 ||
      head[EI_CLASS] != ELFCLASS64) {
    return "";
  }
  std::memcpy(&eh, head, sizeof eh);
  for (int i = 0; i < eh.e_phnum && i < 64; ++i) {
    Elf64_Phdr ph;
    off_t off = static_cast<off_t>(eh.e_phoff + static_cast<uint64_t>(i) * eh.e_phentsize);
    if (::pread(fd, &ph, sizeof ph, off) != static_cast<ssize_t>(sizeof ph)) return "";
    if (ph.p_type != PT_INTERP || ph.p_filesz == 0 || ph.p_filesz > 4096) continue;
    std::string interp(ph.p_filesz, '\0');
    if (::pread(fd, interp.data(), interp.size(), static_cast<off_t>(ph.p_offset)) !=
        static_cast<ssize_t>(interp.size())) {
      return "";
    }
    return std::string(interp.c_str());  // drop the NUL
  }
  return "";
}

}  // namespace

absl::StatusOr<FileId> OwnExecutable() {
  struct stat st;
  if (::stat("/proc/self/exe", &st) != 0) return ErrnoError("stat /proc/self/exe");
  return FileId{st.st_dev, st.st_ino};
}

absl::Status CheckNotRuntimeBinary(const std::string& path, const FileId& runtime) {
  std::string current = path;
  for (int depth = 0; depth < kMaxInterpreterDepth && !current.empty(); ++depth) {
    UniqueFd fd(::open(current.c_str(), O_RDONLY | O_CLOEXEC));
    struct stat st;
    if (!fd || ::fstat(fd.get(), &st) != 0) {
      // Unreadable: it cannot be the runtime, which every user may read;
      // execve will judge the rest.
      return absl::OkStatus();
    }
    if (st.st_dev == runtime.dev && st.st_ino == runtime.ino) return Refuse(path);
    current = Interpreter(fd.get());
  }
  return absl::OkStatus();
}

}  // namespace berth::linux_ns
