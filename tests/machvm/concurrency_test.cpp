// Many threads mixing every kind of call: no corruption, no overlap, no
// lost contents, and the table still agrees with the memory afterwards.
#include <atomic>
#include <random>
#include <thread>
#include <vector>

#include "machvm/vm_test_util.h"

using namespace vmtest;

namespace {

TEST(Concurrency, MixedCallsKeepEveryThreadsDataIntact) {
  constexpr int kThreads = 6, kRounds = 150;
  std::atomic<int> errors{0};
  std::atomic<bool> walking{true};
  // A walker keeps reading the whole table while the others change it.
  std::thread walker([&] {
    while (walking) {
      mach_vm_address_t a = 0;
      for (int i = 0; i < 2000; ++i) {
        mach_vm_size_t s = 0;
        kern_return_t kr;
        basic_info(a, s, &kr);
        if (kr != KERN_SUCCESS) break;
        if (s == 0) {
          errors++;
          break;
        }
        a += s;
      }
    }
  });
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; ++t)
    ts.emplace_back([&, t] {
      std::mt19937 rng(t);
      std::vector<std::pair<mach_vm_address_t, int>> mine;  // address, stamp
      for (int i = 0; i < kRounds; ++i) {
        int stamp = t * 100000 + i;
        mach_vm_address_t a = 0;
        switch (rng() % 4) {
          case 0: {
            if (mach_vm_allocate(mach_task_self(), &a, 2 * page(), VM_FLAGS_ANYWHERE) != KERN_SUCCESS) {
              errors++;
              continue;
            }
            break;
          }
          case 1: {
            memory_object_size_t s = 2 * page();
            mach_port_t h = MACH_PORT_NULL;
            if (mach_make_memory_entry_64(mach_task_self(), &s, 0, VM_PROT_DEFAULT | MAP_MEM_NAMED_CREATE, &h, 0) !=
                    KERN_SUCCESS ||
                mach_vm_map(mach_task_self(), &a, 2 * page(), 0, VM_FLAGS_ANYWHERE, h, 0, FALSE, VM_PROT_DEFAULT,
                            VM_PROT_DEFAULT, VM_INHERIT_DEFAULT) != KERN_SUCCESS) {
              errors++;
              continue;
            }
            mach_port_deallocate(mach_task_self(), h);
            break;
          }
          default: {
            if (mine.empty()) continue;
            // A copy or a shared view of one of our own earlier regions.
            auto [src, src_stamp] = mine[rng() % mine.size()];
            vm_prot_t cur, max;
            bool copy = rng() & 1;
            if (mach_vm_remap(mach_task_self(), &a, 2 * page(), 0, VM_FLAGS_ANYWHERE, mach_task_self(), src, copy,
                              &cur, &max, VM_INHERIT_DEFAULT) != KERN_SUCCESS) {
              errors++;
              continue;
            }
            if (reinterpret_cast<int*>(a)[0] != src_stamp) errors++;
            if (!copy) {
              mach_vm_deallocate(mach_task_self(), a, 2 * page());
              continue;
            }
            break;
          }
        }
        // A copy keeps the source's read-only second page.
        mach_vm_protect(mach_task_self(), a + page(), page(), FALSE, VM_PROT_DEFAULT);
        reinterpret_cast<int*>(a)[0] = stamp;
        reinterpret_cast<int*>(a + page())[0] = stamp;
        mach_vm_protect(mach_task_self(), a + page(), page(), FALSE, VM_PROT_READ);
        mine.emplace_back(a, stamp);
        if (mine.size() > 20) {
          auto [old, old_stamp] = mine.front();
          if (reinterpret_cast<int*>(old)[0] != old_stamp || reinterpret_cast<int*>(old + page())[0] != old_stamp)
            errors++;
          mach_vm_deallocate(mach_task_self(), old, 2 * page());
          mine.erase(mine.begin());
        }
      }
      for (auto [a, stamp] : mine) {
        if (reinterpret_cast<int*>(a)[0] != stamp) errors++;
        mach_vm_address_t r = a + page();
        mach_vm_size_t s = 0;
        if (basic_info(r, s).protection != VM_PROT_READ || r != a + page()) errors++;
        mach_vm_deallocate(mach_task_self(), a, 2 * page());
      }
    });
  for (auto& th : ts) th.join();
  walking = false;
  walker.join();
  EXPECT_EQ(errors.load(), 0);
}

}  // namespace
