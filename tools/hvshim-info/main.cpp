// hvshim-info: what this host offers the Hypervisor API, as the library
// sees it. Human-readable by default, --json for scripts. Exit status 0 when
// hv_vm_create works here, 1 otherwise, with the reason and the commands
// that fix it on this host (each on a line of its own after "  # ").
#include <Hypervisor/hv.h>
#include <hvshim/hvshim.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <cstring>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "hvapi/vm_instance.h"
#include "kvm/device_advice.h"
#include "kvm/system.h"
#include "kvm/vm.h"

using namespace hvshim;

namespace {

struct Item {
  std::string key, value;
};

// Loadable and built-in modules both appear under /sys/module.
bool module_loaded(const char* name) {
  struct stat st{};
  return stat((std::string("/sys/module/") + name).c_str(), &st) == 0;
}

std::string json_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '\n') {
      o += "\\n";
      continue;
    }
    if (c == '"' || c == '\\') o += '\\';
    o += c;
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  bool json = argc > 1 && strcmp(argv[1], "--json") == 0;
  std::vector<Item> items;
  std::string fix;       // why the API cannot work here, and how to fix it
  std::string uffd_fix;  // why write protection is slow here, and how to fix it
  bool usable = false;

  if (auto sys = kvm::System::open(); !sys) {
    kvm::Advice a = kvm::kvm_problem(sys.error());
    items.push_back({"kvm_device", "not usable: " + a.reason});
    fix = "hv_vm_create returns HV_NO_DEVICE: " + kvm::render(a);
  } else {
    items.push_back({"kvm_device", fmt::format("usable, KVM API {}", sys->api_version())});
    items.push_back({"virtualisation", module_loaded("kvm_pvm")     ? "PVM (shadow paging, no VT-x/SVM): 64-bit CPL3 "
                                                                      "guests run natively, other modes are emulated"
                                       : module_loaded("kvm_intel") ? "Intel VT-x"
                                       : module_loaded("kvm_amd")   ? "AMD SVM"
                                                                    : "unknown"});
    auto cap = [&](const char* name, unsigned c) { items.push_back({name, std::to_string(sys->check_extension(c))}); };
    cap("KVM_CAP_NR_MEMSLOTS", kvm::kCapNrMemslots);
    cap("KVM_CAP_READONLY_MEM", kvm::kCapReadonlyMem);
    cap("KVM_CAP_MAX_VCPUS", kvm::kCapMaxVcpus);
    cap("KVM_CAP_SYNC_REGS", kvm::kCapSyncRegs);
    cap("KVM_CAP_XSAVE2", kvm::kCapXsave2);
    cap("KVM_CAP_MULTI_ADDRESS_SPACE", kvm::kCapMultiAddressSpace);
    cap("KVM_CAP_DISABLE_QUIRKS2", kvm::kCapDisableQuirks2);
    if (auto vm = kvm::Vm::create(*sys)) {
      items.push_back({"slot_zap_all_quirk", vm->disable_slot_zap_all()
                                                 ? "disabled per VM: a slot delete drops only that slot's mappings"
                                                 : "cannot be disabled: every slot delete makes the guest "
                                                   "re-fault all its memory"});
    }
    items.push_back({"address_spaces", "one KVM VM per space (KVM_CAP_MULTI_ADDRESS_SPACE unused)"});
    uint64_t v = 0;
    if (hv_capability(HV_CAP_VCPUMAX, &v) == HV_SUCCESS) items.push_back({"HV_CAP_VCPUMAX", std::to_string(v)});
    if (hv_capability(HV_CAP_ADDRSPACEMAX, &v) == HV_SUCCESS)
      items.push_back({"HV_CAP_ADDRSPACEMAX", std::to_string(v)});
    hv_return_t r = hv_vm_create(HV_VM_DEFAULT);
    usable = r == HV_SUCCESS;
    items.push_back({"hv_vm_create", usable ? "works" : fmt::format("fails ({:#x})", static_cast<unsigned>(r))});
    if (usable) {
      bool fast;
      {
        std::lock_guard lk(hv::vm_mutex());
        fast = hv::current_vm()->router() != nullptr;
      }
      items.push_back({"protection_path", fast ? "userfaultfd" : "memslots"});
      items.push_back({"guest_protection",
                       fast ? "shared memory (memfd, mach_vm_allocate): userfaultfd write protection on a library "
                              "alias; private memory: memslot splitting (read-only / absent slots, 2 MiB chunks)"
                            : "all memory: memslot splitting (read-only / absent slots, 2 MiB chunks); userfaultfd "
                              "write protection unavailable or off (HVSHIM_PROTECT_PATH=memslot)"});
      hv_vm_destroy();
    }
    else fix = fmt::format("hv_vm_create fails on this host: {}", hvshim_last_error());
  }
  if (auto a = kvm::userfaultfd_problem()) {
    items.push_back({"userfaultfd", "not available: " + a->reason});
    uffd_fix = kvm::render(*a);
  } else {
    items.push_back({"userfaultfd", "available"});
  }
  items.push_back({"compatibility",
                   "memory: map/unmap/protect at 4 KiB, no-exec not enforceable; vCPU: VMX exits incl. EPT "
                   "violations, exception bitmap only in real mode; Mach VM: all calls (see README)"});

  if (json) {
    std::string out = "{";
    for (size_t i = 0; i < items.size(); ++i)
      out += fmt::format("{}\"{}\": \"{}\"", i ? ", " : "", items[i].key, json_escape(items[i].value));
    out += fmt::format(", \"usable\": {}, \"fix\": \"{}\", \"userfaultfd_fix\": \"{}\"}}\n", usable ? "true" : "false",
                       json_escape(fix), json_escape(uffd_fix));
    fputs(out.c_str(), stdout);
  } else {
    printf("hvshim host report\n");
    for (const auto& it : items) printf("  %-28s %s\n", it.key.c_str(), it.value.c_str());
    if (!usable) printf("\nThe Hypervisor API cannot work here: %s\n", fix.c_str());
    if (!uffd_fix.empty()) printf("\nGuest write protection is slower here: %s\n", uffd_fix.c_str());
  }
  return usable ? 0 : 1;
}
