#include "kvm/vcpu.h"

#include <sys/mman.h>

#include <cstring>
#include <utility>

#include "kvm/ioctl.h"
#include "kvm/ioctl_numbers.h"
#include "kvm/vm.h"

namespace hvshim::kvm {

Result<Vcpu> Vcpu::create(const System& sys, const Vm& vm, unsigned id) {
  auto sz = sys.vcpu_mmap_size();
  if (!sz) return sz.error();
  auto r = xioctl(vm.fd(), KVM_CREATE_VCPU, static_cast<unsigned long>(id), "KVM_CREATE_VCPU");
  if (!r) return r.error();
  UniqueFd fd(*r);
  void* p = mmap(nullptr, static_cast<size_t>(*sz), PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
  if (p == MAP_FAILED) return Error{errno, "mmap(kvm_run)"};
  return Vcpu(std::move(fd), static_cast<kvm_run*>(p), static_cast<size_t>(*sz), id);
}

Vcpu::Vcpu(Vcpu&& o) noexcept
    : fd_(std::move(o.fd_)), run_(std::exchange(o.run_, nullptr)), run_size_(o.run_size_), id_(o.id_) {}

Vcpu& Vcpu::operator=(Vcpu&& o) noexcept {
  if (this != &o) {
    unmap();
    fd_ = std::move(o.fd_);
    run_ = std::exchange(o.run_, nullptr);
    run_size_ = o.run_size_;
    id_ = o.id_;
  }
  return *this;
}

Vcpu::~Vcpu() { unmap(); }

void Vcpu::unmap() {
  if (run_) munmap(run_, run_size_);
  run_ = nullptr;
}

Status Vcpu::run() {
  auto r = xioctl(fd(), KVM_RUN, 0ul, "KVM_RUN");
  if (!r) return r.error();
  return {};
}

namespace {
template <class T>
Result<T> get(int fd, unsigned long req, const char* name) {
  T v{};
  auto r = xioctl(fd, req, &v, name);
  if (!r) return r.error();
  return v;
}
template <class T>
Status set(int fd, unsigned long req, const T& v, const char* name) {
  auto r = xioctl(fd, req, &v, name);
  if (!r) return r.error();
  return {};
}
}  // namespace

Result<kvm_regs> Vcpu::get_regs() const { return get<kvm_regs>(fd(), KVM_GET_REGS, "KVM_GET_REGS"); }
Status Vcpu::set_regs(const kvm_regs& r) { return set(fd(), KVM_SET_REGS, r, "KVM_SET_REGS"); }
Result<kvm_sregs> Vcpu::get_sregs() const { return get<kvm_sregs>(fd(), KVM_GET_SREGS, "KVM_GET_SREGS"); }
Status Vcpu::set_sregs(const kvm_sregs& s) { return set(fd(), KVM_SET_SREGS, s, "KVM_SET_SREGS"); }
Result<kvm_fpu> Vcpu::get_fpu() const { return get<kvm_fpu>(fd(), KVM_GET_FPU, "KVM_GET_FPU"); }
Status Vcpu::set_fpu(const kvm_fpu& f) { return set(fd(), KVM_SET_FPU, f, "KVM_SET_FPU"); }
Result<XsaveArea> Vcpu::get_xsave() const { return get<XsaveArea>(fd(), nr::kGetXsave, "KVM_GET_XSAVE"); }
Status Vcpu::set_xsave(const XsaveArea& x) { return set(fd(), nr::kSetXsave, x, "KVM_SET_XSAVE"); }
Result<kvm_xcrs> Vcpu::get_xcrs() const { return get<kvm_xcrs>(fd(), KVM_GET_XCRS, "KVM_GET_XCRS"); }
Status Vcpu::set_xcrs(const kvm_xcrs& x) { return set(fd(), KVM_SET_XCRS, x, "KVM_SET_XCRS"); }
Result<kvm_vcpu_events> Vcpu::get_events() const {
  return get<kvm_vcpu_events>(fd(), KVM_GET_VCPU_EVENTS, "KVM_GET_VCPU_EVENTS");
}
Status Vcpu::set_events(const kvm_vcpu_events& e) { return set(fd(), KVM_SET_VCPU_EVENTS, e, "KVM_SET_VCPU_EVENTS"); }
Result<kvm_debugregs> Vcpu::get_debugregs() const {
  return get<kvm_debugregs>(fd(), KVM_GET_DEBUGREGS, "KVM_GET_DEBUGREGS");
}
Status Vcpu::set_debugregs(const kvm_debugregs& d) { return set(fd(), KVM_SET_DEBUGREGS, d, "KVM_SET_DEBUGREGS"); }
Result<kvm_mp_state> Vcpu::get_mp_state() const { return get<kvm_mp_state>(fd(), KVM_GET_MP_STATE, "KVM_GET_MP_STATE"); }
Status Vcpu::set_mp_state(const kvm_mp_state& m) { return set(fd(), KVM_SET_MP_STATE, m, "KVM_SET_MP_STATE"); }

Status Vcpu::set_cpuid(const std::vector<kvm_cpuid_entry2>& entries) {
  // C layout by hand: nent, padding, entries (see ioctl_numbers.h).
  constexpr size_t hdr = 8;
  std::vector<unsigned char> buf(hdr + entries.size() * sizeof(kvm_cpuid_entry2));
  uint32_t n = static_cast<uint32_t>(entries.size());
  memcpy(buf.data(), &n, 4);
  if (!entries.empty()) memcpy(buf.data() + hdr, entries.data(), entries.size() * sizeof(kvm_cpuid_entry2));
  auto r = xioctl(fd(), nr::kSetCpuid2, buf.data(), "KVM_SET_CPUID2");
  if (!r) return r.error();
  return {};
}

namespace {
// kvm_msrs in the C layout by hand (see ioctl_numbers.h): nmsrs, pad, entries.
std::vector<unsigned char> msr_buffer(const std::vector<kvm_msr_entry>& entries) {
  std::vector<unsigned char> b(8 + entries.size() * sizeof(kvm_msr_entry), 0);
  uint32_t n = static_cast<uint32_t>(entries.size());
  memcpy(b.data(), &n, 4);
  if (!entries.empty()) memcpy(b.data() + 8, entries.data(), entries.size() * sizeof(kvm_msr_entry));
  return b;
}
}  // namespace

Result<int> Vcpu::get_msrs(std::vector<kvm_msr_entry>& entries) const {
  auto b = msr_buffer(entries);
  auto r = xioctl(fd(), nr::kGetMsrs, b.data(), "KVM_GET_MSRS");
  if (!r) return r.error();
  if (!entries.empty()) memcpy(entries.data(), b.data() + 8, entries.size() * sizeof(kvm_msr_entry));
  return *r;
}

Result<int> Vcpu::set_msrs(const std::vector<kvm_msr_entry>& entries) {
  auto b = msr_buffer(entries);
  return xioctl(fd(), nr::kSetMsrs, b.data(), "KVM_SET_MSRS");
}

Result<uint64_t> Vcpu::get_msr(uint32_t index) const {
  std::vector<kvm_msr_entry> e(1);
  memset(e.data(), 0, sizeof(kvm_msr_entry));
  e[0].index = index;
  auto r = get_msrs(e);
  if (!r) return r.error();
  if (*r != 1) return Error{ENOENT, "KVM_GET_MSRS"};
  return static_cast<uint64_t>(e[0].data);
}

Status Vcpu::set_msr(uint32_t index, uint64_t value) {
  std::vector<kvm_msr_entry> e(1);
  memset(e.data(), 0, sizeof(kvm_msr_entry));
  e[0].index = index;
  e[0].data = value;
  auto r = set_msrs(e);
  if (!r) return r.error();
  if (*r != 1) return Error{EINVAL, "KVM_SET_MSRS"};
  return {};
}

Result<kvm_translation> Vcpu::translate(uint64_t gva) const {
  kvm_translation t{};
  t.linear_address = gva;
  auto r = xioctl(fd(), KVM_TRANSLATE, &t, "KVM_TRANSLATE");
  if (!r) return r.error();
  return t;
}

Status Vcpu::set_guest_debug(const kvm_guest_debug& d) { return set(fd(), KVM_SET_GUEST_DEBUG, d, "KVM_SET_GUEST_DEBUG"); }

Status Vcpu::set_signal_mask(const void* sigset, unsigned len) {
  // C layout by hand: len, then the set.
  std::vector<unsigned char> buf(4 + len);
  memcpy(buf.data(), &len, 4);
  if (sigset) memcpy(buf.data() + 4, sigset, len);
  auto r = xioctl(fd(), nr::kSetSignalMask, sigset ? buf.data() : nullptr, "KVM_SET_SIGNAL_MASK");
  if (!r) return r.error();
  return {};
}

}  // namespace hvshim::kvm
