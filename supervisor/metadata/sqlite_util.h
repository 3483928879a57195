// Internal to the metadata store: a small RAII wrapper over sqlite3_stmt
// (prepare, bind, step, finalize) and sqlite result codes as absl::Status.
// Values always go through Bind*, never into the SQL text.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace berth::supervisor::sqlite {

// `op: <sqlite's message>` with a code chosen from the (extended) result code:
// UNIQUE/PRIMARYKEY constraints are ALREADY_EXISTS, a lock still held after
// the busy timeout is UNAVAILABLE, a full disk RESOURCE_EXHAUSTED, the rest
// INTERNAL.
absl::Status Error(sqlite3* db, int rc, absl::string_view op);

class Statement {
 public:
  // `op` names the operation in error messages ("insert container").
  static absl::StatusOr<Statement> Prepare(sqlite3* db, absl::string_view sql,
                                           absl::string_view op);
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) = delete;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  // Parameters are numbered from 1 as in "?1". A failed bind is reported by
  // the next Step()/Run().
  Statement& BindText(int index, absl::string_view value);
  // An empty value is bound as NULL (unique columns where empty means none).
  Statement& BindTextOrNull(int index, absl::string_view value);
  Statement& BindInt(int index, int64_t value);
  Statement& BindBlob(int index, absl::string_view value);
  Statement& BindBool(int index, bool value) { return BindInt(index, value ? 1 : 0); }
  Statement& BindTime(int index, absl::Time value) {
    return BindInt(index, absl::ToUnixNanos(value));
  }

  // true: a row is available; false: done.
  absl::StatusOr<bool> Step();
  // Steps to completion, ignoring rows (INSERT, UPDATE, DELETE, PRAGMA x=y).
  absl::Status Run();

  // Columns of the current row, numbered from 0. NULL reads as "" or 0.
  std::string Text(int column) const;
  std::string Blob(int column) const;
  int64_t Int(int column) const { return sqlite3_column_int64(stmt_, column); }
  uint32_t Uint32(int column) const { return static_cast<uint32_t>(Int(column)); }
  bool Bool(int column) const { return Int(column) != 0; }
  bool IsNull(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }
  absl::Time Time(int column) const { return absl::FromUnixNanos(Int(column)); }

 private:
  Statement(sqlite3* db, sqlite3_stmt* stmt, absl::string_view op)
      : db_(db), stmt_(stmt), op_(op) {}
  void NoteBind(int rc);

  sqlite3* db_;
  sqlite3_stmt* stmt_;
  std::string op_;
  int bind_rc_ = SQLITE_OK;
};

// Prepares and runs one statement without parameters ("BEGIN IMMEDIATE").
absl::Status Exec(sqlite3* db, absl::string_view sql, absl::string_view op);

}  // namespace berth::supervisor::sqlite
