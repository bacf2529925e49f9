// The public headers compile cleanly, alone and together, as C and as C++,
// with the warnings users turn on; struct layouts match Darwin's.
#include <cstdlib>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>
#include <mach/mach.h>

namespace {

std::string repo_include() {
  return (std::filesystem::path(__FILE__).parent_path().parent_path().parent_path() / "include").string();
}

int compile(const char* lang, const std::string& header) {
  std::string src = "#include <" + header + ">\nint main(void) { return 0; }\n";
  const char* cc = std::getenv(std::string(lang) == "c" ? "CC" : "CXX");
  std::string compiler = cc && *cc ? cc : (std::string(lang) == "c" ? "cc" : "c++");
  std::string std = std::string(lang) == "c" ? "-std=c99" : "-std=c++17";
  std::string cmd = "printf '%s' '" + src + "' | " + compiler + " -x " + lang + " " + std +
                    " -fsyntax-only -Wall -Wextra -Werror -pedantic -I" + repo_include() + " - 2>&1";
  return std::system(cmd.c_str());
}

const char* kHeaders[] = {"mach/mach.h",        "mach/mach_vm.h",     "mach/vm_map.h",        "mach/kern_return.h",
                          "mach/vm_prot.h",     "mach/vm_inherit.h",  "mach/vm_statistics.h", "mach/vm_region.h",
                          "mach/vm_behavior.h", "mach/vm_sync.h",     "mach/vm_purgable.h",   "mach/memory_object_types.h",
                          "mach/vm_types.h",    "mach/vm_page_size.h", "mach/vm_param.h",     "mach/mach_init.h",
                          "mach/mach_port.h",   "mach/mach_traps.h",  "mach/host_priv.h",     "mach/mach_host.h",
                          "mach/message.h",     "mach/port.h",        "mach/boolean.h",       "mach/vm_attributes.h",
                          "mach/mach_types.h",  "mach/error.h",       "mach/mach_error.h",    "mach/mig_errors.h",
                          "mach/ndr.h",         "mach/mach_time.h",   "mach/std_types.h"};

TEST(MachHeaders, EachCompilesAsStrictC) {
  for (const char* h : kHeaders) EXPECT_EQ(compile("c", h), 0) << h;
}

TEST(MachHeaders, EachCompilesAsStrictCxx) {
  for (const char* h : kHeaders) EXPECT_EQ(compile("c++", h), 0) << h;
}

TEST(MachHeaders, RegionStructsHaveDarwinLayout) {
  static_assert(sizeof(vm_region_basic_info_data_64_t) == 36);
  static_assert(offsetof(vm_region_basic_info_data_64_t, offset) == 20);
  static_assert(offsetof(vm_region_basic_info_data_64_t, behavior) == 28);
  static_assert(VM_REGION_BASIC_INFO_COUNT_64 == 9);
  static_assert(VM_REGION_BASIC_INFO_COUNT == 8);
  static_assert(VM_REGION_EXTENDED_INFO_COUNT == 9);
  static_assert(VM_REGION_TOP_INFO_COUNT == 5);
  static_assert(VM_REGION_SUBMAP_INFO_COUNT == 15);
  static_assert(sizeof(vm_region_submap_info_data_64_t) == 76);
  static_assert(VM_REGION_SUBMAP_INFO_COUNT_64 == 19);
  static_assert(VM_REGION_SUBMAP_INFO_V1_COUNT_64 == 17);
  static_assert(VM_REGION_SUBMAP_INFO_V0_COUNT_64 == 16);
  static_assert(sizeof(vm_region_submap_short_info_data_64_t) == 48);
  static_assert(VM_REGION_SUBMAP_SHORT_INFO_COUNT_64 == 12);
  static_assert(VM_PAGE_INFO_BASIC_COUNT == 8);
  static_assert(sizeof(mach_vm_read_entry_t) == 256 * 16);
  EXPECT_EQ(vm_page_size, static_cast<vm_size_t>(sysconf(_SC_PAGESIZE)));
  EXPECT_EQ(vm_page_mask, vm_page_size - 1);
  EXPECT_EQ(1UL << vm_page_shift, vm_page_size);
  EXPECT_EQ(mach_vm_round_page(1), vm_page_size);
  EXPECT_EQ(trunc_page(vm_page_size + 5), vm_page_size);
  EXPECT_EQ(round_page(vm_page_size + 5), 2 * vm_page_size);
  EXPECT_NE(mach_task_self(), static_cast<mach_port_t>(MACH_PORT_NULL));
}

TEST(MachHeaders, FlagValuesAreDarwins) {
  static_assert(VM_FLAGS_OVERWRITE == 0x4000);
  static_assert(VM_FLAGS_RETURN_DATA_ADDR == 0x100000);
  static_assert(VM_MAKE_TAG(VM_MEMORY_APPLICATION_SPECIFIC_1) == 0xF0000000u);
  static_assert(MAP_MEM_NAMED_CREATE == 0x020000 && MAP_MEM_VM_SHARE == 0x400000 && MAP_MEM_VM_COPY == 0x200000);
  static_assert(KERN_NOT_SUPPORTED == 46 && KERN_INVALID_RIGHT == 17 && MACH_SEND_INVALID_DEST == 0x10000003);
  int flags = VM_FLAGS_ANYWHERE;
  VM_SET_FLAGS_ALIAS(flags, 77);
  int alias = 0;
  VM_GET_FLAGS_ALIAS(flags, alias);
  EXPECT_EQ(alias, 77);
  EXPECT_EQ(flags & VM_FLAGS_ANYWHERE, VM_FLAGS_ANYWHERE);
}

}  // namespace
