#include "supervisor/images/layer_unpack.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <isa-l.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <memory>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "lib/errors.h"
#include "lib/file_util.h"
#include "lib/unique_fd.h"
#include "supervisor/content/digest.h"

namespace berth::supervisor {
namespace {

constexpr size_t kInChunk = 256 * 1024;
constexpr size_t kOutChunk = 1024 * 1024;
constexpr absl::string_view kWhiteoutPrefix = ".wh.";
constexpr absl::string_view kOpaqueMarker = ".wh..wh..opq";

// The uncompressed tar stream: read from the blob, inflated, hashed.
class LayerStream {
 public:
  LayerStream(int fd, Compression c) : fd_(fd), compression_(c), in_(kInChunk), out_(kOutChunk) {
    if (c == Compression::kGzip) {
      isal_inflate_init(&gz_);
      gz_.crc_flag = ISAL_GZIP;
    } else if (c == Compression::kZstd) {
      zstd_ = ZSTD_createDStream();
      ZSTD_initDStream(zstd_);
    }
  }
  ~LayerStream() {
    if (zstd_ != nullptr) ZSTD_freeDStream(zstd_);
  }

  // The next block of tar bytes (empty at the end).
  absl::StatusOr<absl::string_view> Next() {
    absl::StatusOr<size_t> n = compression_ == Compression::kNone   ? ReadRaw()
                               : compression_ == Compression::kGzip ? Inflate()
                                                                    : Unzstd();
    if (!n.ok()) return n.status();
    if (*n == 0 && !padded_) {
      // Some tools (umoci 0.4's insert) end a layer right after the last
      // file's data, without the padding to 512 bytes and the two zero
      // blocks; Go's tar reader takes that, so do we. The zeros are not part
      // of the layer (not hashed): a real truncation still fails the diff id.
      padded_ = true;
      size_t pad = (512 - total_ % 512) % 512 + 1024;
      std::fill_n(out_.begin(), pad, '\0');
      return absl::string_view(out_.data(), pad);
    }
    absl::string_view block(out_.data(), *n);
    hash_.Update(block);
    total_ += *n;
    return block;
  }
  std::string DiffId() { return hash_.Finish(); }
  uint64_t total() const { return total_; }

 private:
  // Refills in_ when it is used up; false at the end of the blob.
  absl::StatusOr<bool> Fill() {
    if (in_pos_ < in_len_) return true;
    ssize_t n;
    while ((n = ::read(fd_, in_.data(), in_.size())) < 0 && errno == EINTR) {
    }
    if (n < 0) return ErrnoError("read layer blob");
    in_pos_ = 0;
    in_len_ = static_cast<size_t>(n);
    return n > 0;
  }
  absl::StatusOr<size_t> ReadRaw() {
    ssize_t n;
    while ((n = ::read(fd_, out_.data(), out_.size())) < 0 && errno == EINTR) {
    }
    if (n < 0) return ErrnoError("read layer blob");
    return static_cast<size_t>(n);
  }
  // Inflates into out_. The inflater may hold output back when out_ fills
  // up, so it is called again before more input is read.
  absl::StatusOr<size_t> Inflate() {
    for (;;) {
      bool finished = gz_.block_state == ISAL_BLOCK_FINISH;
      if (!output_full_ && (finished || in_pos_ == in_len_)) {
        if (in_pos_ == in_len_) {
          BERTH_ASSIGN_OR_RETURN(bool more, Fill());
          if (!more) {
            if (started_ && !finished) {
              return absl::DataLossError("layer blob: the gzip stream is truncated");
            }
            return size_t{0};
          }
        }
        if (finished) {
          // Another gzip member follows (concatenated streams are valid gzip).
          isal_inflate_reset(&gz_);
          gz_.crc_flag = ISAL_GZIP;
        }
      }
      started_ = true;
      gz_.next_in = reinterpret_cast<uint8_t*>(in_.data() + in_pos_);
      gz_.avail_in = static_cast<uint32_t>(in_len_ - in_pos_);
      gz_.next_out = reinterpret_cast<uint8_t*>(out_.data());
      gz_.avail_out = static_cast<uint32_t>(out_.size());
      int rc = isal_inflate(&gz_);
      if (rc != ISAL_DECOMP_OK) {
        return absl::DataLossError(
            absl::StrCat("layer blob: not valid gzip (igzip error ", rc, ")"));
      }
      in_pos_ = in_len_ - gz_.avail_in;
      output_full_ = gz_.avail_out == 0;
      size_t produced = out_.size() - gz_.avail_out;
      if (produced > 0) return produced;
    }
  }
  absl::StatusOr<size_t> Unzstd() {
    for (;;) {
      if (!output_full_ && in_pos_ == in_len_) {
        BERTH_ASSIGN_OR_RETURN(bool more, Fill());
        if (!more) {
          if (zstd_pending_) return absl::DataLossError("layer blob: the zstd stream is truncated");
          return size_t{0};
        }
      }
      ZSTD_inBuffer in = {in_.data() + in_pos_, in_len_ - in_pos_, 0};
      ZSTD_outBuffer out = {out_.data(), out_.size(), 0};
      size_t rc = ZSTD_decompressStream(zstd_, &out, &in);
      if (ZSTD_isError(rc)) {
        return absl::DataLossError(
            absl::StrCat("layer blob: not valid zstd (", ZSTD_getErrorName(rc), ")"));
      }
      zstd_pending_ = rc != 0;
      in_pos_ += in.pos;
      output_full_ = out.pos == out.size;
      if (out.pos > 0) return out.pos;
    }
  }

