// Logging, last-error text, and the backing identity other layers use.
#include <sys/mman.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/last_error.h"
#include "common/log.h"
#include "machvm/backing.h"
#include "machvm/vm_test_util.h"

using namespace vmtest;

namespace {

TEST(Logging, DebugShowsEveryCallWithArgumentsResultAndDuration) {
  char path[] = "/tmp/machvm-log-XXXXXX";
  int fd = mkstemp(path);
  close(fd);
  setenv("HVSHIM_LOG", "debug", 1);
  setenv("HVSHIM_LOG_FILE", path, 1);
  hvshim::log::reload_from_env();
  mach_vm_address_t a = 0;
  mach_vm_allocate(mach_task_self(), &a, 1ULL << 62, VM_FLAGS_ANYWHERE);
  mach_vm_allocate(mach_task_self(), &a, page(), VM_FLAGS_ANYWHERE);
  mach_vm_deallocate(mach_task_self(), a, page());
  unsetenv("HVSHIM_LOG");
  unsetenv("HVSHIM_LOG_FILE");
  hvshim::log::reload_from_env();
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string log = ss.str();
  unlink(path);
  EXPECT_NE(log.find("mach_vm_allocate(task=0x103 addr=0x0 size=0x4000000000000000 flags=0x1"), std::string::npos)
      << log;
  EXPECT_NE(log.find("= KERN_NO_SPACE (3) in "), std::string::npos) << log;
  EXPECT_NE(log.find("mach_vm_deallocate("), std::string::npos) << log;
  EXPECT_NE(log.find(" us"), std::string::npos) << log;
}

TEST(Logging, FailuresLeaveAReason) {
  Alloc al(page());
  ASSERT_KR(KERN_SUCCESS, mach_vm_protect(mach_task_self(), al.addr, page(), TRUE, VM_PROT_READ));
  EXPECT_KR(KERN_PROTECTION_FAILURE, mach_vm_protect(mach_task_self(), al.addr, page(), FALSE, VM_PROT_ALL));
  std::string e = hvshim::last_error_cstr();
  EXPECT_NE(e.find("KERN_PROTECTION_FAILURE"), std::string::npos) << e;
  EXPECT_NE(e.find("maximum protection"), std::string::npos) << e;
}

TEST(Backing, AllocationsHaveAnAliasableIdentity) {
  // What a VMM does with guest RAM: allocate with mach_vm_allocate, then let
  // another layer map the same pages (here: a second mmap of the fd).
  const mach_vm_size_t ram = 64ULL << 20;
  mach_vm_address_t guest = 0;
  ASSERT_KR(KERN_SUCCESS, mach_vm_allocate(mach_task_self(), &guest, ram, VM_FLAGS_ANYWHERE));
  std::strcpy(reinterpret_cast<char*>(guest + (40 << 20)), "guest page");
  hvshim::machvm::Backing b;
  ASSERT_KR(KERN_SUCCESS, hvshim::machvm::backing_of(guest, b));
  EXPECT_GE(b.fd, 0);
  EXPECT_EQ(b.length, ram);
  EXPECT_EQ(b.offset % page(), 0u);
  void* alias = mmap(nullptr, ram, PROT_READ | PROT_WRITE, MAP_SHARED, b.fd, static_cast<off_t>(b.offset));
  ASSERT_NE(alias, MAP_FAILED);
  EXPECT_STREQ(static_cast<char*>(alias) + (40 << 20), "guest page");
  std::strcpy(static_cast<char*>(alias) + 100, "from device model");
  EXPECT_STREQ(reinterpret_cast<char*>(guest + 100), "from device model");
  munmap(alias, ram);
  hvshim::machvm::Backing b2;
  ASSERT_KR(KERN_SUCCESS, hvshim::machvm::backing_of(guest + page(), b2));
  EXPECT_EQ(b2.offset, b.offset + page());
  EXPECT_EQ(b2.object_id, b.object_id);
  mach_vm_deallocate(mach_task_self(), guest, ram);
  EXPECT_KR(KERN_INVALID_ADDRESS, hvshim::machvm::backing_of(guest, b));
  int local;
  EXPECT_KR(KERN_INVALID_ADDRESS, hvshim::machvm::backing_of(reinterpret_cast<uint64_t>(&local), b));
}

TEST(Backing, DeallocatedPagesAreGivenBack) {
  // Freed objects punch their pages out of the arena: a new allocation that
  // reuses the same file range starts zeroed.
  for (int i = 0; i < 4; ++i) {
    Alloc al(16 * page());
    for (uint64_t off = 0; off < al.size; off += page()) EXPECT_EQ(al.p()[off], 0);
    std::memset(al.p(), 0xEE, al.size);
  }
}

}  // namespace

