// Internal to the metadata store: the schema, versioned by PRAGMA
// user_version, and the migrations that bring an older database up to date.
#pragma once

#include <sqlite3.h>

#include <string>

#include "absl/status/status.h"

namespace berth::supervisor {

// The schema version this code writes: the number of migrations.
int LatestSchemaVersion();

// Applies every migration after the database's user_version, each in its own
// transaction that also bumps user_version. A database newer than this code
// is refused (FAILED_PRECONDITION) and left untouched. `path` is for messages.
absl::Status MigrateSchema(sqlite3* db, const std::string& path);

}  // namespace berth::supervisor
