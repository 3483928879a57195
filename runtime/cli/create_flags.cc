#include "runtime/cli/create_flags.h"

namespace berth::cli {

void AddCreateFlags(FlagSet& flags, container::CreateOptions& o) {
  flags.String({"bundle", "b"}, &o.bundle);
  flags.String({"pid-file"}, &o.pid_file);
  flags.String({"console-socket"}, &o.console_socket);
  flags.Bool({"no-pivot"}, &o.no_pivot);
  flags.Bool({"no-new-keyring"}, &o.no_new_keyring);
  flags.Int({"preserve-fds"}, &o.preserve_fds);
}

}  // namespace berth::cli
