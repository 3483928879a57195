// Helpers that turn errno into an absl::Status with a message a user can act on.
#pragma once

#include <cerrno>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace berth {

// "what: strerror(err)" with a status code chosen from err.
absl::Status ErrnoError(int err, absl::string_view what);

// Same, using the current errno.
inline absl::Status ErrnoError(absl::string_view what) { return ErrnoError(errno, what); }

// Prefixes a status message with context ("create: " + msg), keeping its code.
absl::Status Annotate(const absl::Status& status, absl::string_view context);

}  // namespace berth

// Propagates a non-OK absl::Status from the enclosing function.
#define BERTH_RETURN_IF_ERROR(expr)                \
  do {                                             \
    ::absl::Status berth_status_ = (expr);         \
    if (!berth_status_.ok()) return berth_status_; \
  } while (0)

#define BERTH_CONCAT_INNER_(a, b) a##b
#define BERTH_CONCAT_(a, b) BERTH_CONCAT_INNER_(a, b)
#define BERTH_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.ok()) return tmp.status();                \
  lhs = std::move(*tmp)
// Assigns the value of an absl::StatusOr or returns its error.
#define BERTH_ASSIGN_OR_RETURN(lhs, expr) \
  BERTH_ASSIGN_OR_RETURN_IMPL_(BERTH_CONCAT_(berth_statusor_, __LINE__), lhs, expr)
