// The mount option table: how each `mounts[].options` string maps to mount(2)
// flags, propagation flags, recursive mount_setattr(2) attributes, or
// filesystem data. Same vocabulary as runc's `features` mountOptions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace berth {

struct MountOptions {
  unsigned long flags = 0;        // MS_* to set (MS_RDONLY, MS_NOSUID, MS_BIND, MS_REC, ...)
  unsigned long clear_flags = 0;  // MS_* that an option explicitly clears ("rw", "suid", ...)
  // Propagation changes in the order given: MS_SHARED, MS_SLAVE, MS_PRIVATE or
  // MS_UNBINDABLE, each possibly | MS_REC ("rshared", ...).
  std::vector<unsigned long> propagation;
  // Recursive attributes ("rro", "rnosuid", "rnoatime", ...) for
  // mount_setattr(AT_RECURSIVE): MOUNT_ATTR_* to set and to clear.
  uint64_t rec_attr_set = 0;
  uint64_t rec_attr_clr = 0;
  bool idmap = false;            // "idmap"
  bool recursive_idmap = false;  // "ridmap"
  bool tmpcopyup = false;        // "tmpcopyup": copy the destination's content into a tmpfs
  std::string data;              // everything else, comma-joined, passed as fs data

  bool is_bind() const;  // "bind" or "rbind"
};

MountOptions ParseMountOptions(const std::vector<std::string>& options);

// Every option name the table knows, sorted (for `berth features`).
std::vector<std::string_view> KnownMountOptions();

}  // namespace berth
