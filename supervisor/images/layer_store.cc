#include "supervisor/images/layer_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "lib/errors.h"
#include "lib/file_util.h"
#include "lib/unique_fd.h"
#include "supervisor/content/digest.h"
#include "supervisor/images/layer_unpack.h"

namespace berth::supervisor {
namespace {

constexpr size_t kDirDigits = 16;

void RemoveAll(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
}

}  // namespace

absl::StatusOr<LayerStore> LayerStore::Open(const std::string& root) {
  std::string dir = absl::StrCat(root, "/layers");
  BERTH_RETURN_IF_ERROR(MakeDirs(dir + "/tmp", 0700));
  ::chmod(dir.c_str(), 0711);  // overlay reads the layers; nobody lists them
  return LayerStore(dir);
}

std::string LayerStore::Dir(const std::string& chain_id) const {
  return absl::StrCat(dir_, "/", DigestHex(chain_id).substr(0, kDirDigits));
}

bool LayerStore::Has(const std::string& chain_id) const {
  return ::access(Dir(chain_id).c_str(), F_OK) == 0;
}

absl::StatusOr<LayerInfo> LayerStore::Unpack(int blob_fd, Compression compression,
                                             const std::string& diff_id,
                                             const std::string& chain_id,
                                             const std::string& what) const {
  std::string temp = absl::StrCat(dir_, "/tmp/layer-XXXXXX");
  if (::mkdtemp(temp.data()) == nullptr) return ErrnoError(absl::StrCat("create ", temp));
  auto result = UnpackLayer(blob_fd, compression, temp);
  if (result.ok() && result->diff_id != diff_id) {
    result =
        absl::DataLossError(absl::StrCat(what, " failed verification: it unpacks to diff id ",
                                         result->diff_id, ", the image config says ", diff_id));
  }
  if (!result.ok()) {
    RemoveAll(temp);
    return absl::Status(result.status().code(),
                        absl::StrCat(what, ": ", result.status().message()));
  }
  // Written out before it is renamed into place and recorded.
  {
    UniqueFd fd(::open(temp.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (fd) ::syncfs(fd.get());
  }
  ::chmod(temp.c_str(), 0755);
  std::string final_dir = Dir(chain_id);
  if (::rename(temp.c_str(), final_dir.c_str()) != 0) {
    int err = errno;
    RemoveAll(temp);
    // Another import unpacked the same layer first: the same content.
    if (err != EEXIST && err != ENOTEMPTY) {
      return ErrnoError(err, absl::StrCat("rename the unpacked ", what, " into place"));
    }
  }
  return LayerInfo{chain_id, diff_id, result->file_bytes};
}

absl::Status LayerStore::Remove(const std::string& chain_id) const {
  // Renamed out of the way first, so a half-removed layer is never in place.
  std::string doomed = absl::StrCat(dir_, "/tmp/rm-", DigestHex(chain_id).substr(0, kDirDigits));
  if (::rename(Dir(chain_id).c_str(), doomed.c_str()) != 0) {
    if (errno == ENOENT) return absl::OkStatus();
    return ErrnoError(absl::StrCat("remove layer ", chain_id));
  }
  RemoveAll(doomed);
  return absl::OkStatus();
}

std::vector<std::string> LayerStore::ListDirs() const {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir_.c_str());
  if (d == nullptr) return out;
  while (struct dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name.size() == kDirDigits && name.find_first_not_of("0123456789abcdef") == name.npos) {
      out.push_back(name);
    }
  }
  ::closedir(d);
  return out;
}

void LayerStore::SweepTemporary() const {
  RemoveAll(dir_ + "/tmp");
  (void)MakeDirs(dir_ + "/tmp", 0700);
}

}  // namespace berth::supervisor
