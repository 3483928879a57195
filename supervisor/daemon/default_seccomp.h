// The seccomp profile berthd gives containers it builds the spec for (not a
// client's own config.json, not --privileged): everything allowed but the
// system calls that reach past a container (kernel modules, the clock,
// reboot, mounts and namespaces, keyrings, other processes' memory, raw I/O,
// bpf and perf), each refused with EPERM unless the container holds the
// capability that would make it legitimate. The same calls docker's default
// profile keeps from a container, written as a short deny list rather than
// docker's long allow list.
#pragma once

#include <string>
#include <vector>

#include "google/protobuf/struct.pb.h"

namespace berth::supervisor {

// linux.seccomp for a container with capabilities `caps` ("CAP_SYS_ADMIN").
google::protobuf::Struct DefaultSeccomp(const std::vector<std::string>& caps);

}  // namespace berth::supervisor
