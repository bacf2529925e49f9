// Resource exhaustion below the layer: every Linux call a Mach call makes
// through the seam (machvm/sys.h) is failed in turn — first, second, third…
// until the Mach call runs without reaching the injection. Each failure
// must come back as the documented code (KERN_NO_SPACE when the kernel was
// to choose an address and had none, KERN_RESOURCE_SHORTAGE otherwise) and
// leave everything exactly as before: regions, kernel mappings and their
// flags, contents, the region table, descriptors.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "machvm/memory_object.h"
#include "machvm/sys.h"
#include "machvm/vm_state.h"
#include "machvm/vm_test_util.h"

using namespace vmtest;
namespace mt = hvshim::machvm::testing;

namespace {

constexpr int kWindowPages = 32;

// A window of known layout (pages):
//   [0,4)  A  RW, RANDOM advice on [0,2)     [4,6)  B  R (max RW)
//   [6,8)  hole                               [8,12) E1 view of entry E
//   [12,14) F inherit NONE, max R             [14,16) hole
//   [16,18) P permanent (only in `permanent` fixtures), else hole
//   [18,20) hole                              [20,24) E2 second view of E
//   [24,28) hole                              [28,30) private anonymous memory we did not map
//   [30,32) a shared file mapping we did not map
struct Fixture {
  uint64_t w = 0;
  mach_port_t entry = MACH_PORT_NULL;
  bool permanent = false;
  // Out-values of the call under test, released on success.
  mach_vm_address_t out = 0;
  mach_vm_size_t out_size = 0;
  mach_port_t out_port = MACH_PORT_NULL;

