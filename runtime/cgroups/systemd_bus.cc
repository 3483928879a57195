#include "runtime/cgroups/systemd_bus.h"

#include <dlfcn.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

#include <cstdlib>
#include <map>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "lib/errors.h"

namespace berth::cgroups {
namespace {

constexpr char kDestination[] = "org.freedesktop.systemd1";
constexpr char kManagerPath[] = "/org/freedesktop/systemd1";
constexpr char kManagerInterface[] = "org.freedesktop.systemd1.Manager";
constexpr char kPrivateSocket[] = "/run/systemd/private";
constexpr char kNoSuchUnit[] = "org.freedesktop.systemd1.NoSuchUnit";

// libsystemd's entry points, found by dlsym; the declarations come from
// <systemd/sd-bus.h> (libsystemd-dev), the code only from the library.
struct SdBusApi {
// clang-format off
#define BERTH_SD_BUS_FUNCTIONS(X) \
  X(sd_bus_new) \
  X(sd_bus_set_address) \
  X(sd_bus_start) \
  X(sd_bus_open_system) \
  X(sd_bus_open_user) \
  X(sd_bus_flush_close_unref) \
  X(sd_bus_message_new_method_call) \
  X(sd_bus_message_append) \
  X(sd_bus_message_append_array) \
  X(sd_bus_message_open_container) \
  X(sd_bus_message_close_container) \
  X(sd_bus_message_read) \
  X(sd_bus_message_unref) \
  X(sd_bus_call) \
  X(sd_bus_call_method) \
  X(sd_bus_get_property_string) \
  X(sd_bus_error_free) \
  X(sd_bus_error_has_name) \
  X(sd_bus_match_signal) \
  X(sd_bus_slot_unref) \
  X(sd_bus_process) \
  X(sd_bus_wait)
// clang-format on
#define BERTH_SD_BUS_MEMBER(name) decltype(&::name) name = nullptr;
  BERTH_SD_BUS_FUNCTIONS(BERTH_SD_BUS_MEMBER)
#undef BERTH_SD_BUS_MEMBER
};

absl::StatusOr<const SdBusApi*> LoadSdBus() {
  static SdBusApi api;
  static std::string error;
  static bool loaded = [] {
    void* lib = ::dlopen("libsystemd.so.0", RTLD_NOW | RTLD_LOCAL);
    if (lib == nullptr) {
      const char* why = ::dlerror();
      error = absl::StrCat("--systemd-cgroup: cannot load libsystemd.so.0 (",
                           why ? why : "dlopen failed", "); install libsystemd0");
      return false;
    }
#define BERTH_SD_BUS_LOOKUP(name)                                                           \
  api.name = reinterpret_cast<decltype(&::name)>(::dlsym(lib, #name));                      \
  if (api.name == nullptr) {                                                                \
    error = absl::StrCat("--systemd-cgroup: libsystemd.so.0 has no ", #name, " (too old)"); \
    return false;                                                                           \
  }
    BERTH_SD_BUS_FUNCTIONS(BERTH_SD_BUS_LOOKUP)
#undef BERTH_SD_BUS_LOOKUP
    return true;
  }();
  if (!loaded) return absl::FailedPreconditionError(error);
  return &api;
}

const char* EnvOr(const char* name) {
  const char* v = ::getenv(name);
  return v != nullptr ? v : "(unset)";
}

absl::Status BusError(absl::string_view what, const sd_bus_error& e, int r) {
  std::string detail = e.message != nullptr ? e.message : ::strerror(-r);
  if (e.name != nullptr) absl::StrAppend(&detail, " (", e.name, ")");
  return absl::FailedPreconditionError(absl::StrCat("systemd: ", what, ": ", detail));
}

absl::Status AppendValue(const SdBusApi& b, sd_bus_message* m, const PropertyValue& v) {
  int r = 0;
  if (const bool* x = std::get_if<bool>(&v)) {
    r = b.sd_bus_message_append(m, "v", "b", static_cast<int>(*x));
  } else if (const uint64_t* t = std::get_if<uint64_t>(&v)) {
    r = b.sd_bus_message_append(m, "v", "t", *t);
  } else if (const std::string* s = std::get_if<std::string>(&v)) {
    r = b.sd_bus_message_append(m, "v", "s", s->c_str());
  } else if (const auto* au = std::get_if<std::vector<uint32_t>>(&v)) {
    if ((r = b.sd_bus_message_open_container(m, 'v', "au")) >= 0 &&
        (r = b.sd_bus_message_append_array(m, 'u', au->data(), au->size() * 4)) >= 0) {
      r = b.sd_bus_message_close_container(m);
    }
  } else if (const auto* ay = std::get_if<std::vector<uint8_t>>(&v)) {
    if ((r = b.sd_bus_message_open_container(m, 'v', "ay")) >= 0 &&
        (r = b.sd_bus_message_append_array(m, 'y', ay->data(), ay->size())) >= 0) {
      r = b.sd_bus_message_close_container(m);
    }
  } else if (const auto* list = std::get_if<DeviceAllowList>(&v)) {
    if ((r = b.sd_bus_message_open_container(m, 'v', "a(ss)")) >= 0 &&
        (r = b.sd_bus_message_open_container(m, 'a', "(ss)")) >= 0) {
      for (const auto& [path, access] : *list) {
        if ((r = b.sd_bus_message_append(m, "(ss)", path.c_str(), access.c_str())) < 0) break;
      }
      if (r >= 0 && (r = b.sd_bus_message_close_container(m)) >= 0) {
        r = b.sd_bus_message_close_container(m);
      }
    }
  }
  if (r < 0) return ErrnoError(-r, "systemd: build a D-Bus message");
  return absl::OkStatus();
}

absl::Status AppendProperties(const SdBusApi& b, sd_bus_message* m,
                              const std::vector<UnitProperty>& props) {
  int r = b.sd_bus_message_open_container(m, 'a', "(sv)");
  if (r < 0) return ErrnoError(-r, "systemd: build a D-Bus message");
  for (const UnitProperty& p : props) {
    if ((r = b.sd_bus_message_open_container(m, 'r', "sv")) < 0 ||
        (r = b.sd_bus_message_append(m, "s", p.name.c_str())) < 0) {
      return ErrnoError(-r, "systemd: build a D-Bus message");
    }
    BERTH_RETURN_IF_ERROR(AppendValue(b, m, p.value));
    if ((r = b.sd_bus_message_close_container(m)) < 0) {
      return ErrnoError(-r, "systemd: build a D-Bus message");
    }
  }
  if ((r = b.sd_bus_message_close_container(m)) < 0) {
    return ErrnoError(-r, "systemd: build a D-Bus message");
  }
  return absl::OkStatus();
}

class SdBus : public SystemdBus {
 public:
  SdBus(const SdBusApi* api, sd_bus* bus) : b_(*api), bus_(bus) {}
  ~SdBus() override {
    if (job_slot_ != nullptr) b_.sd_bus_slot_unref(job_slot_);
    b_.sd_bus_flush_close_unref(bus_);
  }

  absl::Status StartTransientUnit(const std::string& unit,
                                  const std::vector<UnitProperty>& properties) override {
    std::string what = absl::StrCat("start ", unit);
    BERTH_RETURN_IF_ERROR(WatchJobs());
    sd_bus_message* m = nullptr;
    int r = b_.sd_bus_message_new_method_call(bus_, &m, kDestination, kManagerPath,
                                              kManagerInterface, "StartTransientUnit");
    if (r < 0) return ErrnoError(-r, "systemd: build a D-Bus message");
    absl::Cleanup unref_m = [&] { b_.sd_bus_message_unref(m); };
    if ((r = b_.sd_bus_message_append(m, "ss", unit.c_str(), "replace")) < 0) {
      return ErrnoError(-r, "systemd: build a D-Bus message");
    }
    BERTH_RETURN_IF_ERROR(AppendProperties(b_, m, properties));
    if ((r = b_.sd_bus_message_append(m, "a(sa(sv))", 0)) < 0) {
      return ErrnoError(-r, "systemd: build a D-Bus message");
    }
    return CallAndWaitForJob(m, what);
  }

  absl::Status StopUnit(const std::string& unit) override {
    BERTH_RETURN_IF_ERROR(WatchJobs());
    sd_bus_message* m = nullptr;
    int r = b_.sd_bus_message_new_method_call(bus_, &m, kDestination, kManagerPath,
                                              kManagerInterface, "StopUnit");
    if (r < 0) return ErrnoError(-r, "systemd: build a D-Bus message");
    absl::Cleanup unref_m = [&] { b_.sd_bus_message_unref(m); };
    if ((r = b_.sd_bus_message_append(m, "ss", unit.c_str(), "replace")) < 0) {
      return ErrnoError(-r, "systemd: build a D-Bus message");
    }
    absl::Status st = CallAndWaitForJob(m, absl::StrCat("stop ", unit));
    if (absl::IsNotFound(st)) return absl::OkStatus();
    return st;
  }

  absl::Status ResetFailedUnit(const std::string& unit) override {
    sd_bus_error err = SD_BUS_ERROR_NULL;
    absl::Cleanup free_err = [&] { b_.sd_bus_error_free(&err); };
    int r = b_.sd_bus_call_method(bus_, kDestination, kManagerPath, kManagerInterface,
                                  "ResetFailedUnit", &err, nullptr, "s", unit.c_str());
    if (r < 0 && !b_.sd_bus_error_has_name(&err, kNoSuchUnit)) {
      return BusError(absl::StrCat("reset-failed ", unit), err, r);
    }
    return absl::OkStatus();
  }

  absl::Status SetUnitProperties(const std::string& unit,
                                 const std::vector<UnitProperty>& properties) override {
    if (properties.empty()) return absl::OkStatus();
    sd_bus_message* m = nullptr;
    int r = b_.sd_bus_message_new_method_call(bus_, &m, kDestination, kManagerPath,
                                              kManagerInterface, "SetUnitProperties");
    if (r < 0) return ErrnoError(-r, "systemd: build a D-Bus message");
    absl::Cleanup unref_m = [&] { b_.sd_bus_message_unref(m); };
    if ((r = b_.sd_bus_message_append(m, "sb", unit.c_str(), 1)) < 0) {
      return ErrnoError(-r, "systemd: build a D-Bus message");
    }
    BERTH_RETURN_IF_ERROR(AppendProperties(b_, m, properties));
    sd_bus_error err = SD_BUS_ERROR_NULL;
    absl::Cleanup free_err = [&] { b_.sd_bus_error_free(&err); };
    r = b_.sd_bus_call(bus_, m, absl::ToInt64Microseconds(kSystemdJobTimeout), &err, nullptr);
    if (r < 0) return BusError(absl::StrCat("set properties of ", unit), err, r);
    return absl::OkStatus();
  }

  absl::StatusOr<std::string> ManagerControlGroup() override {
    return StringProperty(kManagerPath, kManagerInterface, "ControlGroup");
  }

  absl::StatusOr<std::string> UnitControlGroup(const std::string& unit) override {
    BERTH_ASSIGN_OR_RETURN(std::string path, UnitPath(unit));
    return StringProperty(path.c_str(), "org.freedesktop.systemd1.Scope", "ControlGroup");
  }

  absl::StatusOr<bool> UnitLoaded(const std::string& unit) override {
    auto path = UnitPath(unit);
    if (absl::IsNotFound(path.status())) return false;
    if (!path.ok()) return path.status();
    return true;
  }

 private:
  absl::StatusOr<std::string> UnitPath(const std::string& unit) {
    sd_bus_error err = SD_BUS_ERROR_NULL;
    absl::Cleanup free_err = [&] { b_.sd_bus_error_free(&err); };
    sd_bus_message* reply = nullptr;
    int r = b_.sd_bus_call_method(bus_, kDestination, kManagerPath, kManagerInterface, "GetUnit",
                                  &err, &reply, "s", unit.c_str());
    if (r < 0) {
      if (b_.sd_bus_error_has_name(&err, kNoSuchUnit)) {
        return absl::NotFoundError(absl::StrCat("systemd: no unit ", unit));
      }
      return BusError(absl::StrCat("get unit ", unit), err, r);
    }
    absl::Cleanup unref_reply = [&] { b_.sd_bus_message_unref(reply); };
    const char* path = nullptr;
    if ((r = b_.sd_bus_message_read(reply, "o", &path)) < 0) {
      return ErrnoError(-r, "systemd: read the GetUnit reply");
    }
    return std::string(path);
  }

  absl::StatusOr<std::string> StringProperty(const char* path, const char* interface,
                                             const char* name) {
    sd_bus_error err = SD_BUS_ERROR_NULL;
    absl::Cleanup free_err = [&] { b_.sd_bus_error_free(&err); };
    char* value = nullptr;
    int r = b_.sd_bus_get_property_string(bus_, kDestination, path, interface, name, &err, &value);
    if (r < 0) return BusError(absl::StrCat("read ", name), err, r);
    std::string out(value != nullptr ? value : "");
    ::free(value);
    return out;
  }

  // Subscribe (systemd sends job signals only to subscribers) and match
  // JobRemoved before any job is queued, so none is missed.
  absl::Status WatchJobs() {
    if (job_slot_ != nullptr) return absl::OkStatus();
    sd_bus_error err = SD_BUS_ERROR_NULL;
    b_.sd_bus_call_method(bus_, kDestination, kManagerPath, kManagerInterface, "Subscribe", &err,
                          nullptr, "");
    b_.sd_bus_error_free(&err);  // AlreadySubscribed is fine
    int r = b_.sd_bus_match_signal(bus_, &job_slot_, nullptr, kManagerPath, kManagerInterface,
                                   "JobRemoved", &SdBus::OnJobRemoved, this);
    if (r < 0) return ErrnoError(-r, "systemd: watch for JobRemoved");
    return absl::OkStatus();
  }

  static int OnJobRemoved(sd_bus_message* m, void* userdata, sd_bus_error*) {
    auto* self = static_cast<SdBus*>(userdata);
    uint32_t id;
    const char *job, *unit, *result;
    if (self->b_.sd_bus_message_read(m, "uoss", &id, &job, &unit, &result) >= 0) {
      self->finished_jobs_[job] = result;
    }
    return 0;
  }

  absl::Status CallAndWaitForJob(sd_bus_message* m, const std::string& what) {
    sd_bus_error err = SD_BUS_ERROR_NULL;
    absl::Cleanup free_err = [&] { b_.sd_bus_error_free(&err); };
    sd_bus_message* reply = nullptr;
    int r = b_.sd_bus_call(bus_, m, absl::ToInt64Microseconds(kSystemdJobTimeout), &err, &reply);
    if (r < 0) {
      if (b_.sd_bus_error_has_name(&err, kNoSuchUnit)) {
        return absl::NotFoundError(absl::StrCat("systemd: ", what, ": no such unit"));
      }
      return BusError(what, err, r);
    }
    absl::Cleanup unref_reply = [&] { b_.sd_bus_message_unref(reply); };
    const char* job_path = nullptr;
    if ((r = b_.sd_bus_message_read(reply, "o", &job_path)) < 0) {
      return ErrnoError(-r, absl::StrCat("systemd: ", what, ": read the job"));
    }
    std::string job(job_path);
    absl::Time deadline = absl::Now() + kSystemdJobTimeout;
    while (true) {
      if (auto it = finished_jobs_.find(job); it != finished_jobs_.end()) {
        if (it->second == "done") return absl::OkStatus();
        return absl::FailedPreconditionError(
            absl::StrCat("systemd: ", what, ": the job finished with result \"", it->second,
                         "\" (see journalctl -u for the unit)"));
      }
      r = b_.sd_bus_process(bus_, nullptr);
      if (r < 0) return ErrnoError(-r, absl::StrCat("systemd: ", what, ": read the bus"));
      if (r > 0) continue;
      absl::Duration left = deadline - absl::Now();
      if (left <= absl::ZeroDuration()) {
        return absl::DeadlineExceededError(absl::StrCat("systemd: ", what,
                                                        ": the job did not finish within ",
                                                        absl::FormatDuration(kSystemdJobTimeout)));
      }
      r = b_.sd_bus_wait(bus_, static_cast<uint64_t>(absl::ToInt64Microseconds(left)));
      if (r < 0 && r != -EINTR) {
        return ErrnoError(-r, absl::StrCat("systemd: ", what, ": wait on the bus"));
      }
    }
  }

  const SdBusApi& b_;
  sd_bus* bus_;
  sd_bus_slot* job_slot_ = nullptr;
  std::map<std::string, std::string> finished_jobs_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<SystemdBus>> SystemdBus::Connect(bool user) {
  BERTH_ASSIGN_OR_RETURN(const SdBusApi* b, LoadSdBus());
  sd_bus* bus = nullptr;
  int r;
  if (user) {
    r = b->sd_bus_open_user(&bus);
    if (r < 0) {
      return ErrnoError(
          -r, absl::StrCat("--systemd-cgroup (rootless): cannot connect to the user's "
                           "systemd over the session bus (DBUS_SESSION_BUS_ADDRESS=",
                           EnvOr("DBUS_SESSION_BUS_ADDRESS"), ", XDG_RUNTIME_DIR=",
                           EnvOr("XDG_RUNTIME_DIR"), "; is `systemctl --user` working?)"));
    }
  } else if (::access(kPrivateSocket, F_OK) == 0) {
    // systemd's own socket, as systemctl uses as root: no bus daemon needed.
    if ((r = b->sd_bus_new(&bus)) < 0) return ErrnoError(-r, "systemd: sd_bus_new");
    if ((r = b->sd_bus_set_address(bus, "unix:path=/run/systemd/private")) < 0 ||
        (r = b->sd_bus_start(bus)) < 0) {
      b->sd_bus_flush_close_unref(bus);
      return ErrnoError(-r, absl::StrCat("--systemd-cgroup: connect to ", kPrivateSocket));
    }
  } else {
    r = b->sd_bus_open_system(&bus);
    if (r < 0) return ErrnoError(-r, "--systemd-cgroup: connect to the system bus");
  }
  return std::unique_ptr<SystemdBus>(new SdBus(b, bus));
}

}  // namespace berth::cgroups
