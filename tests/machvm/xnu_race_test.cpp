// XNU's vm_wire_copy_share.c and vm_unaligned_copy_{protection,switch}_race.c
// in our words. The races run a fixed number of rounds instead of XNU's
// ten seconds: no timing in tests. An unaligned read_overwrite straddling
// into a mapping another thread keeps switching (protection, or the object
// behind it) either succeeds or is KERN_PROTECTION_FAILURE, and never
// writes through to memory that was read-only or a snapshot.
#include <sys/mman.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "machvm/vm_test_util.h"

using namespace vmtest;

namespace {

constexpr vm_size_t kObj = 256 * 1024;
constexpr int kRounds = 60;

TEST(XnuRaces, WiredPageThenCopyAndShareOfTheRest) {
  const uint64_t P = page(), size = 32 * P;
  mach_vm_address_t a1 = 0, a2 = 0, a3 = 0;
  ASSERT_KR(KERN_SUCCESS, mach_vm_allocate(mach_task_self(), &a1, size, VM_FLAGS_ANYWHERE));
  char* cp = reinterpret_cast<char*>(a1);
  for (uint64_t i = 0; i < size; i += P) cp[i] = static_cast<char>(i / P + 1);
  ASSERT_EQ(mlock(cp, P), 0);
  ASSERT_KR(KERN_SUCCESS, mach_vm_allocate(mach_task_self(), &a2, size - P, VM_FLAGS_ANYWHERE));
  ASSERT_KR(KERN_SUCCESS, mach_vm_copy(mach_task_self(), a1 + P, size - P, a2));
  vm_prot_t cur = 0, max = 0;
  ASSERT_KR(KERN_SUCCESS, mach_vm_remap(mach_task_self(), &a3, size, 0, VM_FLAGS_ANYWHERE, mach_task_self(), a1, FALSE,
                                        &cur, &max, VM_INHERIT_DEFAULT));
  for (uint64_t i = 0; i < size; i += P) EXPECT_EQ(reinterpret_cast<char*>(a3)[i], static_cast<char>(i / P + 1));
  for (uint64_t i = 0; i < size - P; i += P) EXPECT_EQ(reinterpret_cast<char*>(a2)[i], static_cast<char>(i / P + 2));
  munlock(cp, P);
  for (mach_vm_address_t a : {a1, a3}) mach_vm_deallocate(mach_task_self(), a, size);
  mach_vm_deallocate(mach_task_self(), a2, size - P);
}

// The racing thread flips e0 between two states while the main thread
// copies an unaligned buffer across e2 | e0.
struct Racer {
  std::mutex mu;
  std::unique_lock<std::mutex> hold{mu};  // the main thread's turn
  std::atomic<bool> done{false};
  std::thread th;
  template <class Flip>
  explicit Racer(Flip flip) {
    th = std::thread([this, flip] {
      while (!done) {
        std::lock_guard lk(mu);
        if (done) break;
        flip();
      }
    });
  }
  ~Racer() {
    done = true;
    if (hold.owns_lock()) hold.unlock();
    th.join();
  }
};

TEST(XnuRaces, UnalignedCopyIntoAProtectionFlippingRangeKeepsTheSnapshot) {
  std::atomic<vm_address_t> e0{0};
  int ok = 0, refused = 0;
  {
    Racer r([&] {
      vm_address_t at = e0.load();
      EXPECT_KR(KERN_SUCCESS, vm_protect(mach_task_self(), at, kObj, FALSE, VM_PROT_READ));
      std::this_thread::yield();
      EXPECT_KR(KERN_SUCCESS, vm_protect(mach_task_self(), at, kObj, FALSE, VM_PROT_READ | VM_PROT_WRITE));
    });
    for (int i = 0; i < kRounds; ++i) {
      vm_address_t e2 = 0, e1 = 0, e5 = 0;
      ASSERT_KR(KERN_SUCCESS, vm_allocate(mach_task_self(), &e2, 2 * kObj, VM_FLAGS_ANYWHERE));
      ASSERT_KR(KERN_SUCCESS, vm_allocate(mach_task_self(), &e2, kObj,
                                          VM_FLAGS_FIXED | VM_FLAGS_OVERWRITE | static_cast<int>(VM_MAKE_TAG(240))));
      std::memset(reinterpret_cast<void*>(e2), 'B', kObj);
      vm_address_t at = e2 + kObj;
      ASSERT_KR(KERN_SUCCESS, vm_allocate(mach_task_self(), &at, kObj,
                                          VM_FLAGS_FIXED | VM_FLAGS_OVERWRITE | static_cast<int>(VM_MAKE_TAG(241))));
      std::memset(reinterpret_cast<void*>(at), 'A', kObj);
      e0 = at;
      mach_msg_type_number_t n = 0;
      ASSERT_KR(KERN_SUCCESS, vm_read(mach_task_self(), at, kObj, &e1, &n));
      ASSERT_KR(KERN_SUCCESS, vm_allocate(mach_task_self(), &e5, kObj, VM_FLAGS_ANYWHERE));
      std::memset(reinterpret_cast<void*>(e5), 'C', kObj);
      r.hold.unlock();
      vm_size_t copied = 0;
      kern_return_t kr = vm_read_overwrite(mach_task_self(), e5, kObj, e2 + 1, &copied);
      ASSERT_TRUE(kr == KERN_SUCCESS || kr == KERN_PROTECTION_FAILURE) << kr;
      (kr == KERN_SUCCESS ? ok : refused)++;
      EXPECT_EQ(*reinterpret_cast<char*>(e1), 'A') << "the vm_read snapshot was modified";
      r.hold.lock();
      for (vm_address_t x : {at, e1, e2, e5}) vm_deallocate(mach_task_self(), x, kObj);
    }
  }
  EXPECT_EQ(ok + refused, kRounds);
}

TEST(XnuRaces, UnalignedCopyNeverWritesThroughAReadOnlyEntrySwitchedIn) {
  vm_address_t ro = 0, e5 = 0, tmp = 0;
  ASSERT_KR(KERN_SUCCESS, vm_allocate(mach_task_self(), &ro, kObj, VM_FLAGS_ANYWHERE));
  std::memset(reinterpret_cast<void*>(ro), 'A', kObj);
  ASSERT_KR(KERN_SUCCESS, vm_protect(mach_task_self(), ro, kObj, TRUE, VM_PROT_READ));
  memory_object_size_t ms = kObj;
  mach_port_t me_ro = MACH_PORT_NULL, me_rw = MACH_PORT_NULL;
  EXPECT_KR(KERN_PROTECTION_FAILURE, mach_make_memory_entry_64(mach_task_self(), &ms, ro,
                                                               MAP_MEM_VM_SHARE | VM_PROT_READ | VM_PROT_WRITE, &me_ro,
                                                               MACH_PORT_NULL));
  ms = kObj;
  ASSERT_KR(KERN_SUCCESS, mach_make_memory_entry_64(mach_task_self(), &ms, ro, MAP_MEM_VM_SHARE | VM_PROT_READ, &me_ro,
                                                    MACH_PORT_NULL));
  vm_address_t t = 0;
  EXPECT_KR(KERN_INVALID_RIGHT, vm_map(mach_task_self(), &t, kObj, 0, VM_FLAGS_ANYWHERE, me_ro, 0, FALSE, VM_PROT_READ,
                                       VM_PROT_READ | VM_PROT_WRITE, VM_INHERIT_DEFAULT));
  EXPECT_KR(KERN_INVALID_RIGHT, vm_map(mach_task_self(), &t, kObj, 0, VM_FLAGS_ANYWHERE, me_ro, 0, FALSE,
                                       VM_PROT_READ | VM_PROT_WRITE, VM_PROT_READ | VM_PROT_WRITE, VM_INHERIT_DEFAULT));
  ASSERT_KR(KERN_SUCCESS, vm_allocate(mach_task_self(), &e5, kObj, VM_FLAGS_ANYWHERE));
  std::memset(reinterpret_cast<void*>(e5), 'C', kObj);
  ASSERT_KR(KERN_SUCCESS, vm_allocate(mach_task_self(), &tmp, kObj, VM_FLAGS_ANYWHERE));
  std::memset(reinterpret_cast<void*>(tmp), 'D', kObj);
  ms = kObj;
  ASSERT_KR(KERN_SUCCESS, mach_make_memory_entry_64(mach_task_self(), &ms, tmp,
                                                    MAP_MEM_VM_SHARE | VM_PROT_READ | VM_PROT_WRITE, &me_rw,
                                                    MACH_PORT_NULL));
  EXPECT_EQ(ms, kObj);
  ASSERT_KR(KERN_SUCCESS, vm_deallocate(mach_task_self(), tmp, kObj));
  std::atomic<vm_address_t> e0{0};
  int ok = 0, refused = 0;
  {
    Racer r([&] {
      vm_address_t at = e0.load();
      EXPECT_KR(KERN_SUCCESS, vm_map(mach_task_self(), &at, kObj, 0, VM_FLAGS_FIXED | VM_FLAGS_OVERWRITE, me_rw, 0,
                                     FALSE, VM_PROT_READ | VM_PROT_WRITE, VM_PROT_READ | VM_PROT_WRITE,
                                     VM_INHERIT_DEFAULT));
      std::this_thread::yield();
      EXPECT_KR(KERN_SUCCESS, vm_map(mach_task_self(), &at, kObj, 0, VM_FLAGS_FIXED | VM_FLAGS_OVERWRITE, me_ro, 0,
                                     FALSE, VM_PROT_READ, VM_PROT_READ, VM_INHERIT_DEFAULT));
    });
    for (int i = 0; i < kRounds; ++i) {
      vm_address_t e2 = 0;
      ASSERT_KR(KERN_SUCCESS, vm_allocate(mach_task_self(), &e2, 2 * kObj, VM_FLAGS_ANYWHERE));
      ASSERT_KR(KERN_SUCCESS, vm_allocate(mach_task_self(), &e2, kObj,
                                          VM_FLAGS_FIXED | VM_FLAGS_OVERWRITE | static_cast<int>(VM_MAKE_TAG(240))));
      std::memset(reinterpret_cast<void*>(e2), 'B', kObj);
      vm_address_t at = e2 + kObj;
      EXPECT_KR(KERN_SUCCESS, vm_map(mach_task_self(), &at, kObj, 0,
                                     VM_FLAGS_FIXED | VM_FLAGS_OVERWRITE | static_cast<int>(VM_MAKE_TAG(241)), me_ro, 0,
                                     FALSE, VM_PROT_READ, VM_PROT_READ, VM_INHERIT_DEFAULT));
      e0 = at;
      r.hold.unlock();
      vm_size_t copied = 0;
      kern_return_t kr = vm_read_overwrite(mach_task_self(), e5, kObj, e2 + 1, &copied);
      ASSERT_TRUE(kr == KERN_SUCCESS || kr == KERN_PROTECTION_FAILURE) << kr;
      (kr == KERN_SUCCESS ? ok : refused)++;
      EXPECT_EQ(*reinterpret_cast<char*>(ro), 'A') << "the read-only memory was modified";
      r.hold.lock();
      vm_deallocate(mach_task_self(), at, kObj);
      vm_deallocate(mach_task_self(), e2, kObj);
    }
  }
  EXPECT_EQ(ok + refused, kRounds);
  mach_port_deallocate(mach_task_self(), me_rw);
  mach_port_deallocate(mach_task_self(), me_ro);
  vm_deallocate(mach_task_self(), ro, kObj);
  vm_deallocate(mach_task_self(), e5, kObj);
}

}  // namespace