  int fd_;
  Compression compression_;
  std::vector<char> in_, out_;
  size_t in_pos_ = 0, in_len_ = 0;
  inflate_state gz_{};
  bool started_ = false;
  ZSTD_DStream* zstd_ = nullptr;
  bool zstd_pending_ = false;
  bool output_full_ = false;  // the last call filled out_: it may hold more
  bool padded_ = false;
  Sha256 hash_;
  uint64_t total_ = 0;
};

struct ReadContext {
  LayerStream* stream;
  absl::Status error;
};

la_ssize_t ReadCallback(struct archive* a, void* data, const void** buf) {
  auto* ctx = static_cast<ReadContext*>(data);
  absl::StatusOr<absl::string_view> block = ctx->stream->Next();
  if (!block.ok()) {
    ctx->error = block.status();
    archive_set_error(a, EIO, "%s", std::string(block.status().message()).c_str());
    return -1;
  }
  *buf = block->data();
  return static_cast<la_ssize_t>(block->size());
}

// "./a//b/" -> {"a", "b"}; ".." anywhere is refused (a hostile layer).
absl::StatusOr<std::vector<std::string>> SplitEntryPath(absl::string_view path) {
  std::vector<std::string> parts;
  for (absl::string_view p : absl::StrSplit(path, '/', absl::SkipEmpty())) {
    if (p == ".") continue;
    if (p == "..") {
      return absl::InvalidArgumentError(absl::StrCat("\"", path, "\" leaves the layer (\"..\")"));
    }
    parts.emplace_back(p);
  }
  return parts;
}

// Inside the layer: symlinks resolve within it, never out of it.
long OpenInLayer(int dirfd, const std::string& path, int flags) {
  return OpenAt2(dirfd, path, flags, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV);
}

class Extractor {
 public:
  explicit Extractor(UniqueFd root) : root_(std::move(root)) {}

