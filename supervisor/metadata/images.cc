// The image tables: blobs, layers, manifests (with their layers) and image
// names; garbage collection of what nothing references.
#include "absl/strings/str_cat.h"
#include "lib/errors.h"
#include "supervisor/metadata/labels.h"
#include "supervisor/metadata/sqlite_util.h"
#include "supervisor/metadata/store.h"

namespace berth::supervisor {
namespace {

absl::StatusOr<std::vector<std::string>> Column(sqlite3* db, const char* sql, const char* op) {
  BERTH_ASSIGN_OR_RETURN(sqlite::Statement stmt, sqlite::Statement::Prepare(db, sql, op));
  std::vector<std::string> out;
  for (;;) {
    BERTH_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return out;
    out.push_back(stmt.Text(0));
  }
}

absl::Status Exec(sqlite3* db, const char* sql, const char* op) {
  BERTH_ASSIGN_OR_RETURN(sqlite::Statement stmt, sqlite::Statement::Prepare(db, sql, op));
  return stmt.Run();
}

constexpr char kSelectImage[] =
    "SELECT ns, name, manifest_digest, labels, created_at, updated_at FROM images ";

absl::StatusOr<ImageRecord> ReadImage(const sqlite::Statement& stmt) {
  ImageRecord r;
  r.ns = stmt.Text(0);
  r.name = stmt.Text(1);
  r.manifest_digest = stmt.Text(2);
  BERTH_ASSIGN_OR_RETURN(r.labels, LabelsFromJson(stmt.Text(3), absl::StrCat("image ", r.name)));
  r.created_at = stmt.Time(4);
  r.updated_at = stmt.Time(5);
  return r;
}

}  // namespace

absl::Status Store::PutBlob(const BlobRecord& b) {
  BERTH_ASSIGN_OR_RETURN(
      sqlite::Statement stmt,
      sqlite::Statement::Prepare(db_,
                                 "INSERT OR IGNORE INTO blobs (digest, size, media_type, "
                                 "created_at) VALUES (?1, ?2, ?3, ?4)",
                                 absl::StrCat("record blob ", b.digest)));
  stmt.BindText(1, b.digest)
      .BindInt(2, static_cast<int64_t>(b.size))
      .BindText(3, b.media_type)
      .BindTime(4, absl::Now());
  return stmt.Run();
}

absl::Status Store::PutManifest(const ManifestRecord& m) {
  return Transaction([&]() -> absl::Status {
    BERTH_ASSIGN_OR_RETURN(sqlite::Statement stmt,
                           sqlite::Statement::Prepare(
                               db_,
                               "INSERT OR IGNORE INTO manifests (digest, media_type, "
                               "config_digest, platform, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                               absl::StrCat("record manifest ", m.digest)));
    stmt.BindText(1, m.digest)
        .BindText(2, m.media_type)
        .BindText(3, m.config_digest)
        .BindText(4, m.platform)
        .BindTime(5, m.created_at);
    BERTH_RETURN_IF_ERROR(stmt.Run());
    if (sqlite3_changes(db_) == 0) return absl::OkStatus();  // recorded before
    for (size_t i = 0; i < m.layers.size(); ++i) {
      const LayerRecord& l = m.layers[i];
      BERTH_ASSIGN_OR_RETURN(
          sqlite::Statement layer,
          sqlite::Statement::Prepare(db_,
                                     "INSERT OR IGNORE INTO layers (chain_id, diff_id, size, "
                                     "created_at) VALUES (?1, ?2, ?3, ?4)",
                                     absl::StrCat("record layer ", l.chain_id)));
      layer.BindText(1, l.chain_id)
          .BindText(2, l.diff_id)
          .BindInt(3, static_cast<int64_t>(l.size))
          .BindTime(4, absl::Now());
      BERTH_RETURN_IF_ERROR(layer.Run());
      BERTH_ASSIGN_OR_RETURN(
          sqlite::Statement ref,
          sqlite::Statement::Prepare(db_,
                                     "INSERT INTO manifest_layers (manifest_digest, position, "
                                     "chain_id, blob_digest) VALUES (?1, ?2, ?3, ?4)",
                                     absl::StrCat("record the layers of manifest ", m.digest)));
      ref.BindText(1, m.digest)
          .BindInt(2, static_cast<int64_t>(i))
          .BindText(3, l.chain_id)
          .BindText(4, l.blob_digest);
      BERTH_RETURN_IF_ERROR(ref.Run());
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<std::optional<std::string>> Store::PutImage(const ImageRecord& image) {
  std::optional<std::string> previous;
  BERTH_ASSIGN_OR_RETURN(std::string labels, LabelsToJson(image.labels));
  absl::Status st = Transaction([&]() -> absl::Status {
    BERTH_RETURN_IF_ERROR(EnsureNamespace(image.ns));
    if (auto old = GetImage(image.ns, image.name); old.ok()) previous = old->manifest_digest;
    BERTH_ASSIGN_OR_RETURN(
        sqlite::Statement stmt,
        sqlite::Statement::Prepare(
            db_,
            "INSERT INTO images (ns, name, manifest_digest, labels, created_at, updated_at) "
            "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (ns, name) DO UPDATE SET "
            "manifest_digest = ?3, labels = ?4, updated_at = ?6",
            absl::StrCat("record image ", image.name)));
    stmt.BindText(1, image.ns)
        .BindText(2, image.name)
        .BindText(3, image.manifest_digest)
        .BindText(4, labels)
        .BindTime(5, image.created_at)
        .BindTime(6, image.updated_at);
    return stmt.Run();
  });
  if (!st.ok()) return st;
  return previous;
}

absl::StatusOr<ImageRecord> Store::GetImage(const std::string& ns, const std::string& name) {
  BERTH_ASSIGN_OR_RETURN(
      sqlite::Statement stmt,
      sqlite::Statement::Prepare(db_, absl::StrCat(kSelectImage, "WHERE ns = ?1 AND name = ?2"),
                                 absl::StrCat("get image ", name)));
  stmt.BindText(1, ns).BindText(2, name);
  BERTH_ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) {
    return absl::NotFoundError(absl::StrCat("image ", name, " not found in namespace ", ns));
  }
  return ReadImage(stmt);
}

absl::StatusOr<std::vector<ImageRecord>> Store::ListImages(const std::string& ns) {
  BERTH_ASSIGN_OR_RETURN(
      sqlite::Statement stmt,
      sqlite::Statement::Prepare(
          db_, absl::StrCat(kSelectImage, "WHERE ?1 = '' OR ns = ?1 ORDER BY name, ns"),
          "list images"));
  stmt.BindText(1, ns);
  std::vector<ImageRecord> out;
  for (;;) {
    BERTH_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return out;
    BERTH_ASSIGN_OR_RETURN(ImageRecord r, ReadImage(stmt));
    out.push_back(std::move(r));
  }
}

absl::StatusOr<ManifestRecord> Store::GetManifest(const std::string& digest) {
  BERTH_ASSIGN_OR_RETURN(
      sqlite::Statement stmt,
      sqlite::Statement::Prepare(db_,
                                 "SELECT digest, media_type, config_digest, platform, created_at "
                                 "FROM manifests WHERE digest = ?1",
                                 absl::StrCat("get manifest ", digest)));
  stmt.BindText(1, digest);
  BERTH_ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return absl::NotFoundError(absl::StrCat("manifest ", digest, " not found"));
  ManifestRecord m;
  m.digest = stmt.Text(0);
  m.media_type = stmt.Text(1);
  m.config_digest = stmt.Text(2);
  m.platform = stmt.Text(3);
  m.created_at = stmt.Time(4);
  BERTH_ASSIGN_OR_RETURN(
      sqlite::Statement layers,
      sqlite::Statement::Prepare(db_,
                                 "SELECT l.chain_id, l.diff_id, l.size, ml.blob_digest FROM "
                                 "manifest_layers ml JOIN layers l ON l.chain_id = ml.chain_id "
                                 "WHERE ml.manifest_digest = ?1 ORDER BY ml.position",
                                 absl::StrCat("get the layers of manifest ", digest)));
  layers.BindText(1, digest);
  for (;;) {
    BERTH_ASSIGN_OR_RETURN(bool more, layers.Step());
    if (!more) break;
    m.layers.push_back(
        {layers.Text(0), layers.Text(1), static_cast<uint64_t>(layers.Int(2)), layers.Text(3)});
  }
  return m;
}

absl::Status Store::DeleteImage(const std::string& ns, const std::string& name) {
  BERTH_ASSIGN_OR_RETURN(
      sqlite::Statement stmt,
      sqlite::Statement::Prepare(db_, "DELETE FROM images WHERE ns = ?1 AND name = ?2",
                                 absl::StrCat("delete image ", name)));
  stmt.BindText(1, ns).BindText(2, name);
  BERTH_RETURN_IF_ERROR(stmt.Run());
  if (sqlite3_changes(db_) == 0) {
    return absl::NotFoundError(absl::StrCat("image ", name, " not found in namespace ", ns));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> Store::ContainersUsing(const std::string& ns,
                                                                const std::string& digest) {
  BERTH_ASSIGN_OR_RETURN(
      sqlite::Statement stmt,
      sqlite::Statement::Prepare(
          db_, "SELECT id FROM containers WHERE (?1 = '' OR ns = ?1) AND image_digest = ?2",
          "find the containers of an image"));
  stmt.BindText(1, ns).BindText(2, digest);
  std::vector<std::string> out;
  for (;;) {
    BERTH_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return out;
    out.push_back(stmt.Text(0));
  }
}

absl::StatusOr<Garbage> Store::CollectGarbage() {
  Garbage g;
  absl::Status st = Transaction([&]() -> absl::Status {
    BERTH_RETURN_IF_ERROR(Exec(db_,
                               "DELETE FROM manifests WHERE digest NOT IN (SELECT manifest_digest "
                               "FROM images) AND digest NOT IN (SELECT image_digest FROM "
                               "containers)",
                               "remove unused manifests"));
    BERTH_ASSIGN_OR_RETURN(g.layers,
                           Column(db_,
                                  "SELECT chain_id FROM layers WHERE chain_id NOT IN (SELECT "
                                  "chain_id FROM manifest_layers)",
                                  "find unused layers"));
    BERTH_RETURN_IF_ERROR(Exec(db_,
                               "DELETE FROM layers WHERE chain_id NOT IN (SELECT chain_id FROM "
                               "manifest_layers)",
                               "remove unused layers"));
    constexpr char kUnused[] =
        "FROM blobs WHERE digest NOT IN (SELECT digest FROM manifests) AND digest NOT IN (SELECT "
        "config_digest FROM manifests) AND digest NOT IN (SELECT blob_digest FROM "
        "manifest_layers)";
    BERTH_ASSIGN_OR_RETURN(
        g.blobs, Column(db_, absl::StrCat("SELECT digest ", kUnused).c_str(), "find unused blobs"));
    return Exec(db_, absl::StrCat("DELETE ", kUnused).c_str(), "remove unused blobs");
  });
  if (!st.ok()) return st;
  return g;
}

absl::StatusOr<std::vector<std::string>> Store::AllBlobs() {
  return Column(db_, "SELECT digest FROM blobs", "list blobs");
}

absl::StatusOr<std::vector<std::string>> Store::AllLayers() {
  return Column(db_, "SELECT chain_id FROM layers", "list layers");
}

}  // namespace berth::supervisor