namespace {

int open_fds() {
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) {
    (void)e;
    ++n;
  }
  return n;
}

void workload() {
  char path[] = "/tmp/machvm-fd-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_EQ(ftruncate(fd, 4 * page()), 0);
  void* m = mmap(nullptr, 4 * page(), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  unlink(path);
  for (int i = 0; i < 20; ++i) {
    memory_object_size_t s = 4 * page();
    mach_port_t h = MACH_PORT_NULL;
    ASSERT_KR(KERN_SUCCESS, mach_make_memory_entry_64(mach_task_self(), &s, reinterpret_cast<uint64_t>(m),
                                                     VM_PROT_DEFAULT, &h, 0));
    mach_vm_address_t a = 0;
    ASSERT_KR(KERN_SUCCESS, mach_vm_map(mach_task_self(), &a, 4 * page(), 0, VM_FLAGS_ANYWHERE, h, 0, FALSE,
                                       VM_PROT_DEFAULT, VM_PROT_DEFAULT, VM_INHERIT_DEFAULT));
    ASSERT_KR(KERN_SUCCESS, mach_vm_msync(mach_task_self(), a, 4 * page(), VM_SYNC_ASYNCHRONOUS));
    mach_vm_address_t b = 0;
    vm_prot_t cur, max;
    ASSERT_KR(KERN_SUCCESS, mach_vm_remap(mach_task_self(), &b, 4 * page(), 0, VM_FLAGS_ANYWHERE, mach_task_self(),
                                         reinterpret_cast<uint64_t>(m), FALSE, &cur, &max, VM_INHERIT_DEFAULT));
    Alloc al(8 * page());
    vm_offset_t data;
    mach_msg_type_number_t cnt;
    ASSERT_KR(KERN_SUCCESS, mach_vm_read(mach_task_self(), al.addr, 8 * page(), &data, &cnt));
    mach_vm_deallocate(mach_task_self(), data, cnt);
    mach_vm_deallocate(mach_task_self(), a, 4 * page());
    mach_vm_deallocate(mach_task_self(), b, 4 * page());
    mach_port_deallocate(mach_task_self(), h);
  }
  munmap(m, 4 * page());
}

TEST(Resources, NoFileDescriptorLeaks) {
  workload();  // first use opens the arena, the maps handle and the ring
  int before = open_fds();
  workload();
  EXPECT_EQ(open_fds(), before);
}

}  // namespace

namespace {

TEST(Resources, PartialDeallocateGivesPagesBack) {
  const mach_vm_size_t n = 64;
  mach_vm_address_t a = 0;
  ASSERT_KR(KERN_SUCCESS, mach_vm_allocate(mach_task_self(), &a, n * page(), VM_FLAGS_ANYWHERE));
  std::memset(reinterpret_cast<void*>(a), 'x', n * page());
  hvshim::machvm::Backing b;
  ASSERT_KR(KERN_SUCCESS, hvshim::machvm::backing_of(a, b));
  ASSERT_KR(KERN_SUCCESS, mach_vm_deallocate(mach_task_self(), a, 32 * page()));
  // The first half of the object is a hole again; the rest keeps its data.
  off_t data = lseek(b.fd, static_cast<off_t>(b.offset), SEEK_DATA);
  EXPECT_EQ(static_cast<uint64_t>(data), b.offset + 32 * page());
  EXPECT_EQ(reinterpret_cast<char*>(a)[32 * page()], 'x');
  // A second view keeps the pages alive.
  mach_vm_address_t v = 0;
  vm_prot_t cur, max;
  ASSERT_KR(KERN_SUCCESS, mach_vm_remap(mach_task_self(), &v, 16 * page(), 0, VM_FLAGS_ANYWHERE, mach_task_self(),
                                       a + 32 * page(), FALSE, &cur, &max, VM_INHERIT_DEFAULT));
  ASSERT_KR(KERN_SUCCESS, mach_vm_deallocate(mach_task_self(), a + 32 * page(), 16 * page()));
  EXPECT_EQ(reinterpret_cast<char*>(v)[0], 'x');
  mach_vm_deallocate(mach_task_self(), v, 16 * page());
  mach_vm_deallocate(mach_task_self(), a + 48 * page(), 16 * page());
}

}  // namespace
