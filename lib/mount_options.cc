#include "lib/mount_options.h"

// glibc's <sys/mount.h> has both the MS_* and the MOUNT_ATTR_* constants
// (and must not be mixed with <linux/mount.h>).
#include <sys/mount.h>

#include <algorithm>
#include <iterator>

#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"

namespace berth {
namespace {

enum class Kind {
  kNoop,            // accepted without effect ("defaults")
  kSetFlag,         // MS_* to set
  kClearFlag,       // MS_* to clear
  kAtimeFlag,       // one of the mutually exclusive MS_* atime modes
  kPropagation,     // MS_SHARED, ... (| MS_REC), applied after the mount
  kSetAttr,         // recursive MOUNT_ATTR_* to set
  kClearAttr,       // recursive MOUNT_ATTR_* to clear
  kAtimeAttr,       // recursive atime mode: a value of the MOUNT_ATTR__ATIME field
  kIdmap,           // "idmap"
  kRecursiveIdmap,  // "ridmap"
  kTmpcopyup,       // "tmpcopyup"
};

struct Option {
  std::string_view name;
  Kind kind;
  uint64_t bits = 0;
};

constexpr unsigned long kAtimeFlags = MS_NOATIME | MS_RELATIME | MS_STRICTATIME;

// Sorted by name (checked below) so lookups can bisect.
constexpr Option kOptions[] = {
    {"async", Kind::kClearFlag, MS_SYNCHRONOUS},
    {"atime", Kind::kClearFlag, MS_NOATIME},
    {"bind", Kind::kSetFlag, MS_BIND},
    {"defaults", Kind::kNoop},
    {"dev", Kind::kClearFlag, MS_NODEV},
    {"diratime", Kind::kClearFlag, MS_NODIRATIME},
    {"dirsync", Kind::kSetFlag, MS_DIRSYNC},
    {"exec", Kind::kClearFlag, MS_NOEXEC},
    {"idmap", Kind::kIdmap},
    {"iversion", Kind::kSetFlag, MS_I_VERSION},
    {"lazytime", Kind::kSetFlag, MS_LAZYTIME},
    {"loud", Kind::kClearFlag, MS_SILENT},
    {"mand", Kind::kSetFlag, MS_MANDLOCK},
    {"noatime", Kind::kAtimeFlag, MS_NOATIME},
    {"nodev", Kind::kSetFlag, MS_NODEV},
    {"nodiratime", Kind::kSetFlag, MS_NODIRATIME},
    {"noexec", Kind::kSetFlag, MS_NOEXEC},
    {"noiversion", Kind::kClearFlag, MS_I_VERSION},
    {"nolazytime", Kind::kClearFlag, MS_LAZYTIME},
    {"nomand", Kind::kClearFlag, MS_MANDLOCK},
    {"norelatime", Kind::kClearFlag, MS_RELATIME},
    {"nostrictatime", Kind::kClearFlag, MS_STRICTATIME},
    {"nosuid", Kind::kSetFlag, MS_NOSUID},
    {"nosymfollow", Kind::kSetFlag, MS_NOSYMFOLLOW},
    {"private", Kind::kPropagation, MS_PRIVATE},
    // mount_setattr(2) can only switch the atime field to a mode, not clear
    // part of it, so the "r<no>..." atime options name the mode they leave:
    // without noatime/strictatime the kernel default is relatime; without
    // relatime it is strictatime.
    {"ratime", Kind::kAtimeAttr, MOUNT_ATTR_RELATIME},
    {"rbind", Kind::kSetFlag, MS_BIND | MS_REC},
    {"rdev", Kind::kClearAttr, MOUNT_ATTR_NODEV},
    {"rdiratime", Kind::kClearAttr, MOUNT_ATTR_NODIRATIME},
    {"relatime", Kind::kAtimeFlag, MS_RELATIME},
    {"remount", Kind::kSetFlag, MS_REMOUNT},
    {"rexec", Kind::kClearAttr, MOUNT_ATTR_NOEXEC},
    {"ridmap", Kind::kRecursiveIdmap},
    {"rnoatime", Kind::kAtimeAttr, MOUNT_ATTR_NOATIME},
    {"rnodev", Kind::kSetAttr, MOUNT_ATTR_NODEV},
    {"rnodiratime", Kind::kSetAttr, MOUNT_ATTR_NODIRATIME},
    {"rnoexec", Kind::kSetAttr, MOUNT_ATTR_NOEXEC},
    {"rnorelatime", Kind::kAtimeAttr, MOUNT_ATTR_STRICTATIME},
    {"rnostrictatime", Kind::kAtimeAttr, MOUNT_ATTR_RELATIME},
    {"rnosuid", Kind::kSetAttr, MOUNT_ATTR_NOSUID},
    {"rnosymfollow", Kind::kSetAttr, MOUNT_ATTR_NOSYMFOLLOW},
    {"ro", Kind::kSetFlag, MS_RDONLY},
    {"rprivate", Kind::kPropagation, MS_PRIVATE | MS_REC},
    {"rrelatime", Kind::kAtimeAttr, MOUNT_ATTR_RELATIME},
    {"rro", Kind::kSetAttr, MOUNT_ATTR_RDONLY},
    {"rrw", Kind::kClearAttr, MOUNT_ATTR_RDONLY},
    {"rshared", Kind::kPropagation, MS_SHARED | MS_REC},
    {"rslave", Kind::kPropagation, MS_SLAVE | MS_REC},
    {"rstrictatime", Kind::kAtimeAttr, MOUNT_ATTR_STRICTATIME},
    {"rsuid", Kind::kClearAttr, MOUNT_ATTR_NOSUID},
    {"rsymfollow", Kind::kClearAttr, MOUNT_ATTR_NOSYMFOLLOW},
    {"runbindable", Kind::kPropagation, MS_UNBINDABLE | MS_REC},
    {"rw", Kind::kClearFlag, MS_RDONLY},
    {"shared", Kind::kPropagation, MS_SHARED},
    {"silent", Kind::kSetFlag, MS_SILENT},
    {"slave", Kind::kPropagation, MS_SLAVE},
    {"strictatime", Kind::kAtimeFlag, MS_STRICTATIME},
    {"suid", Kind::kClearFlag, MS_NOSUID},
    {"symfollow", Kind::kClearFlag, MS_NOSYMFOLLOW},
    {"sync", Kind::kSetFlag, MS_SYNCHRONOUS},
    {"tmpcopyup", Kind::kTmpcopyup},
    {"unbindable", Kind::kPropagation, MS_UNBINDABLE},
};

constexpr bool ByName(const Option& a, const Option& b) { return a.name < b.name; }
static_assert(std::is_sorted(std::begin(kOptions), std::end(kOptions), ByName));

const Option* Find(std::string_view name) {
  const Option* it =
      std::lower_bound(std::begin(kOptions), std::end(kOptions), Option{name, Kind::kNoop}, ByName);
  return it != std::end(kOptions) && it->name == name ? it : nullptr;
}

// Later options override earlier ones: setting a bit withdraws an earlier
// request to clear it, and the other way round.
void SetFlags(MountOptions& o, unsigned long f) {
  o.flags |= f;
  o.clear_flags &= ~f;
}

void ClearFlags(MountOptions& o, unsigned long f) {
  o.flags &= ~f;
  o.clear_flags |= f;
}

void Apply(const Option& opt, MountOptions& o) {
  switch (opt.kind) {
    case Kind::kNoop:
      break;
    case Kind::kSetFlag:
      SetFlags(o, opt.bits);
      break;
    case Kind::kClearFlag:
      ClearFlags(o, opt.bits);
      break;
    case Kind::kAtimeFlag:
      o.flags &= ~kAtimeFlags;
      SetFlags(o, opt.bits);
      break;
    case Kind::kPropagation:
      o.propagation.push_back(opt.bits);
      break;
    case Kind::kSetAttr:
      o.rec_attr_set |= opt.bits;
      o.rec_attr_clr &= ~opt.bits;
      break;
    case Kind::kClearAttr:
      o.rec_attr_clr |= opt.bits;
      o.rec_attr_set &= ~opt.bits;
      break;
    case Kind::kAtimeAttr:
      // Changing the atime mode means clearing the whole field first.
      o.rec_attr_set = (o.rec_attr_set & ~uint64_t{MOUNT_ATTR__ATIME}) | opt.bits;
      o.rec_attr_clr |= MOUNT_ATTR__ATIME;
      break;
    case Kind::kIdmap:
      o.idmap = true;
      break;
    case Kind::kRecursiveIdmap:
      o.recursive_idmap = true;
      break;
    case Kind::kTmpcopyup:
      o.tmpcopyup = true;
      break;
  }
}

}  // namespace

bool MountOptions::is_bind() const { return (flags & MS_BIND) != 0; }

MountOptions ParseMountOptions(const std::vector<std::string>& options) {
  MountOptions out;
  std::vector<absl::string_view> data;
  for (const std::string& name : options) {
    if (const Option* opt = Find(name)) {
      Apply(*opt, out);
    } else {
      data.push_back(name);  // filesystem-specific: "mode=755", "newinstance", ...
    }
  }
  out.data = absl::StrJoin(data, ",");
  return out;
}

std::vector<std::string_view> KnownMountOptions() {
  std::vector<std::string_view> names;
  names.reserve(std::size(kOptions));
  for (const Option& opt : kOptions) names.push_back(opt.name);
  return names;  // already sorted: kOptions is
}

}  // namespace berth
