// The namespaces table.
#include "absl/strings/str_cat.h"
#include "lib/errors.h"
#include "supervisor/metadata/labels.h"
#include "supervisor/metadata/sqlite_util.h"
#include "supervisor/metadata/store.h"

namespace berth::supervisor {
namespace {

// Kept by berthd: containers created without a namespace land in it.
constexpr char kDefaultNamespace[] = "default";

absl::StatusOr<NamespaceRecord> ReadNamespace(const sqlite::Statement& stmt) {
  NamespaceRecord ns;
  ns.name = stmt.Text(0);
  BERTH_ASSIGN_OR_RETURN(ns.labels,
                         LabelsFromJson(stmt.Text(1), absl::StrCat("namespace ", ns.name)));
  ns.created_at = stmt.Time(2);
  return ns;
}

absl::StatusOr<int64_t> CountIn(sqlite3* db, const char* sql, const std::string& ns,
                                absl::string_view op) {
  BERTH_ASSIGN_OR_RETURN(sqlite::Statement stmt, sqlite::Statement::Prepare(db, sql, op));
  stmt.BindText(1, ns);
  BERTH_ASSIGN_OR_RETURN(bool row, stmt.Step());
  return row ? stmt.Int(0) : 0;
}

}  // namespace

absl::Status Store::EnsureNamespace(const std::string& name) {
  return Transaction([&]() -> absl::Status {
    BERTH_ASSIGN_OR_RETURN(
        sqlite::Statement stmt,
        sqlite::Statement::Prepare(db_,
                                   "INSERT INTO namespaces (name, labels, created_at) "
                                   "VALUES (?1, '{}', ?2) ON CONFLICT (name) DO NOTHING",
                                   absl::StrCat("create namespace ", name)));
    stmt.BindText(1, name).BindTime(2, absl::Now());
    return stmt.Run();
  });
}

absl::Status Store::CreateNamespace(const NamespaceRecord& ns) {
  if (ns.name.empty()) return absl::InvalidArgumentError("namespace name must not be empty");
  BERTH_ASSIGN_OR_RETURN(std::string labels, LabelsToJson(ns.labels));
  return Transaction([&]() -> absl::Status {
    BERTH_ASSIGN_OR_RETURN(
        sqlite::Statement stmt,
        sqlite::Statement::Prepare(
            db_, "INSERT INTO namespaces (name, labels, created_at) VALUES (?1, ?2, ?3)",
            absl::StrCat("create namespace ", ns.name)));
    stmt.BindText(1, ns.name).BindText(2, labels).BindTime(3, ns.created_at);
    absl::Status status = stmt.Run();
    if (absl::IsAlreadyExists(status)) {
      return absl::AlreadyExistsError(absl::StrCat("namespace ", ns.name, " already exists"));
    }
    return status;
  });
}

absl::StatusOr<NamespaceRecord> Store::GetNamespace(const std::string& name) {
  BERTH_ASSIGN_OR_RETURN(sqlite::Statement stmt,
                         sqlite::Statement::Prepare(
                             db_, "SELECT name, labels, created_at FROM namespaces WHERE name = ?1",
                             absl::StrCat("get namespace ", name)));
  stmt.BindText(1, name);
  BERTH_ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return absl::NotFoundError(absl::StrCat("namespace ", name, " not found"));
  return ReadNamespace(stmt);
}

absl::StatusOr<std::vector<NamespaceRecord>> Store::ListNamespaces() {
  BERTH_ASSIGN_OR_RETURN(
      sqlite::Statement stmt,
      sqlite::Statement::Prepare(
          db_, "SELECT name, labels, created_at FROM namespaces ORDER BY name", "list namespaces"));
  std::vector<NamespaceRecord> out;
  for (;;) {
    BERTH_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return out;
    BERTH_ASSIGN_OR_RETURN(NamespaceRecord ns, ReadNamespace(stmt));
    out.push_back(std::move(ns));
  }
}

absl::Status Store::DeleteNamespace(const std::string& name) {
  if (name == kDefaultNamespace) {
    return absl::FailedPreconditionError(
        "namespace default cannot be deleted: berthd keeps it for containers created without one");
  }
  return Transaction([&]() -> absl::Status {
    const std::string op = absl::StrCat("delete namespace ", name);
    BERTH_ASSIGN_OR_RETURN(int64_t containers,
                           CountIn(db_, "SELECT count(*) FROM containers WHERE ns = ?1", name, op));
    BERTH_ASSIGN_OR_RETURN(int64_t sandboxes,
                           CountIn(db_, "SELECT count(*) FROM sandboxes WHERE ns = ?1", name, op));
    if (containers > 0 || sandboxes > 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("namespace ", name, " is not empty: it holds ", containers,
                       " container(s) and ", sandboxes, " pod sandbox(es); delete them first"));
    }
    BERTH_ASSIGN_OR_RETURN(
        sqlite::Statement stmt,
        sqlite::Statement::Prepare(db_, "DELETE FROM namespaces WHERE name = ?1", op));
    stmt.BindText(1, name);
    BERTH_RETURN_IF_ERROR(stmt.Run());
    if (sqlite3_changes(db_) == 0) {
      return absl::NotFoundError(absl::StrCat("namespace ", name, " not found"));
    }
    return absl::OkStatus();
  });
}

}  // namespace berth::supervisor
