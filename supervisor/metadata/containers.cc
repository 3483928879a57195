// The containers table: keyed by (ns, id), names unique per namespace.
#include <optional>

#include "absl/strings/str_cat.h"
#include "lib/errors.h"
#include "supervisor/metadata/labels.h"
#include "supervisor/metadata/sqlite_util.h"
#include "supervisor/metadata/store.h"

namespace berth::supervisor {
namespace {

constexpr char kSelectContainer[] =
    "SELECT ns, id, name, labels, spec_json, rootfs_path, rootfs_read_only, runtime, sandbox_id, "
    "created_at, updated_at, image, image_digest, settings, restart_count, stopped_by_user "
    "FROM containers ";

absl::StatusOr<ContainerRecord> ReadContainer(const sqlite::Statement& stmt) {
  ContainerRecord c;
  c.ns = stmt.Text(0);
  c.id = stmt.Text(1);
  c.name = stmt.Text(2);  // NULL: unnamed
  BERTH_ASSIGN_OR_RETURN(
      c.labels,
      LabelsFromJson(stmt.Text(3), absl::StrCat("container ", c.id, " in namespace ", c.ns)));
  c.spec_json = stmt.Text(4);
  c.rootfs_path = stmt.Text(5);
  c.rootfs_read_only = stmt.Bool(6);
  c.runtime = stmt.Text(7);
  c.sandbox_id = stmt.Text(8);
  c.created_at = stmt.Time(9);
  c.updated_at = stmt.Time(10);
  c.image = stmt.Text(11);
  c.image_digest = stmt.Text(12);
  c.settings = stmt.Blob(13);
  c.restart_count = static_cast<int32_t>(stmt.Int(14));
  c.stopped_by_user = stmt.Bool(15);
  return c;
}

absl::Status NotFound(const std::string& ns, const std::string& id) {
  return absl::NotFoundError(absl::StrCat("container ", id, " not found in namespace ", ns));
}

absl::Status CheckKey(const ContainerRecord& c) {
  if (c.ns.empty()) return absl::InvalidArgumentError("container namespace must not be empty");
  if (c.id.empty()) return absl::InvalidArgumentError("container id must not be empty");
  return absl::OkStatus();
}

absl::StatusOr<bool> ContainerExists(sqlite3* db, const std::string& ns, const std::string& id) {
  BERTH_ASSIGN_OR_RETURN(
      sqlite::Statement stmt,
      sqlite::Statement::Prepare(db, "SELECT 1 FROM containers WHERE ns = ?1 AND id = ?2",
                                 absl::StrCat("look up container ", id)));
  stmt.BindText(1, ns).BindText(2, id);
  return stmt.Step();
}

// The id of the container called `name` in `ns`, if any.
absl::StatusOr<std::optional<std::string>> ContainerNamed(sqlite3* db, const std::string& ns,
                                                          const std::string& name) {
  BERTH_ASSIGN_OR_RETURN(
      sqlite::Statement stmt,
      sqlite::Statement::Prepare(db, "SELECT id FROM containers WHERE ns = ?1 AND name = ?2",
                                 absl::StrCat("look up container name ", name)));
  stmt.BindText(1, ns).BindText(2, name);
  BERTH_ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return std::nullopt;
  return stmt.Text(0);
}

// ALREADY_EXISTS if another container than `id` is called `name`.
absl::Status CheckNameFree(sqlite3* db, const std::string& ns, const std::string& name,
                           const std::string& id) {
  if (name.empty()) return absl::OkStatus();  // unnamed containers never collide
  BERTH_ASSIGN_OR_RETURN(std::optional<std::string> holder, ContainerNamed(db, ns, name));
  if (holder.has_value() && *holder != id) {
    return absl::AlreadyExistsError(absl::StrCat("container name ", name,
                                                 " is already in use by container ", *holder,
                                                 " in namespace ", ns));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status Store::InsertContainer(const ContainerRecord& c) {
  BERTH_RETURN_IF_ERROR(CheckKey(c));
  BERTH_ASSIGN_OR_RETURN(std::string labels, LabelsToJson(c.labels));
  return Transaction([&]() -> absl::Status {
    BERTH_RETURN_IF_ERROR(EnsureNamespace(c.ns));  // as containerd does
    BERTH_ASSIGN_OR_RETURN(bool exists, ContainerExists(db_, c.ns, c.id));
    if (exists) {
      return absl::AlreadyExistsError(
          absl::StrCat("container id ", c.id, " already exists in namespace ", c.ns));
    }
    BERTH_RETURN_IF_ERROR(CheckNameFree(db_, c.ns, c.name, c.id));
    BERTH_ASSIGN_OR_RETURN(
        sqlite::Statement stmt,
        sqlite::Statement::Prepare(
            db_,
            "INSERT INTO containers (ns, id, name, labels, spec_json, rootfs_path, "
            "rootfs_read_only, runtime, sandbox_id, created_at, updated_at, image, image_digest, "
            "settings, restart_count, stopped_by_user) "
            "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
            absl::StrCat("insert container ", c.id, " in namespace ", c.ns)));
    stmt.BindText(1, c.ns)
        .BindText(2, c.id)
        .BindTextOrNull(3, c.name)
        .BindText(4, labels)
        .BindText(5, c.spec_json)
        .BindText(6, c.rootfs_path)
        .BindBool(7, c.rootfs_read_only)
        .BindText(8, c.runtime)
        .BindText(9, c.sandbox_id)
        .BindTime(10, c.created_at)
        .BindTime(11, c.updated_at)
        .BindText(12, c.image)
        .BindText(13, c.image_digest)
        .BindBlob(14, c.settings)
        .BindInt(15, c.restart_count)
        .BindBool(16, c.stopped_by_user);
    return stmt.Run();
  });
}

absl::Status Store::UpdateContainer(const ContainerRecord& c) {
  BERTH_RETURN_IF_ERROR(CheckKey(c));
  BERTH_ASSIGN_OR_RETURN(std::string labels, LabelsToJson(c.labels));
  return Transaction([&]() -> absl::Status {
    BERTH_ASSIGN_OR_RETURN(bool exists, ContainerExists(db_, c.ns, c.id));
    if (!exists) return NotFound(c.ns, c.id);
    BERTH_RETURN_IF_ERROR(CheckNameFree(db_, c.ns, c.name, c.id));
    // created_at stays as inserted: it is when the container was created.
    BERTH_ASSIGN_OR_RETURN(
        sqlite::Statement stmt,
        sqlite::Statement::Prepare(
            db_,
            "UPDATE containers SET name = ?3, labels = ?4, spec_json = ?5, rootfs_path = ?6, "
            "rootfs_read_only = ?7, runtime = ?8, sandbox_id = ?9, updated_at = ?10, "
            "settings = ?11, restart_count = ?12, stopped_by_user = ?13 "
            "WHERE ns = ?1 AND id = ?2",
            absl::StrCat("update container ", c.id, " in namespace ", c.ns)));
    stmt.BindText(1, c.ns)
        .BindText(2, c.id)
        .BindTextOrNull(3, c.name)
        .BindText(4, labels)
        .BindText(5, c.spec_json)
        .BindText(6, c.rootfs_path)
        .BindBool(7, c.rootfs_read_only)
        .BindText(8, c.runtime)
        .BindText(9, c.sandbox_id)
        .BindTime(10, c.updated_at)
        .BindBlob(11, c.settings)
        .BindInt(12, c.restart_count)
        .BindBool(13, c.stopped_by_user);
    return stmt.Run();
  });
}

absl::Status Store::DeleteContainer(const std::string& ns, const std::string& id) {
  return Transaction([&]() -> absl::Status {
    // The task row goes with it (ON DELETE CASCADE).
    BERTH_ASSIGN_OR_RETURN(
        sqlite::Statement stmt,
        sqlite::Statement::Prepare(db_, "DELETE FROM containers WHERE ns = ?1 AND id = ?2",
                                   absl::StrCat("delete container ", id, " in namespace ", ns)));
    stmt.BindText(1, ns).BindText(2, id);
    BERTH_RETURN_IF_ERROR(stmt.Run());
    if (sqlite3_changes(db_) == 0) return NotFound(ns, id);
    return absl::OkStatus();
  });
}

absl::StatusOr<ContainerRecord> Store::GetContainer(const std::string& ns, const std::string& id) {
  BERTH_ASSIGN_OR_RETURN(
      sqlite::Statement stmt,
      sqlite::Statement::Prepare(db_, absl::StrCat(kSelectContainer, "WHERE ns = ?1 AND id = ?2"),
                                 absl::StrCat("get container ", id, " in namespace ", ns)));
  stmt.BindText(1, ns).BindText(2, id);
  BERTH_ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return NotFound(ns, id);
  return ReadContainer(stmt);
}

absl::StatusOr<std::vector<ContainerRecord>> Store::ListContainers(const std::string& ns) {
  BERTH_ASSIGN_OR_RETURN(
      sqlite::Statement stmt,
      sqlite::Statement::Prepare(
          db_,
          absl::StrCat(kSelectContainer, "WHERE ?1 = '' OR ns = ?1 ORDER BY created_at, id, ns"),
          ns.empty() ? std::string("list containers")
                     : absl::StrCat("list containers in namespace ", ns)));
  stmt.BindText(1, ns);
  std::vector<ContainerRecord> out;
  for (;;) {
    BERTH_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return out;
    BERTH_ASSIGN_OR_RETURN(ContainerRecord c, ReadContainer(stmt));
    out.push_back(std::move(c));
  }
}

}  // namespace berth::supervisor