  absl::Status Entry(struct archive* a, struct archive_entry* e) {
    std::string name = archive_entry_pathname(e) ? archive_entry_pathname(e) : "";
    BERTH_ASSIGN_OR_RETURN(std::vector<std::string> parts, SplitEntryPath(name));
    mode_t type = archive_entry_filetype(e);
    if (parts.empty()) {  // the layer's root itself
      if (type != AE_IFDIR) return absl::InvalidArgumentError("the root entry is not a directory");
      return Attributes(root_.get(), "", e, /*is_link=*/false);
    }
    std::string base = parts.back();
    parts.pop_back();
    std::string parent_path = absl::StrJoin(parts, "/");
    BERTH_ASSIGN_OR_RETURN(UniqueFd parent, Parent(parent_path));

    if (base == kOpaqueMarker) return MarkOpaque(parent.get());
    if (absl::StartsWith(base, kWhiteoutPrefix)) {
      return Whiteout(parent.get(), base.substr(kWhiteoutPrefix.size()));
    }
    if (const char* target = archive_entry_hardlink(e)) return HardLink(parent.get(), base, target);
    switch (type) {
      case AE_IFDIR:
        return Directory(parent.get(), base, parent_path, e);
      case AE_IFREG:
        return RegularFile(a, parent.get(), base, e);
      case AE_IFLNK: {
        BERTH_RETURN_IF_ERROR(Replace(parent.get(), base));
        const char* target = archive_entry_symlink(e);
        if (::symlinkat(target ? target : "", parent.get(), base.c_str()) != 0) {
          return ErrnoError("symlink");
        }
        return Attributes(parent.get(), base, e, /*is_link=*/true);
      }
      case AE_IFCHR:
      case AE_IFBLK:
      case AE_IFIFO: {
        BERTH_RETURN_IF_ERROR(Replace(parent.get(), base));
        dev_t dev = makedev(archive_entry_rdevmajor(e), archive_entry_rdevminor(e));
        if (::mknodat(parent.get(), base.c_str(), type | 0600, dev) != 0)
          return ErrnoError("mknod");
        return Attributes(parent.get(), base, e, /*is_link=*/false);
      }
      default:
        return absl::OkStatus();  // sockets: nothing to make
    }
  }

  // Directory mtimes last: creating entries inside changed them.
  absl::Status Finish() {
    for (const auto& [path, times] : dir_times_) {
      long fd =
          path.empty() ? ::dup(root_.get()) : OpenInLayer(root_.get(), path, O_PATH | O_DIRECTORY);
      if (fd < 0) continue;
      UniqueFd dir(static_cast<int>(fd));
      ::utimensat(dir.get(), "", times.data(), AT_EMPTY_PATH);
    }
    return absl::OkStatus();
  }

  uint64_t file_bytes() const { return file_bytes_; }

 private:
  // The entry's parent directory inside the layer, made if the tar skipped it.
  absl::StatusOr<UniqueFd> Parent(const std::string& path) {
    if (path.empty()) return UniqueFd(::dup(root_.get()));
    long fd = OpenInLayer(root_.get(), path, O_PATH | O_DIRECTORY);
    if (fd >= 0) return UniqueFd(static_cast<int>(fd));
    if (errno != ENOENT) return ErrnoError(absl::StrCat("open directory ", path));
    UniqueFd dir(::dup(root_.get()));
    for (absl::string_view part : absl::StrSplit(path, '/')) {
      std::string p(part);
      if (::mkdirat(dir.get(), p.c_str(), 0755) != 0 && errno != EEXIST) {
        return ErrnoError(absl::StrCat("mkdir ", path));
      }
      long next = OpenInLayer(dir.get(), p, O_PATH | O_DIRECTORY);
      if (next < 0) return ErrnoError(absl::StrCat("open directory ", path));
      dir.reset(static_cast<int>(next));
    }
    return dir;
  }

