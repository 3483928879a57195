// Device cgroup rules: their order, the v1 lines, and the eBPF program for
// cgroup2, run through a small BPF interpreter and compared with the
// reference decision (DeviceAllowed) for many accesses.
#include <linux/bpf.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "runtime/cgroups/bpf_devices.h"
#include "runtime/cgroups/device_rules.h"

namespace berth::cgroups {
namespace {

using Strings = std::vector<std::string>;

// Runs a BPF_PROG_TYPE_CGROUP_DEVICE program on one access, supporting the
// instructions the generator emits; fails the test on anything else.
int RunProgram(const std::vector<bpf_insn>& prog, char type, uint32_t major, uint32_t minor,
               const std::string& access) {
  uint32_t acc = 0;
  for (char c : access) {
    if (c == 'm') acc |= BPF_DEVCG_ACC_MKNOD;
    if (c == 'r') acc |= BPF_DEVCG_ACC_READ;
    if (c == 'w') acc |= BPF_DEVCG_ACC_WRITE;
  }
  uint32_t ctx[3] = {(acc << 16) | (type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR), major,
                     minor};
  uint64_t reg[11] = {};
  for (size_t pc = 0; pc < prog.size(); ++pc) {
    const bpf_insn& i = prog[pc];
    switch (i.code) {
      case BPF_LDX | BPF_MEM | BPF_W:
        REQUIRE(i.src_reg == 1);
        REQUIRE(i.off % 4 == 0);
        REQUIRE(i.off / 4 < 3);
        reg[i.dst_reg] = ctx[i.off / 4];
        break;
      case BPF_ALU | BPF_AND | BPF_K:
        reg[i.dst_reg] = static_cast<uint32_t>(reg[i.dst_reg]) & static_cast<uint32_t>(i.imm);
        break;
      case BPF_ALU | BPF_RSH | BPF_K:
        reg[i.dst_reg] = static_cast<uint32_t>(reg[i.dst_reg]) >> i.imm;
        break;
      case BPF_ALU | BPF_MOV | BPF_X:
        reg[i.dst_reg] = static_cast<uint32_t>(reg[i.src_reg]);
        break;
      case BPF_ALU64 | BPF_MOV | BPF_K:
        reg[i.dst_reg] = static_cast<uint64_t>(static_cast<int64_t>(i.imm));
        break;
      case BPF_JMP | BPF_JNE | BPF_K:
        if (reg[i.dst_reg] != static_cast<uint64_t>(static_cast<int64_t>(i.imm))) pc += i.off;
        break;
      case BPF_JMP | BPF_JEQ | BPF_K:
        if (reg[i.dst_reg] == static_cast<uint64_t>(static_cast<int64_t>(i.imm))) pc += i.off;
        break;
      case BPF_JMP | BPF_EXIT:
        return static_cast<int>(reg[0]);
      default:
        FAIL("unexpected BPF opcode " << int(i.code));
    }
    REQUIRE(pc + 1 <= prog.size());
  }
  FAIL("program ran off its end");
  return -1;
}

// Every instruction is reachable (the kernel's verifier refuses dead code)
// and the program ends in an exit.
void CheckReachable(const std::vector<bpf_insn>& prog) {
  std::vector<bool> seen(prog.size(), false);
  std::vector<size_t> todo = {0};
  while (!todo.empty()) {
    size_t pc = todo.back();
    todo.pop_back();
    REQUIRE(pc < prog.size());
    if (seen[pc]) continue;
    seen[pc] = true;
    const bpf_insn& i = prog[pc];
    if (i.code == (BPF_JMP | BPF_EXIT)) continue;
    if ((i.code & 0x07) == BPF_JMP) todo.push_back(pc + 1 + static_cast<size_t>(i.off));
    todo.push_back(pc + 1);
  }
  for (size_t pc = 0; pc < prog.size(); ++pc) {
    INFO("instruction " << pc);
    CHECK(seen[pc]);
  }
}

spec::DeviceRule Rule(bool allow, char type, std::optional<int64_t> major,
                      std::optional<int64_t> minor, const char* access) {
  spec::DeviceRule r;
  r.allow = allow;
  r.type = type;
  r.major = major;
  r.minor = minor;
  r.access = access;
  return r;
}

std::vector<std::string> V1Lines(const std::vector<DeviceCgroupRule>& rules) {
  std::vector<std::string> out;
  auto writes = RenderV1Devices(rules);
  INFO(writes.status().ToString());
  REQUIRE(writes.ok());
  for (const FileWrite& w : *writes) {
    out.push_back(w.candidates[0].file + " " + w.candidates[0].value);
  }
  return out;
}

// The program agrees with DeviceAllowed on every access to a set of devices.
void CheckProgramMatchesRules(const std::vector<DeviceCgroupRule>& rules) {
  std::vector<bpf_insn> prog = DeviceProgram(rules);
  CheckReachable(prog);
  const std::pair<uint32_t, uint32_t> devices[] = {{1, 3}, {1, 5},    {1, 7},    {5, 0},
                                                   {5, 2}, {10, 200}, {10, 229}, {136, 4},
                                                   {8, 0}, {8, 16},   {4, 1},    {0, 0}};
  for (char type : {'c', 'b'}) {
    for (const auto& [major, minor] : devices) {
      for (const char* access : {"r", "w", "m", "rw", "rwm", "wm"}) {
        INFO(type << " " << major << ":" << minor << " " << access);
        CHECK(RunProgram(prog, type, major, minor, access) ==
              (DeviceAllowed(rules, type, major, minor, access) ? 1 : 0));
      }
    }
  }
}

TEST_CASE("effective device rules: deny all, config, defaults", "[cgroups][devices]") {
  auto rules = EffectiveDeviceRules({Rule(true, 'b', 8, std::nullopt, "r")});
  REQUIRE(rules.size() >= 4);
  CHECK_FALSE(rules[0].allow);
  CHECK(rules[0].type == 'a');
  CHECK(rules[1].source == "linux.resources.devices[0]");
  CHECK(rules.back().source == "default device rules");
  CHECK(V1Lines({rules[0], rules[1]}) ==
        Strings{"devices.deny a *:* rwm", "devices.allow b 8:* r"});
}

TEST_CASE("default devices: the spec's list plus pty, console and tun", "[cgroups][devices]") {
  auto rules = EffectiveDeviceRules({});
  for (auto [major, minor] : std::vector<std::pair<int, int>>{
           {1, 3}, {1, 5}, {1, 7}, {1, 8}, {1, 9}, {5, 0}, {5, 1}, {5, 2}, {136, 0}, {10, 200}}) {
    INFO(major << ":" << minor);
    CHECK(DeviceAllowed(rules, 'c', major, minor, "rwm"));
  }
  CHECK(DeviceAllowed(rules, 'c', 10, 229, "m"));  // mknod of anything
  CHECK(DeviceAllowed(rules, 'b', 8, 0, "m"));
  CHECK_FALSE(DeviceAllowed(rules, 'c', 10, 229, "r"));
  CHECK_FALSE(DeviceAllowed(rules, 'b', 8, 0, "r"));
}

TEST_CASE("defaults follow the config's rules, as in runc", "[cgroups][devices]") {
  // docker and podman start their list with "deny all": that must not take
  // /dev/null away; and a config deny of a default device does not stick.
  auto rules = EffectiveDeviceRules(
      {Rule(false, 'a', std::nullopt, std::nullopt, "rwm"), Rule(false, 'c', 1, 5, "rwm")});
  CHECK(DeviceAllowed(rules, 'c', 1, 3, "rw"));
  CHECK(DeviceAllowed(rules, 'c', 1, 5, "r"));
}

TEST_CASE("the last matching rule decides, per right", "[cgroups][devices]") {
  auto rules =
      EffectiveDeviceRules({Rule(true, 'c', 10, 229, "rw"), Rule(false, 'c', 10, 229, "w")});
  CHECK(DeviceAllowed(rules, 'c', 10, 229, "r"));
  CHECK_FALSE(DeviceAllowed(rules, 'c', 10, 229, "w"));
  CHECK_FALSE(DeviceAllowed(rules, 'c', 10, 229, "rw"));
  CheckProgramMatchesRules(rules);
}

TEST_CASE("v1 spells a narrow rule on all types once per type", "[cgroups][devices]") {
  DeviceCgroupRule all_mknod{true, 'a', std::nullopt, std::nullopt, "m", "x"};
  CHECK(V1Lines({all_mknod}) ==
        Strings{"devices.deny a *:* rwm", "devices.allow c *:* m", "devices.allow b *:* m"});
  DeviceCgroupRule everything{true, 'a', std::nullopt, std::nullopt, "rwm", "x"};
  CHECK(V1Lines({everything}) == Strings{"devices.allow a *:* rwm"});
}

// The v1 devices controller as the kernel keeps it (security/device_cgroup.c):
// a default and exceptions; "a" resets both; a write against the default adds
// an exception (merged with one of the same pattern), a write with the
// default takes rights from the exception of exactly that pattern.
class KernelV1Devices {
 public:
  void Write(const std::string& file, const std::string& line) {
    DeviceCgroupRule r = ParseLine(line);
    bool allow = file == "devices.allow";
    if (r.type == 'a') {
      default_allow_ = allow;
      exceptions_.clear();
      return;
    }
    for (auto it = exceptions_.begin(); it != exceptions_.end(); ++it) {
      if (it->type != r.type || it->major != r.major || it->minor != r.minor) continue;
      std::string kept;
      for (char c : it->access) {
        bool in = r.access.find(c) != std::string::npos;
        if (allow != default_allow_ ? true : !in) kept.push_back(c);
      }
      if (allow != default_allow_) {
        for (char c : r.access) {
          if (kept.find(c) == std::string::npos) kept.push_back(c);
        }
      }
      it->access = kept;
      if (kept.empty()) exceptions_.erase(it);
      return;
    }
    if (allow != default_allow_) exceptions_.push_back(r);
  }
  // One right at a time, as the kernel is asked.
  bool Allowed(char type, int64_t major, int64_t minor, char right) const {
    for (const DeviceCgroupRule& e : exceptions_) {
      if (e.type != type || (e.major && *e.major != major) || (e.minor && *e.minor != minor)) {
        continue;
      }
      if (e.access.find(right) != std::string::npos) return !default_allow_;
    }
    return default_allow_;
  }