  uint64_t at(int p) const { return w + static_cast<uint64_t>(p) * page(); }
  char* ptr(int p) const { return reinterpret_cast<char*>(at(p)); }
};

int g_file = -1;

void fill(char* p, uint64_t n, char seed) {
  for (uint64_t i = 0; i < n; ++i) p[i] = static_cast<char>(seed + i * 7 + (i >> 12));
}

void build(Fixture& f, bool permanent) {
  f = Fixture{};
  f.permanent = permanent;
  // Reserved first and filled by overwriting, so that nothing else (the
  // sanitizer's allocator, say) can move into the window meanwhile.
  void* w = mmap(nullptr, kWindowPages * page(), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  ASSERT_NE(w, MAP_FAILED);
  f.w = reinterpret_cast<uint64_t>(w);
  auto fixed = [&](int p, int n, int extra = 0) {
    mach_vm_address_t a = f.at(p);
    ASSERT_KR(KERN_SUCCESS,
              mach_vm_allocate(mach_task_self(), &a, n * page(), VM_FLAGS_FIXED | VM_FLAGS_OVERWRITE | extra));
    fill(f.ptr(p), n * page(), static_cast<char>('a' + p));
  };
  fixed(0, 4);
  ASSERT_KR(KERN_SUCCESS, mach_vm_behavior_set(mach_task_self(), f.at(0), 2 * page(), VM_BEHAVIOR_RANDOM));
  fixed(4, 2);
  ASSERT_KR(KERN_SUCCESS, mach_vm_protect(mach_task_self(), f.at(4), 2 * page(), FALSE, VM_PROT_READ));
  memory_object_size_t es = 4 * page();
  ASSERT_KR(KERN_SUCCESS, mach_make_memory_entry_64(mach_task_self(), &es, 0, VM_PROT_DEFAULT | MAP_MEM_NAMED_CREATE,
                                                    &f.entry, MACH_PORT_NULL));
  for (int p : {8, 20}) {
    mach_vm_address_t a = f.at(p);
    ASSERT_KR(KERN_SUCCESS, mach_vm_map(mach_task_self(), &a, 4 * page(), 0, VM_FLAGS_FIXED | VM_FLAGS_OVERWRITE,
                                        f.entry, 0, FALSE,
                                        VM_PROT_DEFAULT, VM_PROT_DEFAULT, VM_INHERIT_DEFAULT));
  }
  fill(f.ptr(8), 4 * page(), 'E');
  fixed(12, 2);
  ASSERT_KR(KERN_SUCCESS, mach_vm_inherit(mach_task_self(), f.at(12), 2 * page(), VM_INHERIT_NONE));
  ASSERT_KR(KERN_SUCCESS, mach_vm_protect(mach_task_self(), f.at(12), 2 * page(), TRUE, VM_PROT_READ));
  if (permanent) fixed(16, 2, VM_FLAGS_PERMANENT);
  void* anon = mmap(f.ptr(28), 2 * page(), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  ASSERT_EQ(anon, f.ptr(28));
  fill(f.ptr(28), 2 * page(), 'x');
  void* file = mmap(f.ptr(30), 2 * page(), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, g_file, 0);
  ASSERT_EQ(file, f.ptr(30));
  for (auto [p, n] : {std::pair{6, 2}, {14, 2}, {18, 2}, {24, 4}}) munmap(f.ptr(p), n * page());
  if (!permanent) munmap(f.ptr(16), 2 * page());
}

void teardown(Fixture& f) {
  mach_vm_deallocate(mach_task_self(), f.w, kWindowPages * page());
  if (f.entry) mach_port_deallocate(mach_task_self(), f.entry);
}

void release_out(Fixture& f) {
  if (f.out) mach_vm_deallocate(mach_task_self(), f.out, f.out_size ? f.out_size : page());
  if (f.out_port) mach_port_deallocate(mach_task_self(), f.out_port);
}

struct Case {
  std::string name;
  std::function<kern_return_t(Fixture&)> call;
  bool permanent = false;
};

kern_return_t expected_code(const mt::InjectionReport& r, int err) {
  return r.which == mt::kMmap && r.kernel_chose_address && err == ENOMEM ? KERN_NO_SPACE : KERN_RESOURCE_SHORTAGE;
}

// Which calls an errno makes sense for.
struct Fault {
  int err;
  unsigned calls;
};
const Fault kFaults[] = {
    {ENOMEM, mt::kAllSysCalls},
    {EMFILE, mt::kMemfdCreate | mt::kOpen},
    {ENOSPC, mt::kFtruncate | mt::kPwrite | mt::kCopyFileRange},
};

// Returns how many injection points the call has (over all faults).
int sweep(const Case& c) {
  int points = 0;
  for (const Fault& fault : kFaults) {
    for (int skip = 0; skip < 64; ++skip) {
      Fixture f;
      build(f, c.permanent);
      if (::testing::Test::HasFatalFailure()) return points;
      // A fresh arena, so that creating its file is an injection point too;
      // retired again afterwards so an arena made by a failed call goes away.
      mt::retire_arena();
      const VmState before = capture(f.w, f.at(kWindowPages));
      mt::inject_failure(fault.calls, skip, fault.err);
      kern_return_t kr = c.call(f);
      const mt::InjectionReport rep = mt::injection_report();
      mt::clear_injection();
      mt::retire_arena();
      if (!rep.hit) {
        EXPECT_KR(KERN_SUCCESS, kr) << c.name << " without an injected failure";
        release_out(f);
        teardown(f);
        break;
      }
      ++points;
      const std::string where = c.name + ": " + mt::sys_call_name(rep.which) + " #" + std::to_string(skip) +
                                " failed with " + std::strerror(fault.err);
      EXPECT_KR(expected_code(rep, fault.err), kr) << where;
      if (kr == KERN_SUCCESS) release_out(f);
      const std::string diff = differences(before, capture(f.w, f.at(kWindowPages)));
      EXPECT_TRUE(diff.empty()) << where << " changed state:\n" << diff;
      teardown(f);
    }
  }
  return points;
}

class InjectedFailure : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char path[] = "/tmp/hvshim-inject-XXXXXX";
    g_file = mkostemp(path, O_CLOEXEC);
    ASSERT_GE(g_file, 0);
    ASSERT_EQ(ftruncate(g_file, static_cast<off_t>(2 * page())), 0);
    // Reopened by path when aliased, so it stays until the suite ends.
    s_path = path;
  }
  static void TearDownTestSuite() {
    close(g_file);
    unlink(s_path.c_str());
  }
  static void run(const std::vector<Case>& cases) {
    for (const Case& c : cases) {
      int n = sweep(c);
      EXPECT_GT(n, 0) << c.name << " reached no injection point";
      std::printf("[inject] %-44s %d failure points\n", c.name.c_str(), n);
    }
  }
  static std::string s_path;
};
std::string InjectedFailure::s_path;

kern_return_t allocate(Fixture& f, uint64_t addr, uint64_t size, int flags) {
  f.out = addr;
  f.out_size = size;
  kern_return_t kr = mach_vm_allocate(mach_task_self(), &f.out, size, flags);
  if (kr != KERN_SUCCESS || !(flags & VM_FLAGS_ANYWHERE)) f.out = 0;  // fixed results live in the window
  return kr;
}

kern_return_t map(Fixture& f, uint64_t addr, uint64_t size, int flags, mach_port_t obj, bool copy, vm_inherit_t inh) {
  f.out = addr;
  f.out_size = size;
  kern_return_t kr = mach_vm_map(mach_task_self(), &f.out, size, 0, flags, obj, 0, copy, VM_PROT_DEFAULT,
                                 VM_PROT_DEFAULT, inh);
  if (kr != KERN_SUCCESS || !(flags & VM_FLAGS_ANYWHERE)) f.out = 0;
  return kr;
}

kern_return_t remap(Fixture& f, uint64_t target, int flags, uint64_t src, uint64_t size, bool copy) {
  f.out = target;
  f.out_size = size;
  vm_prot_t cur = 0, max = 0;
  kern_return_t kr = mach_vm_remap(mach_task_self(), &f.out, size, 0, flags, mach_task_self(), src, copy, &cur, &max,
                                   VM_INHERIT_DEFAULT);
  if (kr != KERN_SUCCESS || !(flags & VM_FLAGS_ANYWHERE)) f.out = 0;
  return kr;
}

kern_return_t entry(Fixture& f, uint64_t addr, uint64_t size, vm_prot_t perm) {
  memory_object_size_t s = size;
  return mach_make_memory_entry_64(mach_task_self(), &s, addr, perm, &f.out_port, MACH_PORT_NULL);
}

TEST_F(InjectedFailure, AllocateAndDeallocate) {
  run({
      {"allocate ANYWHERE", [](Fixture& f) { return allocate(f, 0, 4 * page(), VM_FLAGS_ANYWHERE); }},
      {"allocate ANYWHERE superpage",
       [](Fixture& f) { return allocate(f, 0, 2 << 20, VM_FLAGS_ANYWHERE | VM_FLAGS_SUPERPAGE_SIZE_2MB); }},
      {"allocate FIXED into a hole", [](Fixture& f) { return allocate(f, f.at(6), 2 * page(), VM_FLAGS_FIXED); }},
      {"allocate FIXED|OVERWRITE over four regions",
       [](Fixture& f) { return allocate(f, f.at(2), 8 * page(), VM_FLAGS_FIXED | VM_FLAGS_OVERWRITE); }},
      {"allocate FIXED|OVERWRITE over foreign memory",
       [](Fixture& f) { return allocate(f, f.at(27), 5 * page(), VM_FLAGS_FIXED | VM_FLAGS_OVERWRITE); }},
      {"deallocate across regions and holes",
       [](Fixture& f) { return mach_vm_deallocate(mach_task_self(), f.at(2), 12 * page()); }},
      {"deallocate with a permanent entry",
       [](Fixture& f) { return mach_vm_deallocate(mach_task_self(), f.at(10), 20 * page()); }, true},
  });
}

TEST_F(InjectedFailure, ProtectAndInherit) {
  run({
      {"protect across regions",
       [](Fixture& f) { return mach_vm_protect(mach_task_self(), f.at(1), 4 * page(), FALSE, VM_PROT_READ); }},
      {"protect set_maximum",
       [](Fixture& f) { return mach_vm_protect(mach_task_self(), f.at(0), 6 * page(), TRUE, VM_PROT_READ); }},
      {"protect VM_PROT_COPY of a shared view",
       [](Fixture& f) {
         return mach_vm_protect(mach_task_self(), f.at(20), 4 * page(), FALSE, VM_PROT_COPY | VM_PROT_DEFAULT);
       }},
      {"protect VM_PROT_COPY over two entries",
       [](Fixture& f) {
         return mach_vm_protect(mach_task_self(), f.at(2), 4 * page(), FALSE, VM_PROT_COPY | VM_PROT_DEFAULT);
       }},
      {"protect over foreign memory",
       [](Fixture& f) { return mach_vm_protect(mach_task_self(), f.at(28), 3 * page(), FALSE, VM_PROT_READ); }},
      {"inherit NONE across regions",
       [](Fixture& f) { return mach_vm_inherit(mach_task_self(), f.at(0), 6 * page(), VM_INHERIT_NONE); }},
      {"inherit COPY of a NONE region and more",
       [](Fixture& f) { return mach_vm_inherit(mach_task_self(), f.at(8), 6 * page(), VM_INHERIT_COPY); }},
      {"inherit NONE of foreign memory",
       [](Fixture& f) { return mach_vm_inherit(mach_task_self(), f.at(28), 4 * page(), VM_INHERIT_NONE); }},
  });
}

TEST_F(InjectedFailure, MapAndRemap) {
  run({
      {"map anonymous ANYWHERE",
       [](Fixture& f) { return map(f, 0, 4 * page(), VM_FLAGS_ANYWHERE, MACH_PORT_NULL, false, VM_INHERIT_DEFAULT); }},
      {"map anonymous ANYWHERE inherit NONE",
       [](Fixture& f) { return map(f, 0, 4 * page(), VM_FLAGS_ANYWHERE, MACH_PORT_NULL, false, VM_INHERIT_NONE); }},
      {"map anonymous from a hint",
       [](Fixture& f) { return map(f, f.at(4), page(), VM_FLAGS_ANYWHERE, MACH_PORT_NULL, false, VM_INHERIT_NONE); }},
      {"map entry FIXED", [](Fixture& f) { return map(f, f.at(24), 4 * page(), VM_FLAGS_FIXED, f.entry, false, VM_INHERIT_COPY); }},
      {"map entry copy ANYWHERE",
       [](Fixture& f) { return map(f, 0, 4 * page(), VM_FLAGS_ANYWHERE, f.entry, true, VM_INHERIT_DEFAULT); }},
      {"map entry FIXED|OVERWRITE",
       [](Fixture& f) {
         return map(f, f.at(0), 4 * page(), VM_FLAGS_FIXED | VM_FLAGS_OVERWRITE, f.entry, false, VM_INHERIT_NONE);
       }},
      {"remap share ANYWHERE",
       [](Fixture& f) { return remap(f, 0, VM_FLAGS_ANYWHERE, f.at(0), 6 * page(), false); }},
      {"remap copy ANYWHERE", [](Fixture& f) { return remap(f, 0, VM_FLAGS_ANYWHERE, f.at(2), 4 * page(), true); }},
      {"remap share of a foreign file",
       [](Fixture& f) { return remap(f, 0, VM_FLAGS_ANYWHERE, f.at(30), 2 * page(), false); }},
      {"remap copy of foreign memory",
       [](Fixture& f) { return remap(f, 0, VM_FLAGS_ANYWHERE, f.at(28), 4 * page(), true); }},
      {"remap share FIXED|OVERWRITE",
       [](Fixture& f) {
         return remap(f, f.at(20), VM_FLAGS_FIXED | VM_FLAGS_OVERWRITE, f.at(0), 6 * page(), false);
       }},
  });
}

TEST_F(InjectedFailure, ReadAndMemoryEntries) {
  run({
      {"read short", [](Fixture& f) {
         vm_offset_t d = 0;
         mach_msg_type_number_t n = 0;
         kern_return_t kr = mach_vm_read(mach_task_self(), f.at(1) + 5, 100, &d, &n);
         if (kr == KERN_SUCCESS) f.out = d, f.out_size = n;
         return kr;
       }},
      {"read long across regions", [](Fixture& f) {
         vm_offset_t d = 0;
         mach_msg_type_number_t n = 0;
         kern_return_t kr = mach_vm_read(mach_task_self(), f.at(0), 6 * page(), &d, &n);
         if (kr == KERN_SUCCESS) f.out = d, f.out_size = n;
         return kr;
       }},
      {"make entry NAMED_CREATE",
       [](Fixture& f) { return entry(f, 0, 4 * page(), VM_PROT_DEFAULT | MAP_MEM_NAMED_CREATE); }},
      {"make entry VM_COPY", [](Fixture& f) { return entry(f, f.at(2), 4 * page(), VM_PROT_READ | MAP_MEM_VM_COPY); }},
      {"make entry VM_SHARE of a foreign file",
       [](Fixture& f) { return entry(f, f.at(30), 2 * page(), VM_PROT_DEFAULT | MAP_MEM_VM_SHARE); }},
  });
}

TEST_F(InjectedFailure, Wire) {
  mach_port_t priv = MACH_PORT_NULL;
  if (host_get_host_priv_port(mach_host_self(), &priv) != KERN_SUCCESS) GTEST_SKIP() << "needs root";
  static mach_port_t s_priv;
  s_priv = priv;
  run({
      {"wire", [](Fixture& f) {
         kern_return_t kr = mach_vm_wire(s_priv, mach_task_self(), f.at(0), 4 * page(), VM_PROT_READ);
         if (kr == KERN_SUCCESS) mach_vm_wire(s_priv, mach_task_self(), f.at(0), 4 * page(), VM_PROT_NONE);
         return kr;
       }},
  });
}

}  // namespace
