// hvshim-info: what this host offers the Hypervisor API, as the library
// sees it. Exit status 0 when hv_vm_create can work here.
#include <Hypervisor/hv.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "kvm/system.h"
#include "kvm/vm.h"

using namespace hvshim;

namespace {

// Loadable and built-in modules both appear under /sys/module.
bool module_loaded(const char* name) {
  struct stat st{};
  return stat((std::string("/sys/module/") + name).c_str(), &st) == 0;
}

void row(const char* k, const std::string& v) { std::printf("  %-34s %s\n", k, v.c_str()); }

}  // namespace

int main() {
  std::printf("hvshim host report\n");
  struct stat st{};
  if (stat("/dev/kvm", &st) != 0) {
    row("/dev/kvm", "missing");
    std::printf("\nThe Hypervisor API cannot work here: load the kvm module (kvm_intel/kvm_amd) or enable "
                "nested virtualisation for this machine.\n");
    return 1;
  }
  auto sys = kvm::System::open();
  if (!sys) {
    row("/dev/kvm", "present, not usable: " + sys.error().describe());
    if (sys.error().err == EACCES)
      std::printf("\nAdd this user to the group owning /dev/kvm (usually 'kvm') or grant rw access.\n");
    return 1;
  }
  row("/dev/kvm", "usable, KVM API " + std::to_string(sys->api_version()));
  const char* accel = module_loaded("kvm_pvm")     ? "PVM (shadow paging, no VT-x/SVM)"
                      : module_loaded("kvm_intel") ? "Intel VT-x"
                      : module_loaded("kvm_amd")   ? "AMD SVM"
                                                   : "unknown (built-in KVM)";
  row("virtualisation", accel);
  auto cap = [&](const char* name, unsigned c) { row(name, std::to_string(sys->check_extension(c))); };
  cap("KVM_CAP_NR_MEMSLOTS", kvm::kCapNrMemslots);
  cap("KVM_CAP_READONLY_MEM", kvm::kCapReadonlyMem);
  cap("KVM_CAP_MAX_VCPUS", kvm::kCapMaxVcpus);
  cap("KVM_CAP_SYNC_REGS", kvm::kCapSyncRegs);
  cap("KVM_CAP_XSAVE2", kvm::kCapXsave2);
  cap("KVM_CAP_MULTI_ADDRESS_SPACE", kvm::kCapMultiAddressSpace);
  int quirks = sys->check_extension(kvm::kCapDisableQuirks2);
  row("KVM_CAP_DISABLE_QUIRKS2", std::to_string(quirks));
  if (auto vm = kvm::Vm::create(*sys)) {
    bool off = vm->disable_slot_zap_all();
    row("slot zap-all quirk", off ? "disabled per VM (a slot delete zaps only that slot)"
                                  : "cannot be disabled (every slot delete makes the guest re-fault all memory)");
  }
  row("guest memory protection", "memslot splitting (read-only / absent slots), any host memory");
  uint64_t v = 0;
  if (hv_capability(HV_CAP_VCPUMAX, &v) == HV_SUCCESS) row("HV_CAP_VCPUMAX", std::to_string(v));
  if (hv_capability(HV_CAP_ADDRSPACEMAX, &v) == HV_SUCCESS) row("HV_CAP_ADDRSPACEMAX", std::to_string(v));
  hv_return_t r = hv_vm_create(HV_VM_DEFAULT);
  row("hv_vm_create", r == HV_SUCCESS ? "works" : "fails");
  if (r == HV_SUCCESS) hv_vm_destroy();
  return r == HV_SUCCESS ? 0 : 1;
}