 private:
  static DeviceCgroupRule ParseLine(const std::string& line) {
    DeviceCgroupRule r;
    r.type = line[0];
    size_t colon = line.find(':'), space = line.find(' ', colon);
    std::string major = line.substr(2, colon - 2),
                minor = line.substr(colon + 1, space - colon - 1);
    if (major != "*") r.major = std::stoll(major);
    if (minor != "*") r.minor = std::stoll(minor);
    r.access = line.substr(space + 1);
    return r;
  }
  bool default_allow_ = false;
  std::vector<DeviceCgroupRule> exceptions_;
};

void CheckV1MatchesRules(const std::vector<DeviceCgroupRule>& rules) {
  auto writes = RenderV1Devices(rules);
  INFO(writes.status().ToString());
  REQUIRE(writes.ok());
  KernelV1Devices kernel;
  for (const FileWrite& w : *writes) kernel.Write(w.candidates[0].file, w.candidates[0].value);
  for (char type : {'c', 'b'}) {
    for (int64_t major : {1, 5, 8, 10, 136}) {
      for (int64_t minor : {0, 3, 5, 16, 229}) {
        for (char right : {'r', 'w', 'm'}) {
          INFO(type << " " << major << ":" << minor << " " << right);
          CHECK(kernel.Allowed(type, major, minor, right) ==
                DeviceAllowed(rules, type, major, minor, std::string(1, right)));
        }
      }
    }
  }
}

TEST_CASE("v1 device rules: the last match wins, as in the eBPF program", "[cgroups][devices]") {
  // A wider deny after a narrow allow: written one by one, the kernel
  // would keep the allow (it only removes exceptions of the same pattern).
  CheckV1MatchesRules(EffectiveDeviceRules(
      {Rule(false, 'a', std::nullopt, std::nullopt, "rwm"), Rule(true, 'b', 8, 0, "rwm"),
       Rule(true, 'b', 8, 16, "r"), Rule(false, 'b', std::nullopt, std::nullopt, "rw")}));
  // Allow everything, deny a disk, give one right back.
  CheckV1MatchesRules(EffectiveDeviceRules({Rule(true, 'a', std::nullopt, std::nullopt, "rwm"),
                                            Rule(false, 'b', 8, std::nullopt, "rwm"),
                                            Rule(true, 'b', 8, std::nullopt, "r")}));
  // Narrow "a" rules and a deny that the later defaults partly undo.
  CheckV1MatchesRules(EffectiveDeviceRules({Rule(true, 'a', 8, std::nullopt, "r"),
                                            Rule(false, 'c', 1, std::nullopt, "w"),
                                            Rule(true, 'c', 10, 229, "rw")}));
  CheckV1MatchesRules(EffectiveDeviceRules({}));
}

TEST_CASE("v1 device rules: a deny inside an earlier, wider allow is refused",
          "[cgroups][devices]") {
  auto writes = RenderV1Devices(
      EffectiveDeviceRules({Rule(false, 'a', std::nullopt, std::nullopt, "rwm"),
                            Rule(true, 'b', 8, std::nullopt, "rw"), Rule(false, 'b', 8, 16, "w")}));
  REQUIRE_FALSE(writes.ok());
  CHECK(std::string(writes.status().message()) ==
        "linux.resources.devices[2]: \"b 8:16 w\" takes rights from part of \"b 8:* rw\" "
        "(linux.resources.devices[1]), which the v1 devices cgroup cannot express; split the "
        "earlier rule");
}

TEST_CASE("eBPF program: default rules", "[cgroups][devices][bpf]") {
  CheckProgramMatchesRules(EffectiveDeviceRules({}));
}

TEST_CASE("eBPF program: allow everything (privileged)", "[cgroups][devices][bpf]") {
  auto rules = EffectiveDeviceRules({Rule(true, 'a', std::nullopt, std::nullopt, "rwm")});
  CheckProgramMatchesRules(rules);
  CHECK(RunProgram(DeviceProgram(rules), 'b', 8, 0, "rw") == 1);
}

TEST_CASE("eBPF program: config rules, wildcards and partial access", "[cgroups][devices][bpf]") {
  auto rules = EffectiveDeviceRules({Rule(false, 'a', std::nullopt, std::nullopt, "rwm"),
                                     Rule(true, 'b', 8, std::nullopt, "r"),
                                     Rule(false, 'b', 8, 16, "r"), Rule(true, 'c', 10, 229, "rw"),
                                     Rule(false, 'c', std::nullopt, 229, "w")});
  CheckProgramMatchesRules(rules);
  std::vector<bpf_insn> prog = DeviceProgram(rules);
  CHECK(RunProgram(prog, 'b', 8, 0, "r") == 1);
  CHECK(RunProgram(prog, 'b', 8, 0, "w") == 0);
  CHECK(RunProgram(prog, 'b', 8, 16, "r") == 0);
  CHECK(RunProgram(prog, 'c', 10, 229, "r") == 1);
  CHECK(RunProgram(prog, 'c', 10, 229, "w") == 0);
  CHECK(RunProgram(prog, 'c', 4, 1, "rw") == 0);  // nothing allows it
}

TEST_CASE("eBPF program: an unconditional rule ends the program", "[cgroups][devices][bpf]") {
  // Deny-all first means the program's last rule has no test; nothing may
  // follow it (the verifier rejects unreachable instructions).
  std::vector<bpf_insn> prog = DeviceProgram(EffectiveDeviceRules({}));
  REQUIRE(prog.size() >= 2);
  CHECK(prog.back().code == (BPF_JMP | BPF_EXIT));
  CHECK(prog[prog.size() - 2].code == (BPF_ALU64 | BPF_MOV | BPF_K));
  CHECK(prog[prog.size() - 2].imm == 0);
  CheckReachable(prog);
}

TEST_CASE("eBPF program: rules that cannot match are left out", "[cgroups][devices][bpf]") {
  std::vector<DeviceCgroupRule> rules = {
      {true, 'c', int64_t{1} << 40, 1, "rwm", "x"},
  };
  std::vector<bpf_insn> prog = DeviceProgram(rules);
  CheckReachable(prog);
  CHECK(RunProgram(prog, 'c', 0, 1, "r") == 0);
  CHECK(prog.size() == 8);  // the context loads, then "deny"
}

}  // namespace
}  // namespace berth::cgroups
