#include "runtime/cgroups/bpf_devices.h"

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "lib/errors.h"
#include "lib/unique_fd.h"

namespace berth::cgroups {
namespace {

// Registers while the rules are checked: r2 device type, r3 requested
// access, r4 major, r5 minor (struct bpf_cgroup_dev_ctx, from r1).
constexpr uint8_t kCtx = 1, kType = 2, kAccess = 3, kMajor = 4, kMinor = 5, kScratch = 0;

bpf_insn Insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  bpf_insn i{};
  i.code = code;
  i.dst_reg = dst & 0xf;
  i.src_reg = src & 0xf;
  i.off = off;
  i.imm = imm;
  return i;
}

bpf_insn LoadCtxWord(uint8_t dst, int16_t offset) {
  return Insn(BPF_LDX | BPF_MEM | BPF_W, dst, kCtx, offset, 0);
}
bpf_insn Alu32Imm(uint8_t op, uint8_t dst, int32_t imm) {
  return Insn(BPF_ALU | op | BPF_K, dst, 0, 0, imm);
}
bpf_insn Mov32Reg(uint8_t dst, uint8_t src) {
  return Insn(BPF_ALU | BPF_MOV | BPF_X, dst, src, 0, 0);
}
bpf_insn JumpImm(uint8_t op, uint8_t reg, int32_t imm, int16_t off) {
  return Insn(BPF_JMP | op | BPF_K, reg, 0, off, imm);
}
bpf_insn Return(bool allow) { return Insn(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, allow ? 1 : 0); }
bpf_insn Exit() { return Insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0); }

int32_t AccessBits(absl::string_view access) {
  int32_t bits = 0;
  for (char c : access) {
    if (c == 'm') bits |= BPF_DEVCG_ACC_MKNOD;
    if (c == 'r') bits |= BPF_DEVCG_ACC_READ;
    if (c == 'w') bits |= BPF_DEVCG_ACC_WRITE;
  }
  return bits;
}

constexpr int32_t kAllAccess = BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE;

// A rule whose numbers cannot fit the context's u32 fields never matches.
bool Matchable(const std::optional<int64_t>& n) {
  return !n || (*n >= 0 && *n <= std::numeric_limits<int32_t>::max());
}

// One rule: a run of "jump to the next rule unless ..." tests, then the
// verdict. Jumps are emitted with offset 0 and patched once the block's
// length is known (an offset counts from the instruction after the jump).
// Returns false when the rule has no test: it decides everything that gets
// this far, and the verifier refuses code after it as unreachable.
bool EmitRule(const DeviceCgroupRule& r, std::vector<bpf_insn>* prog) {
  std::vector<size_t> to_next;
  auto jump = [&](uint8_t op, uint8_t reg, int32_t imm) {
    to_next.push_back(prog->size());
    prog->push_back(JumpImm(op, reg, imm, 0));
  };
  if (r.type != 'a') jump(BPF_JNE, kType, r.type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR);
  int32_t bits = AccessBits(r.access);
  if (r.allow && bits != kAllAccess) {
    // Requested rights outside the rule's: not this rule.
    prog->push_back(Mov32Reg(kScratch, kAccess));
    prog->push_back(Alu32Imm(BPF_AND, kScratch, ~bits & kAllAccess));
    jump(BPF_JNE, kScratch, 0);
  } else if (!r.allow && bits != kAllAccess) {
    // None of the requested rights is taken away: not this rule.
    prog->push_back(Mov32Reg(kScratch, kAccess));
    prog->push_back(Alu32Imm(BPF_AND, kScratch, bits));
    jump(BPF_JEQ, kScratch, 0);
  }
  if (r.major) jump(BPF_JNE, kMajor, static_cast<int32_t>(*r.major));
  if (r.minor) jump(BPF_JNE, kMinor, static_cast<int32_t>(*r.minor));
  prog->push_back(Return(r.allow));
  prog->push_back(Exit());
  for (size_t at : to_next) (*prog)[at].off = static_cast<int16_t>(prog->size() - at - 1);
  return !to_next.empty();
}

long Bpf(int cmd, union bpf_attr* attr) { return ::syscall(SYS_bpf, cmd, attr, sizeof *attr); }

uint64_t Ptr(const void* p) { return static_cast<uint64_t>(reinterpret_cast<uintptr_t>(p)); }

// Loads the program; on failure loads it again with the verifier's log, so
// the error says why.
absl::StatusOr<UniqueFd> LoadProgram(const std::vector<bpf_insn>& program) {
  static constexpr char kLicense[] = "Apache-2.0";
  union bpf_attr load = {};
  load.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  load.insns = Ptr(program.data());
  load.insn_cnt = static_cast<uint32_t>(program.size());
  load.license = Ptr(kLicense);
  UniqueFd prog(static_cast<int>(Bpf(BPF_PROG_LOAD, &load)));
  if (prog) return prog;
  int err = errno;
  std::string log(1 << 20, '\0');
  load.log_buf = Ptr(log.data());
  load.log_size = static_cast<uint32_t>(log.size());
  load.log_level = 1;
  UniqueFd again(static_cast<int>(Bpf(BPF_PROG_LOAD, &load)));
  log.resize(log.find('\0'));
  std::string what = "load the device cgroup eBPF program";
  // The verifier's conclusion is at the end of its log.
  if (log.size() > 1000) log.erase(0, log.size() - 1000);
  if (!log.empty()) absl::StrAppend(&what, " (verifier: ", log, ")");
  return ErrnoError(err, what);
}

}  // namespace

std::vector<bpf_insn> DeviceProgram(const std::vector<DeviceCgroupRule>& rules) {
  std::vector<bpf_insn> prog = {
      LoadCtxWord(kType, offsetof(bpf_cgroup_dev_ctx, access_type)),
      Alu32Imm(BPF_AND, kType, 0xffff),
      LoadCtxWord(kAccess, offsetof(bpf_cgroup_dev_ctx, access_type)),
      Alu32Imm(BPF_RSH, kAccess, 16),
      LoadCtxWord(kMajor, offsetof(bpf_cgroup_dev_ctx, major)),
      LoadCtxWord(kMinor, offsetof(bpf_cgroup_dev_ctx, minor)),
  };
  // The last matching rule decides, so test from the last one backwards.
  for (auto it = rules.rbegin(); it != rules.rend(); ++it) {
    if (!Matchable(it->major) || !Matchable(it->minor)) continue;
    if (!EmitRule(*it, &prog)) return prog;
  }
  prog.push_back(Return(false));  // no rule matched
  prog.push_back(Exit());
  return prog;
}

absl::Status AttachDeviceProgram(const std::string& dir, const std::vector<bpf_insn>& program) {
  BERTH_ASSIGN_OR_RETURN(UniqueFd prog, LoadProgram(program));
  UniqueFd cgroup(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!cgroup) return ErrnoError(absl::StrCat("open cgroup ", dir));
  union bpf_attr attach = {};
  attach.target_fd = static_cast<uint32_t>(cgroup.get());
  attach.attach_bpf_fd = static_cast<uint32_t>(prog.get());
  attach.attach_type = BPF_CGROUP_DEVICE;
  attach.attach_flags = BPF_F_ALLOW_MULTI;
  if (Bpf(BPF_PROG_ATTACH, &attach) != 0) {
    return ErrnoError(absl::StrCat("attach the device cgroup eBPF program to ", dir));
  }
  return absl::OkStatus();
}

}  // namespace berth::cgroups
