// The C++ half: guest RAM as an RAII object over hv_vm_map / hv_vm_protect / hv_vm_unmap.
#include <Hypervisor/hv.h>
#include <sys/mman.h>

#include <cstdio>
#include <cstring>

namespace {

class GuestRam {
 public:
  GuestRam(hv_gpaddr_t gpa, size_t size) : gpa_(gpa), size_(size) {
    host_ = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANON, -1, 0);
    if (host_ == MAP_FAILED) {
      host_ = nullptr;
      return;
    }
    mapped_ = hv_vm_map(host_, gpa, size, HV_MEMORY_READ | HV_MEMORY_WRITE | HV_MEMORY_EXEC) == HV_SUCCESS;
  }
  ~GuestRam() {
    if (mapped_) hv_vm_unmap(gpa_, size_);
    if (host_) munmap(host_, size_);
  }
  GuestRam(const GuestRam&) = delete;
  GuestRam& operator=(const GuestRam&) = delete;

  bool ok() const { return mapped_; }
  bool write_protect(hv_gpaddr_t gpa, size_t size) { return hv_vm_protect(gpa, size, HV_MEMORY_READ) == HV_SUCCESS; }

 private:
  hv_gpaddr_t gpa_;
  size_t size_;
  void* host_ = nullptr;
  bool mapped_ = false;
};

}  // namespace

extern "C" int vmm_memory_selftest(void) {
  GuestRam ram(0, 1 << 20);
  if (!ram.ok() || !ram.write_protect(0xf0000, 0x10000)) {
    std::fprintf(stderr, "guest RAM setup failed\n");
    return 1;
  }
  // An overlapping second mapping is refused, as on macOS.
  static char page[4096] __attribute__((aligned(4096)));
  if (hv_vm_map(page, 0x1000, sizeof page, HV_MEMORY_READ) != HV_ERROR) return 1;
  return 0;
}
