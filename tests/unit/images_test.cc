// Image references (docker's normalisation), manifests and configs, chain
// ids, platform selection, and the image tables' garbage collection.
#include <catch2/catch.hpp>
#include <filesystem>
#include <string>

#include "supervisor/content/digest.h"
#include "supervisor/images/manifest.h"
#include "supervisor/images/reference.h"
#include "supervisor/metadata/store.h"

namespace berth::supervisor {
namespace {

std::string Ref(const std::string& s) {
  auto r = ParseReference(s);
  REQUIRE(r.ok());
  return r->String();
}

std::string RefError(const std::string& s) {
  auto r = ParseReference(s);
  REQUIRE_FALSE(r.ok());
  return std::string(r.status().message());
}

TEST_CASE("References are normalised as docker does", "[images]") {
  CHECK(Ref("busybox") == "docker.io/library/busybox:latest");
  CHECK(Ref("busybox:1.36") == "docker.io/library/busybox:1.36");
  CHECK(Ref("user/app") == "docker.io/user/app:latest");
  CHECK(Ref("index.docker.io/library/busybox") == "docker.io/library/busybox:latest");
  CHECK(Ref("localhost/app") == "localhost/app:latest");
  CHECK(Ref("localhost:5000/a/b:v1") == "localhost:5000/a/b:v1");
  CHECK(Ref("quay.io/x/y") == "quay.io/x/y:latest");
  std::string digest = "sha256:" + std::string(64, 'a');
  CHECK(Ref("busybox@" + digest) == "docker.io/library/busybox@" + digest);
  CHECK(Ref("busybox:1@" + digest) == "docker.io/library/busybox:1@" + digest);
  CHECK(ParseReference("busybox")->Familiar() == "busybox:latest");
  CHECK(ParseReference("user/app")->Familiar() == "user/app:latest");
  CHECK(FamiliarName("docker.io/library/a/b:1") == "library/a/b:1");
  CHECK(ParseReference("localhost:5000/a:1")->Object() == "1");
}

TEST_CASE("Bad references are refused naming what is wrong", "[images]") {
  CHECK(RefError("") == "invalid image reference \"\": empty");
  CHECK(RefError("BusyBox").find("not a valid name component") != std::string::npos);
  CHECK(RefError("busybox:bad tag").find("not a valid tag") != std::string::npos);
  CHECK(RefError("busybox@sha256:123").find("digest") != std::string::npos);
  CHECK(RefError("a//b").find("name component") != std::string::npos);
  CHECK(RefError("-a").find("name component") != std::string::npos);
}

TEST_CASE("Digests are checked and hashed with libcrypto", "[images]") {
  CHECK(CheckDigest("sha256:" + std::string(64, 'f'), "x").ok());
  CHECK_FALSE(CheckDigest("sha256:" + std::string(64, 'F'), "x").ok());
  CHECK_FALSE(CheckDigest("sha512:" + std::string(64, 'f'), "x").ok());
  CHECK(CheckDigest("md5:00", "layers[1].digest").message().find("layers[1].digest") == 0);
  CHECK(Sha256::Of("") ==
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST_CASE("Chain ids follow the image-spec", "[images]") {
  std::string a = Sha256::Of("a"), b = Sha256::Of("b"), c = Sha256::Of("c");
  std::vector<std::string> chain = ChainIds({a, b, c});
  REQUIRE(chain.size() == 3);
  CHECK(chain[0] == a);
  CHECK(chain[1] == Sha256::Of(a + " " + b));
  CHECK(chain[2] == Sha256::Of(chain[1] + " " + c));
}

TEST_CASE("Manifests, indexes and configs parse with errors naming the field", "[images]") {
  std::string d = "sha256:" + std::string(64, '1');
  auto m = ParseManifest(R"({"config":{"mediaType":"application/vnd.oci.image.config.v1+json",
      "digest":")" + d + R"(","size":7},"layers":[{"mediaType":
      "application/vnd.oci.image.layer.v1.tar+gzip","digest":")" +
                             d + R"(","size":9}]})",
                         "manifest");
  REQUIRE(m.ok());
  CHECK(m->config.size == 7);
  CHECK(m->layers.at(0).size == 9);
  auto bad = ParseManifest(R"({"config":{"digest":"sha256:zz","size":1},"layers":[]})", "m");
  REQUIRE_FALSE(bad.ok());
  CHECK(std::string(bad.status().message()).find("config.digest") != std::string::npos);
  auto cfg = ParseImageConfig(R"({"os":"linux","architecture":"amd64","config":{
      "Entrypoint":["/bin/sh"],"Cmd":null,"Env":["A=1"],"User":"app","WorkingDir":"/w",
      "ExposedPorts":{"80/tcp":{}},"Volumes":{"/data":{}},"Labels":{"k":"v"}},
      "rootfs":{"type":"layers","diff_ids":[")" +
                                  d + R"("]}})",
                              "config");
  REQUIRE(cfg.ok());
  CHECK(cfg->has_entrypoint);
  CHECK_FALSE(cfg->has_cmd);
  CHECK(cfg->exposed_ports == std::vector<std::string>{"80/tcp"});
  CHECK(cfg->volumes == std::vector<std::string>{"/data"});
  CHECK(cfg->labels.at("k") == "v");
  CHECK(LayerCompression("application/vnd.oci.image.layer.v1.tar+zstd").value() ==
        Compression::kZstd);
  CHECK_FALSE(LayerCompression("application/x-unknown").ok());
}

