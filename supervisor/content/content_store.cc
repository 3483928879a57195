#include "supervisor/content/content_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "lib/errors.h"
#include "lib/file_util.h"

namespace berth::supervisor {
absl::StatusOr<std::unique_ptr<ContentStore>> ContentStore::Open(const std::string& root) {
  std::string dir = absl::StrCat(root, "/content");
  BERTH_RETURN_IF_ERROR(MakeDirs(dir + "/sha256", 0700));
  BERTH_RETURN_IF_ERROR(MakeDirs(dir + "/ingest", 0700));
  return std::unique_ptr<ContentStore>(new ContentStore(dir));
}

std::string ContentStore::BlobPath(absl::string_view digest) const {
  return absl::StrCat(dir_, "/sha256/", DigestHex(digest));
}

bool ContentStore::Has(absl::string_view digest) const {
  return CheckDigest(digest, "digest").ok() && ::access(BlobPath(digest).c_str(), F_OK) == 0;
}

absl::StatusOr<std::unique_ptr<ContentStore::Writer>> ContentStore::NewWriter(
    std::optional<std::string> digest, std::optional<uint64_t> size) const {
  if (digest) BERTH_RETURN_IF_ERROR(CheckDigest(*digest, "digest"));
  std::string temp = absl::StrCat(dir_, "/ingest/blob-XXXXXX");
  UniqueFd fd(::mkostemp(temp.data(), O_CLOEXEC));
  if (!fd) return ErrnoError(absl::StrCat("create ", temp));
  ::fchmod(fd.get(), 0600);
  return std::unique_ptr<Writer>(new Writer(this, std::move(fd), temp, digest, size));
}

ContentStore::Writer::~Writer() {
  if (!committed_) ::unlink(temp_.c_str());
}

absl::Status ContentStore::Writer::Write(absl::string_view data) {
  written_ += data.size();
  if (size_ && written_ > *size_) {
    return absl::DataLossError(absl::StrCat("blob ", expected_.value_or("(unnamed)"),
                                            " is larger than its descriptor's size ", *size_));
  }
  hash_.Update(data);
  return WriteAll(fd_.get(), data);
}

absl::StatusOr<std::string> ContentStore::Writer::Commit() {
  std::string digest = hash_.Finish();
  if (expected_ && digest != *expected_) {
    return absl::DataLossError(
        absl::StrCat("blob ", *expected_, " failed verification: its content hashes to ", digest));
  }
  if (size_ && written_ != *size_) {
    return absl::DataLossError(absl::StrCat("blob ", digest, " has ", written_,
                                            " bytes where its descriptor says ", *size_));
  }
  if (::fsync(fd_.get()) != 0) return ErrnoError(absl::StrCat("fsync ", temp_));
  fd_.reset();
  std::string path = store_->BlobPath(digest);
  if (::access(path.c_str(), F_OK) == 0) {
    existed_ = true;  // the same bytes (verified above): keep the one in place
    return digest;
  }
  if (::rename(temp_.c_str(), path.c_str()) != 0) {
    return ErrnoError(absl::StrCat("rename ", temp_, " to ", path));
  }
  committed_ = true;
  BERTH_RETURN_IF_ERROR(FsyncDir(store_->dir_ + "/sha256"));
  return digest;
}

absl::StatusOr<std::string> ContentStore::Put(absl::string_view data,
                                              std::optional<std::string> digest) const {
  if (!digest) digest = Sha256::Of(data);
  if (Has(*digest)) {
    if (Sha256::Of(data) != *digest) {
      return absl::DataLossError(absl::StrCat("blob ", *digest, " failed verification"));
    }
    return *digest;
  }
  BERTH_ASSIGN_OR_RETURN(auto w, NewWriter(digest, data.size()));
  BERTH_RETURN_IF_ERROR(w->Write(data));
  return w->Commit();
}

absl::StatusOr<UniqueFd> ContentStore::OpenBlob(absl::string_view digest) const {
  BERTH_RETURN_IF_ERROR(CheckDigest(digest, "digest"));
  std::string path = BlobPath(digest);
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT) return absl::NotFoundError(absl::StrCat("blob ", digest, " not found"));
    return ErrnoError(absl::StrCat("open ", path));
  }
  return fd;
}

absl::StatusOr<uint64_t> ContentStore::Size(absl::string_view digest) const {
  BERTH_ASSIGN_OR_RETURN(UniqueFd fd, OpenBlob(digest));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return ErrnoError(absl::StrCat("stat blob ", digest));
  return static_cast<uint64_t>(st.st_size);
}

absl::StatusOr<std::string> ContentStore::Read(absl::string_view digest, uint64_t max_size) const {
  BERTH_ASSIGN_OR_RETURN(uint64_t size, Size(digest));
  if (size > max_size) {
    return absl::InvalidArgumentError(absl::StrCat("blob ", digest, " is ", size,
                                                   " bytes, more than the ", max_size,
                                                   " bytes allowed for it"));
  }
  return ReadFile(BlobPath(digest));
}

absl::Status ContentStore::Remove(absl::string_view digest) const {
  BERTH_RETURN_IF_ERROR(CheckDigest(digest, "digest"));
  std::string path = BlobPath(digest);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT)
    return ErrnoError(absl::StrCat("remove ", path));
  return absl::OkStatus();
}

std::vector<std::string> ContentStore::List() const {
  std::vector<std::string> out;
  std::string dir = dir_ + "/sha256";
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return out;
  while (struct dirent* e = ::readdir(d)) {
    std::string digest = absl::StrCat("sha256:", e->d_name);
    if (CheckDigest(digest, "").ok()) out.push_back(std::move(digest));
  }
  ::closedir(d);
  return out;
}

void ContentStore::SweepIngest() const {
  std::string dir = dir_ + "/ingest";
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return;
  while (struct dirent* e = ::readdir(d)) {
    if (e->d_name[0] != '.') ::unlinkat(::dirfd(d), e->d_name, 0);
  }
  ::closedir(d);
}

}  // namespace berth::supervisor
