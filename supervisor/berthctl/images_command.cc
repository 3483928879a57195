// Images: `images` (image ls), `image import|load|ls|inspect|rm|prune|tag`,
// `rmi`, `tag`, `load`, and `system df`, with docker's output.
#include <google/protobuf/util/json_util.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <optional>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "lib/errors.h"
#include "supervisor/berthctl/commands.h"
#include "supervisor/berthctl/format.h"
#include "supervisor/berthctl/spec_json.h"

namespace berth::ctl {
namespace {

// "docker.io/library/busybox:latest" -> {"busybox", "latest"}.
std::pair<std::string, std::string> RepoAndTag(const std::string& name) {
  std::string n = name;
  const std::string hub = "docker.io/";
  if (absl::StartsWith(n, hub)) {
    n = n.substr(hub.size());
    if (absl::StartsWith(n, "library/") && n.find('/', 8) == std::string::npos) n = n.substr(8);
  }
  size_t colon = n.rfind(':');
  size_t slash = n.rfind('/');
  if (colon == std::string::npos || (slash != std::string::npos && colon < slash)) return {n, ""};
  return {n.substr(0, colon), n.substr(colon + 1)};
}

std::string ImageId(const v1::Image& i) {
  absl::string_view d = i.config_digest();
  absl::ConsumePrefix(&d, "sha256:");
  return std::string(d);
}

std::string Created(const v1::Image& i) {
  absl::Time t;
  std::string err;
  if (i.image_created().empty() ||
      !absl::ParseTime(absl::RFC3339_full, i.image_created(), &t, &err)) {
    return "N/A";
  }
  return HumanDuration(absl::Now() - t) + " ago";
}

absl::StatusOr<std::string> MessageJson(const google::protobuf::Message& m) {
  std::string out;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  auto status = google::protobuf::util::MessageToJsonString(m, &out, options);
  if (!status.ok()) return absl::InternalError(std::string(status.message()));
  return out;
}

int List(const GlobalOptions& g, const Args& args, const char* name) {
  bool quiet = false, no_trunc = false;
  std::string format;
  FlagSet flags(name, absl::StrCat(name, " [OPTIONS]"));
  flags.Bool({"q", "quiet"}, &quiet, "Only show image IDs");
  flags.Bool({"no-trunc"}, &no_trunc, "Don't truncate output");
  flags.String({"format"}, &format, "\"json\": one JSON object per image");
  auto rest = flags.Parse(args);
  if (!rest.ok()) return UsageError(flags, rest.status().message());
  if (flags.help_requested()) return PrintHelp(flags);
  Client client(g);
  auto r = client.Call(&v1::Images::Stub::List, v1::ListImagesRequest());
  if (!r.ok()) return Fail(r.status());
  if (format == "json") {
    for (const v1::Image& i : r->images()) {
      auto j = MessageJson(i);
      if (!j.ok()) return Fail(j.status());
      Print(absl::StrCat(*j, "\n"));
    }
    return 0;
  }
  if (!format.empty()) return UsageError(flags, "--format: only \"json\" is supported");
  if (quiet) {
    for (const v1::Image& i : r->images()) {
      Print(absl::StrCat(no_trunc ? i.config_digest() : ShortId(ImageId(i)), "\n"));
    }
    return 0;
  }
  std::vector<std::vector<std::string>> rows = {
      {"REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"}};
  for (const v1::Image& i : r->images()) {
    auto [repo, tag] = RepoAndTag(i.name());
    rows.push_back({repo, tag.empty() ? "<none>" : tag,
                    no_trunc ? i.config_digest() : ShortId(ImageId(i)), Created(i),
                    BytesSize(static_cast<double>(i.size()))});
  }
  Print(RenderTable(rows));
  return 0;
}

int Import(const GlobalOptions& g, const Args& args, const char* name) {
  std::string input, repo, platform;
  bool quiet = false, keep = false;
  FlagSet flags(name, absl::StrCat(name, " [OPTIONS] [FILE|DIR]"));
  flags.String({"i", "input"}, &input, "Read from an archive file or directory instead of STDIN");
  flags.String({"name"}, &repo, "Name the image when the archive does not (or names only a tag)");
  flags.String({"platform"}, &platform, "os/arch[/variant] to take from a multi-platform image");
  flags.Bool({"q", "quiet"}, &quiet, "Suppress the progress output");
  flags.Bool({"keep-layer-blobs"}, &keep, "Keep the compressed layers beside the unpacked ones");
  auto rest = flags.Parse(args);
  if (!rest.ok()) return UsageError(flags, rest.status().message());
  if (flags.help_requested()) return PrintHelp(flags);
  if (rest->size() > 1 || (!rest->empty() && !input.empty())) {
    return UsageError(flags, "takes one archive (FILE, DIR or -i FILE)");
  }
  if (!rest->empty()) input = (*rest)[0];
  Client client(g);
  grpc::ClientContext ctx;
  client.Prepare(ctx, /*deadline=*/false);
  auto stream = client.images().Import(&ctx);
  v1::ImportImageRequest first;
  first.set_name(repo);
  first.set_platform(platform);
  first.set_keep_layer_blobs(keep);
  // A directory, or a file berthd can read, is named; STDIN is streamed.
  bool streamed = input.empty() || input == "-";
  if (!streamed) {
    char* real = ::realpath(input.c_str(), nullptr);
    if (real == nullptr) return Fail(ErrnoError(absl::StrCat("open ", input)));
    first.set_path(real);
    std::free(real);
    stream->Write(first);
  } else {
    if (::isatty(0)) {
      return UsageError(flags, "requested load from stdin, but stdin is empty (use -i FILE)");
    }
    std::string buf(1 << 20, '\0');
    bool sent_first = false;
    for (;;) {
      ssize_t n = ::read(0, buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      v1::ImportImageRequest chunk = sent_first ? v1::ImportImageRequest() : first;
      chunk.set_data(buf.data(), static_cast<size_t>(n));
      sent_first = true;
      if (!stream->Write(chunk)) break;
    }
    if (!sent_first) stream->Write(first);
  }
  stream->WritesDone();
  v1::ImportImageResponse resp;
  std::vector<v1::Image> images;
  while (stream->Read(&resp)) {
    if (!resp.progress().empty() && !quiet) std::fprintf(stderr, "%s\n", resp.progress().c_str());
    for (const v1::Image& i : resp.images()) images.push_back(i);
  }
  if (absl::Status st = client.Check(stream->Finish()); !st.ok()) return Fail(st);
  for (const v1::Image& i : images) {
    auto [r, tag] = RepoAndTag(i.name());
    Print(absl::StrCat("Loaded image: ", r, tag.empty() ? "" : ":", tag, "\n"));
  }
  return 0;
}

// Images.Pull with its progress on stderr; the image pulled.
absl::StatusOr<v1::Image> PullWithProgress(Client& client, const v1::PullImageRequest& req,
                                           bool quiet) {
  grpc::ClientContext ctx;
  client.Prepare(ctx, /*deadline=*/false);
  auto stream = client.images().Pull(&ctx, req);
  v1::PullImageResponse resp;
  std::optional<v1::Image> image;
  while (stream->Read(&resp)) {
    if (!resp.progress().empty() && !quiet) std::fprintf(stderr, "%s\n", resp.progress().c_str());
    if (resp.has_image()) image = resp.image();
  }
  BERTH_RETURN_IF_ERROR(client.Check(stream->Finish()));
  if (!image) return absl::InternalError("pull: berthd sent no image");
  return *image;
}

int Pull(const GlobalOptions& g, const Args& args) {
  std::string platform;
  bool quiet = false, keep = false;
  FlagSet flags("pull", "pull [OPTIONS] NAME[:TAG|@DIGEST]");
  flags.String({"platform"}, &platform, "os/arch[/variant] to take from a multi-platform image");
  flags.Bool({"q", "quiet"}, &quiet, "Suppress the progress output");
  flags.Bool({"keep-layer-blobs"}, &keep, "Keep the compressed layers beside the unpacked ones");
  auto rest = flags.Parse(args);
  if (!rest.ok()) return UsageError(flags, rest.status().message());
  if (flags.help_requested()) return PrintHelp(flags);
  if (rest->size() != 1) return UsageError(flags, "requires exactly 1 argument");
  Client client(g);
  v1::PullImageRequest req;
  req.set_reference((*rest)[0]);
  req.set_platform(platform);
  req.set_keep_layer_blobs(keep);
  auto image = PullWithProgress(client, req, quiet);
  if (!image.ok()) return Fail(image.status());
  Print(absl::StrCat("Digest: ", image->digest(), "\n"));
  auto [repo, tag] = RepoAndTag(image->name());
  Print(absl::StrCat("Pulled: ", repo, tag.empty() ? "" : ":", tag, "\n"));
  return 0;
}

int Inspect(const GlobalOptions& g, const Args& args) {
  FlagSet flags("image inspect", "image inspect IMAGE [IMAGE...]");
  auto refs = flags.Parse(args);
  if (!refs.ok()) return UsageError(flags, refs.status().message());
  if (flags.help_requested()) return PrintHelp(flags);
  if (refs->empty()) return UsageError(flags, "requires at least 1 image");
  Client client(g);
  std::vector<std::string> objects;
  int rc = 0;
  for (const std::string& ref : *refs) {
    v1::GetImageRequest req;
    req.set_name(ref);
    auto r = client.Call(&v1::Images::Stub::Get, req);
    if (!r.ok()) {
      rc = Fail(r.status());
      continue;
    }
    auto j = MessageJson(r->image());
    if (!j.ok()) return Fail(j.status());
    objects.push_back(*j);
  }
  auto doc = ReformatJson(absl::StrCat("[", absl::StrJoin(objects, ","), "]"), "    ");
  if (!doc.ok()) return Fail(doc.status());
  Print(absl::StrCat(*doc, "\n"));
  return rc;
}

int Remove(const GlobalOptions& g, const Args& args, const char* name) {
  bool force = false;
  FlagSet flags(name, absl::StrCat(name, " [OPTIONS] IMAGE [IMAGE...]"));
  flags.Bool({"f", "force"}, &force, "Remove the name even while containers use the image");
  auto refs = flags.Parse(args);
  if (!refs.ok()) return UsageError(flags, refs.status().message());
  if (flags.help_requested()) return PrintHelp(flags);
  if (refs->empty()) return UsageError(flags, "requires at least 1 image");
  Client client(g);
  int rc = 0;
  for (const std::string& ref : *refs) {
    v1::DeleteImageRequest req;
    req.set_name(ref);
    req.set_force(force);
    auto r = client.Call(&v1::Images::Stub::Delete, req);
    if (!r.ok()) {
      rc = Fail(r.status());
      continue;
    }
    for (const std::string& u : r->untagged()) {
      auto [repo, tag] = RepoAndTag(u);
      Print(absl::StrCat("Untagged: ", repo, tag.empty() ? "" : ":", tag, "\n"));
    }
  }
  return rc;
}

int Prune(const GlobalOptions& g, const Args& args) {
  bool all = false, force = false;
  FlagSet flags("image prune", "image prune [OPTIONS]");
  flags.Bool({"a", "all"}, &all, "Remove all images not used by a container (the only mode)");
  flags.Bool({"f", "force"}, &force, "Do not prompt for confirmation (berthctl never prompts)");
  auto rest = flags.Parse(args);
  if (!rest.ok()) return UsageError(flags, rest.status().message());
  if (flags.help_requested()) return PrintHelp(flags);
  Client client(g);
  auto r = client.Call(&v1::Images::Stub::Prune, v1::PruneImagesRequest());
  if (!r.ok()) return Fail(r.status());
  if (r->deleted_size() > 0) Print("Deleted Images:\n");
  for (const std::string& d : r->deleted()) Print(absl::StrCat("untagged: ", d, "\n"));
  Print(absl::StrCat(
      "\nTotal reclaimed space: ", BytesSize(static_cast<double>(r->reclaimed_bytes())), "\n"));
  return 0;
}

int Tag(const GlobalOptions& g, const Args& args) {
  FlagSet flags("tag", "tag SOURCE_IMAGE TARGET_IMAGE");
  auto rest = flags.Parse(args);
  if (!rest.ok()) return UsageError(flags, rest.status().message());
  if (flags.help_requested()) return PrintHelp(flags);
  if (rest->size() != 2) return UsageError(flags, "requires exactly 2 arguments");
  Client client(g);
  v1::TagImageRequest req;
  req.set_source((*rest)[0]);
  req.set_target((*rest)[1]);
  auto r = client.Call(&v1::Images::Stub::Tag, req);
  if (!r.ok()) return Fail(r.status());
  return 0;
}

}  // namespace

absl::StatusOr<v1::CreateContainerResponse> CreateFromImagePulling(
    Client& client, const v1::CreateContainerRequest& req, const std::string& pull) {
  if (!req.image().empty() && pull == "always") {
    v1::PullImageRequest p;
    p.set_reference(req.image());
    BERTH_RETURN_IF_ERROR(PullWithProgress(client, p, /*quiet=*/false).status());
  }
  auto created = client.Call(&v1::Containers::Stub::Create, req);
  if (created.ok() || req.image().empty() || pull != "missing" ||
      !absl::IsNotFound(created.status()) ||
      !absl::StartsWith(created.status().message(), "image ")) {
    return created;
  }
  std::fprintf(stderr, "Unable to find image '%s' locally\n", req.image().c_str());
  v1::PullImageRequest p;
  p.set_reference(req.image());
  BERTH_RETURN_IF_ERROR(PullWithProgress(client, p, /*quiet=*/false).status());
  return client.Call(&v1::Containers::Stub::Create, req);
}

int ImagesCommand(const GlobalOptions& g, const Args& args) { return List(g, args, "images"); }
int LoadCommand(const GlobalOptions& g, const Args& args) { return Import(g, args, "load"); }
int RmiCommand(const GlobalOptions& g, const Args& args) { return Remove(g, args, "rmi"); }
int TagCommand(const GlobalOptions& g, const Args& args) { return Tag(g, args); }
int PullCommand(const GlobalOptions& g, const Args& args) { return Pull(g, args); }

int ImageCommand(const GlobalOptions& g, const Args& args) {
  static constexpr char kUsage[] =
      "Usage: berthctl image COMMAND\n\nCommands:\n  import      Import an image archive (OCI "
      "layout or docker save; FILE, DIR or STDIN)\n  inspect     Display detailed information on "
      "one or more images\n  ls          List images\n  pull        Pull an image from a "
      "registry\n  prune       Remove images no container "
      "uses\n  rm          Remove one or more images\n  tag         Create a tag TARGET_IMAGE "
      "that refers to SOURCE_IMAGE\n";
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    Print(kUsage);
    return args.empty() ? kErrorExit : 0;
  }
  Args rest(args.begin() + 1, args.end());
  const std::string& sub = args[0];
  if (sub == "ls" || sub == "list") return List(g, rest, "image ls");
  if (sub == "import" || sub == "load") return Import(g, rest, "image import");
  if (sub == "inspect") return Inspect(g, rest);
  if (sub == "rm" || sub == "remove") return Remove(g, rest, "image rm");
  if (sub == "prune") return Prune(g, rest);
  if (sub == "tag") return Tag(g, rest);
  if (sub == "pull") return Pull(g, rest);
  std::fprintf(stderr, "berthctl: image: unknown command \"%s\"\n%s", sub.c_str(), kUsage);
  return kErrorExit;
}

int SystemCommand(const GlobalOptions& g, const Args& args) {
  if (args.empty() || args[0] != "df") {
    std::fputs("Usage: berthctl system df\n\nShow disk usage: images, layers, containers\n",
               stderr);
    return kErrorExit;
  }
  Client client(g);
  auto r = client.Call(&v1::Images::Stub::DiskUsage, v1::DiskUsageRequest());
  if (!r.ok()) return Fail(r.status());
  auto bytes = [](uint64_t b) { return BytesSize(static_cast<double>(b)); };
  Print(RenderTable(
      {{"TYPE", "TOTAL", "SIZE", "SHARED", "BLOBS"},
       {"Images", absl::StrCat(r->images()), bytes(r->layers_bytes()), bytes(r->shared_bytes()),
        bytes(r->blobs_bytes())},
       {"Layers", absl::StrCat(r->layers()), bytes(r->layers_bytes()), "", ""},
       {"Containers", absl::StrCat(r->containers()), bytes(r->containers_bytes()), "", ""}}));
  return 0;
}

}  // namespace berth::ctl
