// registry-fetch: drives berth's registry client from the command line for
// tests/integration/test_registry.py.
//
//   registry-fetch [OPTIONS] manifest REF [--output FILE]
//       prints "digest: ...", "media-type: ...", "size: N"; FILE gets the bytes
//   registry-fetch [OPTIONS] blob REF --store DIR DIGEST SIZE [DIGEST SIZE]...
//       fetches the blobs in parallel (one thread each) into a content store
//       under DIR, commits them, prints "committed DIGEST BYTES" for each
//
// OPTIONS: --credentials FILE, --ca-file FILE, --ca-dir DIR, --insecure HOST,
// --blob-attempts N, --retry-delay-ms N, --stall-timeout-s N, --cancel-after-ms N
// (CancelAll() from another thread after N ms).
// A failure prints "error: CODE: message" and exits 1.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "lib/file_util.h"
#include "supervisor/content/content_store.h"
#include "supervisor/images/reference.h"
#include "supervisor/registry/registry_client.h"

namespace berth::supervisor {
namespace {

int Fail(const absl::Status& status) {
  std::cerr << "error: " << status.ToString() << std::endl;
  return 1;
}

int Usage(const std::string& why) {
  std::cerr << "registry-fetch: " << why << "\n"
            << "usage: registry-fetch [OPTIONS] manifest REF [--output FILE]\n"
            << "       registry-fetch [OPTIONS] blob REF --store DIR DIGEST SIZE...\n";
  return 2;
}

int Manifest(registry::RegistryClient& client, const Reference& ref, const std::string& output) {
  auto m = client.FetchManifest(ref, ref.Object());
  if (!m.ok()) return Fail(m.status());
  std::cout << "digest: " << m->digest << "\nmedia-type: " << m->media_type
            << "\nsize: " << m->bytes.size() << std::endl;
  if (!output.empty()) {
    if (absl::Status s = WriteFileAtomic(output, m->bytes); !s.ok()) return Fail(s);
  }
  return 0;
}

int Blobs(registry::RegistryClient& client, const Reference& ref, const std::string& store_dir,
          const std::vector<std::string>& args) {
  if (store_dir.empty()) return Usage("blob needs --store DIR");
  if (args.empty() || args.size() % 2 != 0) return Usage("blob needs DIGEST SIZE pairs");
  auto store = ContentStore::Open(store_dir);
  if (!store.ok()) return Fail(store.status());
  std::mutex mu;
  absl::Status first_error;
  std::vector<std::thread> threads;
  for (size_t i = 0; i < args.size(); i += 2) {
    std::string digest = args[i];
    uint64_t size = 0;
    if (!absl::SimpleAtoi(args[i + 1], &size)) return Usage("SIZE must be a number");
    threads.emplace_back([&, digest, size] {
      absl::Status status = [&]() -> absl::Status {
        auto writer = (*store)->NewWriter(digest, size);
        if (!writer.ok()) return writer.status();
        uint64_t last = 0;
        absl::Status s =
            client.FetchBlob(ref, digest, size, **writer, [&](uint64_t bytes) { last = bytes; });
        if (!s.ok()) return s;
        auto committed = (*writer)->Commit();
        if (!committed.ok()) return committed.status();
        std::lock_guard<std::mutex> lock(mu);
        std::cout << "committed " << *committed << " " << last << std::endl;
        return absl::OkStatus();
      }();
      std::lock_guard<std::mutex> lock(mu);
      if (!status.ok() && first_error.ok()) first_error = status;
    });
  }
  for (std::thread& t : threads) t.join();
  return first_error.ok() ? 0 : Fail(first_error);
}

int Main(int argc, char** argv) {
  registry::RegistryOptions options;
  std::string output, store_dir;
  int cancel_after_ms = -1;
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << "registry-fetch: " << arg << " needs a value\n";
        std::exit(2);
      }
      return argv[++i];
    };
    auto number = [&]() -> int {
      std::string v = value();
      int n = 0;
      if (!absl::SimpleAtoi(v, &n)) {
        std::cerr << "registry-fetch: " << arg << " needs a number\n";
        std::exit(2);
      }
      return n;
    };
    if (arg == "--credentials") {
      options.credentials_file = value();
    } else if (arg == "--ca-file") {
      options.ca_file = value();
    } else if (arg == "--ca-dir") {
      options.ca_dir = value();
    } else if (arg == "--insecure") {
      options.insecure_hosts.push_back(value());
    } else if (arg == "--blob-attempts") {
      options.blob_attempts = number();
    } else if (arg == "--retry-delay-ms") {
      options.retry_delay = absl::Milliseconds(number());
    } else if (arg == "--stall-timeout-s") {
      options.stall_timeout = absl::Seconds(number());
    } else if (arg == "--cancel-after-ms") {
      cancel_after_ms = number();
    } else if (arg == "--output") {
      output = value();
    } else if (arg == "--store") {
      store_dir = value();
    } else if (arg.size() > 2 && arg.substr(0, 2) == "--") {
      return Usage(absl::StrCat("unknown option ", arg));
    } else {
      positional.push_back(arg);
    }
  }
  if (positional.size() < 2) return Usage("a command and a reference are needed");
  auto ref = ParseReference(positional[1]);
  if (!ref.ok()) return Fail(ref.status());
  auto client = registry::RegistryClient::Create(options);
  if (!client.ok()) return Fail(client.status());
  if (cancel_after_ms >= 0) {
    std::thread([c = client->get(), cancel_after_ms] {
      std::this_thread::sleep_for(std::chrono::milliseconds(cancel_after_ms));
      c->CancelAll();
    }).detach();
  }
  if (positional[0] == "manifest" && positional.size() == 2)
    return Manifest(**client, *ref, output);
  if (positional[0] == "blob") {
    return Blobs(**client, *ref, store_dir,
                 std::vector<std::string>(positional.begin() + 2, positional.end()));
  }
  return Usage(absl::StrCat("unknown command ", positional[0]));
}

}  // namespace
}  // namespace berth::supervisor

int main(int argc, char** argv) { return berth::supervisor::Main(argc, argv); }
