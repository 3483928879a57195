#include "runtime/linux/capabilities.h"

#include <sys/capability.h>
#include <sys/prctl.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "lib/errors.h"
#include "lib/log.h"

namespace berth::linux_ns {
namespace {

struct CapSet {
  const char* field;
  const std::vector<std::string>* names;
};

absl::StatusOr<std::vector<cap_value_t>> Resolve(const CapSet& set) {
  std::vector<cap_value_t> out;
  for (const std::string& name : *set.names) {
    cap_value_t v;
    if (cap_from_name(absl::AsciiStrToLower(name).c_str(), &v) != 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("process.capabilities.", set.field, ": unknown capability \"", name, "\""));
    }
    // As runc: a name this kernel is too old for is skipped with a warning;
    // a name nobody knows (a typo) is an error, above.
    if (v >= static_cast<cap_value_t>(cap_max_bits())) {
      log::Warn(absl::StrCat("process.capabilities.", set.field, ": ", name,
                             " is not supported by this kernel; ignored"));
      continue;
    }
    out.push_back(v);
  }
  return out;
}

std::vector<CapSet> Sets(const spec::Capabilities& c) {
  return {{"bounding", &c.bounding},
          {"effective", &c.effective},
          {"inheritable", &c.inheritable},
          {"permitted", &c.permitted},
          {"ambient", &c.ambient}};
}

}  // namespace

absl::Status ValidateCapabilities(const spec::Capabilities& caps) {
  for (const CapSet& set : Sets(caps)) {
    BERTH_ASSIGN_OR_RETURN(std::vector<cap_value_t> values, Resolve(set));
    for (size_t i = 0; i < values.size(); ++i) {
      if (cap_get_bound(values[i]) != 1) {
        return absl::PermissionDeniedError(
            absl::StrCat("process.capabilities.", set.field, ": ", (*set.names)[i],
                         " is not held by the runtime, so it cannot be given to the container"));
      }
    }
  }
  return absl::OkStatus();
}

absl::Status PrepareCapabilitiesForUserSwitch() {
  if (::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) return ErrnoError("prctl(PR_SET_KEEPCAPS)");
  return absl::OkStatus();
}

absl::StatusOr<CapabilityPlan> ResolveCapabilities(const spec::Capabilities& caps) {
  std::vector<CapSet> sets = Sets(caps);
  CapabilityPlan plan;
  BERTH_ASSIGN_OR_RETURN(plan.bounding, Resolve(sets[0]));
  BERTH_ASSIGN_OR_RETURN(auto effective, Resolve(sets[1]));
  BERTH_ASSIGN_OR_RETURN(auto inheritable, Resolve(sets[2]));
  BERTH_ASSIGN_OR_RETURN(auto permitted, Resolve(sets[3]));
  BERTH_ASSIGN_OR_RETURN(auto ambient, Resolve(sets[4]));
  plan.sets.reset(cap_init());
  if (!plan.sets) return ErrnoError("process.capabilities: cap_init");
  auto set = [&](cap_flag_t flag, const std::vector<cap_value_t>& values) {
    if (!values.empty()) {
      cap_set_flag(plan.sets.get(), flag, static_cast<int>(values.size()), values.data(), CAP_SET);
    }
  };
  set(CAP_EFFECTIVE, effective);
  set(CAP_PERMITTED, permitted);
  set(CAP_INHERITABLE, inheritable);
  auto contains = [](const std::vector<cap_value_t>& s, cap_value_t v) {
    for (cap_value_t x : s)
      if (x == v) return true;
    return false;
  };
  for (cap_value_t v : ambient) {
    // As runc: an ambient capability that is not also permitted and
    // inheritable cannot be raised; that is a note, not a failure.
    if (contains(permitted, v) && contains(inheritable, v)) {
      plan.ambient.push_back(v);
      continue;
    }
    char* name = cap_to_name(v);
    log::Debug(absl::StrCat("process.capabilities.ambient: cannot raise ", name,
                            " (it must also be permitted and inheritable)"));
    cap_free(name);
  }
  return plan;
}

void RaiseEffective(cap_value_t cap) {
  cap_t cur = cap_get_proc();
  if (cur == nullptr) return;
  cap_set_flag(cur, CAP_EFFECTIVE, 1, &cap, CAP_SET);
  cap_set_proc(cur);
  cap_free(cur);
}

absl::Status DropBoundingSet(const CapabilityPlan& plan) {
  // Dropping from the bounding set needs CAP_SETPCAP in the effective set;
  // after a switch to a non-root uid the effective set is empty.
  RaiseEffective(CAP_SETPCAP);
  for (cap_value_t v = 0; v <= CAP_LAST_CAP && v < static_cast<cap_value_t>(cap_max_bits()); ++v) {
    bool keep = false;
    for (cap_value_t b : plan.bounding) keep |= b == v;
    if (!keep && cap_get_bound(v) == 1 && cap_drop_bound(v) != 0) {
      return ErrnoError(absl::StrCat("drop capability ", v, " from the bounding set"));
    }
  }
  return absl::OkStatus();
}

absl::Status SetProcessCapabilities(const CapabilityPlan& plan) {
  // Nothing here allocates but the message of a failure: the filter may
  // refuse the memory calls.
  if (cap_set_proc(plan.sets.get()) != 0) return ErrnoError("set process capabilities");
  if (cap_reset_ambient() != 0 && errno != EINVAL) return ErrnoError("reset ambient capabilities");
  for (cap_value_t v : plan.ambient) {
    if (cap_set_ambient(v, CAP_SET) != 0) {
      return ErrnoError("process.capabilities.ambient: raise a capability");
    }
  }
  ::prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);  // execve clears it anyway
  return absl::OkStatus();
}

absl::Status ApplyCapabilities(const spec::Capabilities& caps) {
  BERTH_ASSIGN_OR_RETURN(CapabilityPlan plan, ResolveCapabilities(caps));
  BERTH_RETURN_IF_ERROR(DropBoundingSet(plan));
  return SetProcessCapabilities(plan);
}

}  // namespace berth::linux_ns
