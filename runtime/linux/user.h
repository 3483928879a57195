// The container process's identity: supplementary groups and HOME come from
// the container's own /etc/passwd and /etc/group (read after pivot_root), as
// runc does; then gid, groups and uid are set.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "runtime/spec/spec.h"

namespace berth::linux_ns {

struct ExecUser {
  std::string home = "/";
  std::vector<gid_t> groups;  // from /etc/group membership, then additionalGids
};

// Pure: passwd/group file contents → ExecUser for uid (unit-tested).
ExecUser ResolveUser(uint32_t uid, absl::string_view passwd, absl::string_view group,
                     const std::vector<uint32_t>& additional_gids);

// Reads /etc/passwd and /etc/group of the current root.
ExecUser LookupUser(const spec::User& user);

absl::Status SwitchUser(const spec::User& user, const std::vector<gid_t>& groups);

// Before SwitchUser, for a process without a terminal: stdin, stdout and
// stderr (pipes, sockets, files) are given to process.user's uid and gid,
// as crun does, so that the process can reopen them (/dev/stdout) without
// capabilities. Devices (a terminal, /dev/null) are left alone; an fd the
// user namespace cannot chown (EPERM, EINVAL: unmapped owner) or a
// read-only file system (EROFS) is left as it is.
absl::Status ChownStdio(const spec::User& user);

}  // namespace berth::linux_ns
