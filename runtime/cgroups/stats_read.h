// Reading a container's statistics from its cgroup files.
#pragma once

#include <string>
#include <vector>

#include "runtime/cgroups/placement.h"
#include "runtime/cgroups/stats.h"

namespace berth::cgroups {

// Every v1 hierarchy of the placement that has statistics.
Stats ReadStatsV1(const Placement& p);
// The one cgroup2 directory; files of controllers that are not enabled are
// simply absent and leave their part at zero.
Stats ReadStatsV2(const std::string& dir);

// Huge page sizes the kernel supports, spelled as the hugetlb files do
// ("2MB", "1GB"), from /sys/kernel/mm/hugepages.
std::vector<std::string> HugePageSizes();
// "hugepages-2048kB" → "2MB" (pure; empty if not of that form).
std::string HugePageSizeName(const std::string& sysfs_dir_name);

}  // namespace berth::cgroups