  // What an earlier entry of this layer left at the name goes (a later
  // entry wins, as tar does), unless both are directories.
  absl::Status Replace(int parent, const std::string& base, bool keep_dir = false) {
    struct stat st;
    if (::fstatat(parent, base.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return absl::OkStatus();
    if (S_ISDIR(st.st_mode)) {
      if (keep_dir) return absl::OkStatus();
      std::error_code ec;
      std::filesystem::remove_all(absl::StrCat("/proc/self/fd/", parent, "/", base), ec);
      if (ec)
        return absl::InternalError(absl::StrCat("replace directory ", base, ": ", ec.message()));
      return absl::OkStatus();
    }
    if (::unlinkat(parent, base.c_str(), 0) != 0) return ErrnoError(absl::StrCat("replace ", base));
    return absl::OkStatus();
  }

  absl::Status Directory(int parent, const std::string& base, const std::string& parent_path,
                         struct archive_entry* e) {
    BERTH_RETURN_IF_ERROR(Replace(parent, base, /*keep_dir=*/true));
    if (::mkdirat(parent, base.c_str(), 0755) != 0 && errno != EEXIST) return ErrnoError("mkdir");
    BERTH_RETURN_IF_ERROR(Attributes(parent, base, e, /*is_link=*/false));
    std::string path = parent_path.empty() ? base : absl::StrCat(parent_path, "/", base);
    dir_times_.push_back({path, Times(e)});
    return absl::OkStatus();
  }

  absl::Status RegularFile(struct archive* a, int parent, const std::string& base,
                           struct archive_entry* e) {
    BERTH_RETURN_IF_ERROR(Replace(parent, base));
    UniqueFd fd(
        ::openat(parent, base.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd) return ErrnoError("create");
    const void* buf;
    size_t size;
    la_int64_t offset;
    la_int64_t end = 0;
    for (;;) {
      int rc = archive_read_data_block(a, &buf, &size, &offset);
      if (rc == ARCHIVE_EOF) break;
      if (rc != ARCHIVE_OK) return absl::DataLossError(archive_error_string(a));
      const char* p = static_cast<const char*>(buf);
      size_t done = 0;
      while (done < size) {
        ssize_t n = ::pwrite(fd.get(), p + done, size - done, offset + static_cast<off_t>(done));
        if (n < 0) {
          if (errno == EINTR) continue;
          return ErrnoError("write");
        }
        done += static_cast<size_t>(n);
      }
      end = offset + static_cast<la_int64_t>(size);
      file_bytes_ += size;
    }
    // A sparse file's trailing hole.
    if (archive_entry_size(e) > end && ::ftruncate(fd.get(), archive_entry_size(e)) != 0) {
      return ErrnoError("truncate");
    }
    return Attributes(parent, base, e, /*is_link=*/false, fd.get());
  }

  absl::Status HardLink(int parent, const std::string& base, const char* target) {
    BERTH_ASSIGN_OR_RETURN(std::vector<std::string> parts, SplitEntryPath(target));
    if (parts.empty()) return absl::InvalidArgumentError("a hard link to the layer's root");
    std::string tbase = parts.back();
    parts.pop_back();
    long tparent = OpenInLayer(root_.get(), absl::StrJoin(parts, "/"), O_PATH | O_DIRECTORY);
    if (tparent < 0) return ErrnoError(absl::StrCat("hard link target ", target));
    UniqueFd tdir(static_cast<int>(tparent));
    BERTH_RETURN_IF_ERROR(Replace(parent, base));
    if (::linkat(tdir.get(), tbase.c_str(), parent, base.c_str(), 0) != 0) {
      return ErrnoError(absl::StrCat("hard link to ", target));
    }
    return absl::OkStatus();
  }

  absl::Status Whiteout(int parent, const std::string& name) {
    if (name.empty() || name == "." || name == "..") {
      return absl::InvalidArgumentError("a whiteout without a name");
    }
    BERTH_RETURN_IF_ERROR(Replace(parent, name));
    if (::mknodat(parent, name.c_str(), S_IFCHR | 0, makedev(0, 0)) != 0) {
      return ErrnoError("make the overlay whiteout");
    }
    ::fchownat(parent, name.c_str(), 0, 0, AT_SYMLINK_NOFOLLOW);
    return absl::OkStatus();
  }

  absl::Status MarkOpaque(int parent) {
    long fd = OpenInLayer(parent, ".", O_RDONLY | O_DIRECTORY);
    if (fd < 0) return ErrnoError("open directory");
    UniqueFd dir(static_cast<int>(fd));
    if (::fsetxattr(dir.get(), "trusted.overlay.opaque", "y", 1, 0) != 0) {
      return ErrnoError("mark the directory opaque (trusted.overlay.opaque)");
    }
    return absl::OkStatus();
  }

  static std::array<struct timespec, 2> Times(struct archive_entry* e) {
    std::array<struct timespec, 2> t;
    t[0] = {archive_entry_atime_is_set(e) ? archive_entry_atime(e) : archive_entry_mtime(e),
            archive_entry_atime_is_set(e) ? archive_entry_atime_nsec(e) : 0};
    t[1] = {archive_entry_mtime(e), archive_entry_mtime_nsec(e)};
    return t;
  }

  // Owner, mode, xattrs and times of what was just made at parent/base
  // (base empty: parent itself); fd, when open, is that file.
  absl::Status Attributes(int parent, const std::string& base, struct archive_entry* e,
                          bool is_link, int fd = -1) {
    int flags = base.empty() ? AT_EMPTY_PATH : AT_SYMLINK_NOFOLLOW;
    uid_t uid = static_cast<uid_t>(archive_entry_uid(e));
    gid_t gid = static_cast<gid_t>(archive_entry_gid(e));
    if (::fchownat(parent, base.c_str(), uid, gid, flags) != 0) return ErrnoError("chown");
    if (!is_link) {
      mode_t mode = archive_entry_perm(e) & 07777;
      // chmod after chown, which clears set-id bits.
      int rc = fd >= 0 ? ::fchmod(fd, mode)
                       : ::fchmodat(parent, base.empty() ? "." : base.c_str(), mode, 0);
      if (rc != 0) return ErrnoError("chmod");
    }
    if (fd >= 0 || !is_link) BERTH_RETURN_IF_ERROR(Xattrs(parent, base, e, fd));
    if (archive_entry_filetype(e) != AE_IFDIR) {
      std::array<struct timespec, 2> t = Times(e);
      ::utimensat(parent, base.c_str(), t.data(), flags);
    }
    return absl::OkStatus();
  }

  absl::Status Xattrs(int parent, const std::string& base, struct archive_entry* e, int fd) {
    if (archive_entry_xattr_reset(e) == 0) return absl::OkStatus();
    UniqueFd opened;
    if (fd < 0) {
      long f = base.empty() ? ::dup(parent) : OpenInLayer(parent, base, O_RDONLY | O_NOFOLLOW);
      if (f < 0) return absl::OkStatus();  // a device or fifo: no xattrs on those
      opened.reset(static_cast<int>(f));
      fd = opened.get();
    }
    const char* name;
    const void* value;
    size_t size;
    while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
      // Overlay's own attributes would let a layer redirect lookups.
      if (absl::StartsWith(name, "trusted.overlay.")) continue;
      if (::fsetxattr(fd, name, value, size, 0) != 0 && errno != ENOTSUP) {
        return ErrnoError(absl::StrCat("set xattr ", name));
      }
    }
    return absl::OkStatus();
  }

  UniqueFd root_;
  uint64_t file_bytes_ = 0;
  std::vector<std::pair<std::string, std::array<struct timespec, 2>>> dir_times_;
};

}  // namespace

absl::StatusOr<UnpackResult> UnpackLayer(int blob_fd, Compression compression,
                                         const std::string& dir) {
  UniqueFd root(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root) return ErrnoError(absl::StrCat("open ", dir));
  LayerStream stream(blob_fd, compression);
  ReadContext ctx{&stream, absl::OkStatus()};
  std::unique_ptr<struct archive, int (*)(struct archive*)> a(archive_read_new(),
                                                              archive_read_free);
  archive_read_support_format_tar(a.get());
  archive_read_support_format_gnutar(a.get());
  if (archive_read_open(a.get(), &ctx, nullptr, ReadCallback, nullptr) != ARCHIVE_OK) {
    if (!ctx.error.ok()) return ctx.error;
    return absl::DataLossError(absl::StrCat("layer: ", archive_error_string(a.get())));
  }
  Extractor x(std::move(root));
  for (;;) {
    struct archive_entry* e;
    int rc = archive_read_next_header(a.get(), &e);
    if (rc == ARCHIVE_EOF) break;
    if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) {
      if (!ctx.error.ok()) return ctx.error;
      return absl::DataLossError(
          absl::StrCat("layer: not a valid tar: ", archive_error_string(a.get())));
    }
    absl::Status st = x.Entry(a.get(), e);
    if (!st.ok()) {
      if (!ctx.error.ok()) return ctx.error;
      return absl::Status(st.code(), absl::StrCat("layer entry \"", archive_entry_pathname(e),
                                                  "\": ", st.message()));
    }
  }
  BERTH_RETURN_IF_ERROR(x.Finish());
  // The diff id covers the whole stream, padding after the tar's end too.
  for (;;) {
    BERTH_ASSIGN_OR_RETURN(absl::string_view rest, stream.Next());
    if (rest.empty()) break;
  }
  UnpackResult r;
  r.tar_bytes = stream.total();
  r.diff_id = stream.DiffId();
  r.file_bytes = x.file_bytes();
  return r;
}

}  // namespace berth::supervisor
