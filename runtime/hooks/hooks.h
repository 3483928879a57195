// OCI lifecycle hooks (runtime-spec config.md "POSIX-platform Hooks"): each
// hook is executed with the container state JSON on stdin, its own args and
// env, and an optional timeout; the caller decides in which namespace and at
// which point of the lifecycle.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "lib/json_writer.h"
#include "runtime/spec/spec.h"

namespace berth::hooks {

// The state document hooks read on stdin (runtime.md "State").
std::string StateJson(const spec::Spec& spec, absl::string_view id, absl::string_view status,
                      pid_t pid, absl::string_view bundle);
// The same object, written as the next value of `w` (e.g. inside the
// seccomp agent's container process state).
void WriteState(JsonWriter& w, const spec::Spec& spec, absl::string_view id,
                absl::string_view status, pid_t pid, absl::string_view bundle);

// Runs hooks in order; the first that fails (non-zero exit, signal, timeout,
// cannot be executed) stops the sequence. Errors name the hook:
// `hooks.createRuntime[1] (/usr/bin/x): exited with status 3: <its output>`.
absl::Status Run(const std::vector<spec::Hook>& hooks, absl::string_view kind,
                 absl::string_view state_json);

// Runs every hook of a list whose failures the runtime-spec makes warnings
// (poststart, poststop): one warning per failed hook, and the rest still run.
void RunAll(const std::vector<spec::Hook>& hooks, absl::string_view kind,
            absl::string_view state_json);

}  // namespace berth::hooks