TEST_CASE("Platform selection prefers an exact variant and names what there is", "[images]") {
  Index index;
  auto entry = [](std::string arch, std::string variant) {
    Descriptor d;
    d.digest = Sha256::Of(arch + variant);
    d.has_platform = true;
    d.platform = {"linux", arch, variant};
    return d;
  };
  index.manifests = {entry("arm", "v7"), entry("amd64", "v3"), entry("amd64", ""),
                     entry("arm64", "v8")};
  CHECK(SelectPlatform(index, {"linux", "amd64", ""}, "i")->platform.variant == "");
  CHECK(SelectPlatform(index, {"linux", "amd64", "v3"}, "i")->platform.variant == "v3");
  CHECK(SelectPlatform(index, {"linux", "arm64", ""}, "i")->platform.variant == "v8");
  auto none = SelectPlatform(index, {"linux", "s390x", ""}, "index x");
  REQUIRE_FALSE(none.ok());
  CHECK(std::string(none.status().message()) ==
        "index x: no image for platform linux/s390x (it has: linux/arm/v7, linux/amd64/v3, "
        "linux/amd64, linux/arm64/v8)");
  CHECK(ParsePlatform("linux/arm/v7")->variant == "v7");
  CHECK_FALSE(ParsePlatform("linux").ok());
}

TEST_CASE("Garbage collection keeps what an image or a container uses", "[images][metadata]") {
  std::string dir = std::filesystem::temp_directory_path() / "berth-images-test-XXXXXX";
  REQUIRE(mkdtemp(dir.data()) != nullptr);
  {
    auto store = Store::Open(dir + "/db");
    REQUIRE(store.ok());
    Store& s = **store;
    auto layer = [](const std::string& n) {
      return LayerRecord{Sha256::Of("chain" + n), Sha256::Of("diff" + n), 10, ""};
    };
    auto manifest = [&](const std::string& n, std::vector<LayerRecord> layers) {
      ManifestRecord m;
      m.digest = Sha256::Of("manifest" + n);
      m.config_digest = Sha256::Of("config" + n);
      m.media_type = "application/vnd.oci.image.manifest.v1+json";
      m.platform = "linux/amd64";
      m.layers = std::move(layers);
      REQUIRE(s.PutBlob({m.digest, 1, m.media_type}).ok());
      REQUIRE(s.PutBlob({m.config_digest, 1, "config"}).ok());
      REQUIRE(s.PutManifest(m).ok());
      return m;
    };
    ManifestRecord a = manifest("a", {layer("base"), layer("a")});
    ManifestRecord b = manifest("b", {layer("base"), layer("b")});
    REQUIRE(s.PutImage({"default", "img-a", a.digest, {}, absl::Now(), absl::Now()}).ok());
    REQUIRE(s.PutImage({"default", "img-b", b.digest, {}, absl::Now(), absl::Now()}).ok());
    CHECK(s.GetManifest(a.digest)->layers.size() == 2);
    auto g = s.CollectGarbage();
    REQUIRE(g.ok());
    CHECK(g->blobs.empty());
    CHECK(g->layers.empty());
    // A container keeps img-a's manifest after its name is gone.
    ContainerRecord c;
    c.ns = "default";
    c.id = "c1";
    c.spec_json = "{}";
    c.runtime = "berth";
    c.image = "img-a";
    c.image_digest = a.digest;
    REQUIRE(s.InsertContainer(c).ok());
    REQUIRE(s.DeleteImage("default", "img-a").ok());
    REQUIRE(s.DeleteImage("default", "img-b").ok());
    g = s.CollectGarbage();
    REQUIRE(g.ok());
    CHECK(g->layers == std::vector<std::string>{Sha256::Of("chainb")});
    CHECK(g->blobs.size() == 2);  // b's manifest and config
    CHECK(s.GetManifest(b.digest).status().code() == absl::StatusCode::kNotFound);
    REQUIRE(s.DeleteContainer("default", "c1").ok());
    g = s.CollectGarbage();
    REQUIRE(g.ok());
    CHECK(g->layers.size() == 2);  // the base and a's own
    CHECK(s.AllBlobs()->empty());
    CHECK(s.AllLayers()->empty());
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace berth::supervisor
