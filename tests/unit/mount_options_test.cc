#include "lib/mount_options.h"

#include <sys/mount.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <string>
#include <vector>

namespace berth {
namespace {

using Strings = std::vector<std::string>;

TEST_CASE("Plain options set and clear MS_ flags", "[mount_options]") {
  MountOptions o = ParseMountOptions({"nosuid", "nodev", "noexec", "ro"});
  CHECK(o.flags == (MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY));
  CHECK(o.clear_flags == 0);
  CHECK(o.data.empty());
  CHECK(o.propagation.empty());
  CHECK_FALSE(o.is_bind());
}

TEST_CASE("Later options override earlier ones", "[mount_options]") {
  MountOptions rw = ParseMountOptions({"ro", "rw"});
  CHECK((rw.flags & MS_RDONLY) == 0);
  CHECK((rw.clear_flags & MS_RDONLY) != 0);

  MountOptions ro = ParseMountOptions({"rw", "ro"});
  CHECK((ro.flags & MS_RDONLY) != 0);
  CHECK((ro.clear_flags & MS_RDONLY) == 0);

  MountOptions suid = ParseMountOptions({"nosuid", "suid", "nodev"});
  CHECK(suid.flags == MS_NODEV);
  CHECK(suid.clear_flags == MS_NOSUID);
}

TEST_CASE("Clearing options record what they clear", "[mount_options]") {
  MountOptions o = ParseMountOptions({"rw", "suid", "dev", "exec", "async", "nomand"});
  CHECK(o.flags == 0);
  CHECK(o.clear_flags ==
        (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_SYNCHRONOUS | MS_MANDLOCK));
}

TEST_CASE("Atime modes exclude each other", "[mount_options]") {
  MountOptions o = ParseMountOptions({"noatime", "strictatime"});
  CHECK(o.flags == MS_STRICTATIME);
  o = ParseMountOptions({"strictatime", "relatime", "nodiratime"});
  CHECK(o.flags == (MS_RELATIME | MS_NODIRATIME));
  o = ParseMountOptions({"noatime", "atime"});
  CHECK(o.flags == 0);
  CHECK(o.clear_flags == MS_NOATIME);
}

TEST_CASE("Miscellaneous flag options", "[mount_options]") {
  CHECK(ParseMountOptions({"sync"}).flags == MS_SYNCHRONOUS);
  CHECK(ParseMountOptions({"dirsync"}).flags == MS_DIRSYNC);
  CHECK(ParseMountOptions({"iversion"}).flags == MS_I_VERSION);
  CHECK(ParseMountOptions({"lazytime"}).flags == MS_LAZYTIME);
  CHECK(ParseMountOptions({"mand"}).flags == MS_MANDLOCK);
  CHECK(ParseMountOptions({"nosymfollow"}).flags == MS_NOSYMFOLLOW);
  CHECK(ParseMountOptions({"silent"}).flags == MS_SILENT);
  CHECK(ParseMountOptions({"silent", "loud"}).flags == 0);
  CHECK(ParseMountOptions({"remount"}).flags == MS_REMOUNT);
  MountOptions d = ParseMountOptions({"defaults"});
  CHECK(d.flags == 0);
  CHECK(d.clear_flags == 0);
  CHECK(d.data.empty());
}

TEST_CASE("bind and rbind", "[mount_options]") {
  MountOptions bind = ParseMountOptions({"bind", "ro"});
  CHECK(bind.is_bind());
  CHECK(bind.flags == (MS_BIND | MS_RDONLY));
  MountOptions rbind = ParseMountOptions({"rbind"});
  CHECK(rbind.is_bind());
  CHECK(rbind.flags == (MS_BIND | MS_REC));
}

TEST_CASE("Unknown options become comma-joined data in order", "[mount_options]") {
  MountOptions o =
      ParseMountOptions({"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"});
  CHECK(o.flags == (MS_NOSUID | MS_NOEXEC));
  CHECK(o.data == "newinstance,ptmxmode=0666,mode=0620,gid=5");
  CHECK(ParseMountOptions({"mode=755", "strictatime", "size=65536k"}).data ==
        "mode=755,size=65536k");
  CHECK(ParseMountOptions({}).data.empty());
}

TEST_CASE("Propagation options are kept in order", "[mount_options]") {
  MountOptions o = ParseMountOptions({"rprivate", "shared", "rslave", "unbindable"});
  CHECK(o.propagation == std::vector<unsigned long>{MS_PRIVATE | MS_REC, MS_SHARED,
                                                    MS_SLAVE | MS_REC, MS_UNBINDABLE});
  CHECK(o.flags == 0);
  MountOptions r = ParseMountOptions({"private", "rshared", "slave", "runbindable"});
  CHECK(r.propagation == std::vector<unsigned long>{MS_PRIVATE, MS_SHARED | MS_REC, MS_SLAVE,
                                                    MS_UNBINDABLE | MS_REC});
}

TEST_CASE("Recursive attributes", "[mount_options]") {
  MountOptions rro = ParseMountOptions({"rbind", "rro"});
  CHECK(rro.rec_attr_set == MOUNT_ATTR_RDONLY);
  CHECK(rro.rec_attr_clr == 0);
  CHECK(rro.flags == (MS_BIND | MS_REC));  // rro is not the plain ro flag

  MountOptions set =
      ParseMountOptions({"rnosuid", "rnodev", "rnoexec", "rnodiratime", "rnosymfollow"});
  CHECK(set.rec_attr_set == (MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC |
                             MOUNT_ATTR_NODIRATIME | MOUNT_ATTR_NOSYMFOLLOW));
  CHECK(set.rec_attr_clr == 0);

  MountOptions clr =
      ParseMountOptions({"rrw", "rsuid", "rdev", "rexec", "rdiratime", "rsymfollow"});
  CHECK(clr.rec_attr_set == 0);
  CHECK(clr.rec_attr_clr == (MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
                             MOUNT_ATTR_NOEXEC | MOUNT_ATTR_NODIRATIME | MOUNT_ATTR_NOSYMFOLLOW));

  MountOptions flip = ParseMountOptions({"rro", "rrw"});
  CHECK(flip.rec_attr_set == 0);
  CHECK(flip.rec_attr_clr == MOUNT_ATTR_RDONLY);
}

TEST_CASE("Recursive atime options switch the whole atime field", "[mount_options]") {
  MountOptions noatime = ParseMountOptions({"rnoatime"});
  CHECK(noatime.rec_attr_set == MOUNT_ATTR_NOATIME);
  CHECK(noatime.rec_attr_clr == MOUNT_ATTR__ATIME);

  MountOptions strict = ParseMountOptions({"rnoatime", "rstrictatime"});
  CHECK(strict.rec_attr_set == MOUNT_ATTR_STRICTATIME);
  CHECK(strict.rec_attr_clr == MOUNT_ATTR__ATIME);

  MountOptions relatime = ParseMountOptions({"rstrictatime", "rrelatime", "rnodiratime"});
  CHECK(relatime.rec_attr_set == (MOUNT_ATTR_RELATIME | MOUNT_ATTR_NODIRATIME));
  CHECK(relatime.rec_attr_clr == MOUNT_ATTR__ATIME);

  // ratime clears noatime: back to the kernel default, relatime.
  MountOptions ratime = ParseMountOptions({"rnoatime", "ratime"});
  CHECK((ratime.rec_attr_set & MOUNT_ATTR__ATIME) == MOUNT_ATTR_RELATIME);
  CHECK((ratime.rec_attr_clr & MOUNT_ATTR_NOATIME) != 0);
  CHECK(ParseMountOptions({"rnostrictatime"}).rec_attr_set == MOUNT_ATTR_RELATIME);
  CHECK(ParseMountOptions({"rnorelatime"}).rec_attr_set == MOUNT_ATTR_STRICTATIME);
}

TEST_CASE("idmap, ridmap and tmpcopyup set their booleans", "[mount_options]") {
  MountOptions o = ParseMountOptions({"idmap"});
  CHECK(o.idmap);
  CHECK_FALSE(o.recursive_idmap);
  o = ParseMountOptions({"ridmap", "tmpcopyup"});
  CHECK(o.recursive_idmap);
  CHECK(o.tmpcopyup);
  CHECK(o.data.empty());
}

TEST_CASE("KnownMountOptions lists the whole vocabulary, sorted", "[mount_options]") {
  const std::vector<std::string_view> expected = {"async",         "atime",        "bind",
                                                  "defaults",      "dev",          "diratime",
                                                  "dirsync",       "exec",         "idmap",
                                                  "iversion",      "lazytime",     "loud",
                                                  "mand",          "noatime",      "nodev",
                                                  "nodiratime",    "noexec",       "noiversion",
                                                  "nolazytime",    "nomand",       "norelatime",
                                                  "nostrictatime", "nosuid",       "nosymfollow",
                                                  "private",       "ratime",       "rbind",
                                                  "rdev",          "rdiratime",    "relatime",
                                                  "remount",       "rexec",        "ridmap",
                                                  "rnoatime",      "rnodev",       "rnodiratime",
                                                  "rnoexec",       "rnorelatime",  "rnostrictatime",
                                                  "rnosuid",       "rnosymfollow", "ro",
                                                  "rprivate",      "rrelatime",    "rro",
                                                  "rrw",           "rshared",      "rslave",
                                                  "rstrictatime",  "rsuid",        "rsymfollow",
                                                  "runbindable",   "rw",           "shared",
                                                  "silent",        "slave",        "strictatime",
                                                  "suid",          "symfollow",    "sync",
                                                  "tmpcopyup",     "unbindable"};
  std::vector<std::string_view> known = KnownMountOptions();
  CHECK(std::is_sorted(known.begin(), known.end()));
  CHECK(known == expected);
  // No known option leaks into data.
  for (std::string_view name : known) {
    CHECK(ParseMountOptions({std::string(name)}).data.empty());
  }
}

}  // namespace
}  // namespace berth
