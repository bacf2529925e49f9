// Runs tests/vcpu/hvdos/run_hvdos.sh (unmodified mist64/hvdos built against
// this tree, running a hello-world and a file-I/O .COM program) when
// HVDOS_SRC names an hvdos checkout; skips with the reason otherwise.
#include <gtest/gtest.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <string>

#include "vcpu_fixture.h"

namespace vcputest {
namespace {

TEST(HvdosTest, UnmodifiedHvdosRunsComPrograms) {
  std::string why;
  if (!kvm_usable(&why)) GTEST_SKIP() << why;
  const char* src = getenv("HVDOS_SRC");
  if (!src || !*src) GTEST_SKIP() << "HVDOS_SRC is not set (a checkout of https://github.com/mist64/hvdos)";
  std::string here = __FILE__;
  std::string script = here.substr(0, here.rfind('/')) + "/hvdos/run_hvdos.sh";
  char exe[PATH_MAX] = {};
  ASSERT_GT(readlink("/proc/self/exe", exe, sizeof exe - 1), 0);
  std::string build = exe;
  build = build.substr(0, build.rfind('/'));   // .../tests
  build = build.substr(0, build.rfind('/'));   // build dir
  if (access((build + "/src/libhvshim.so").c_str(), R_OK) != 0)
    GTEST_SKIP() << build << "/src/libhvshim.so is not built (build the `hvshim` target to run hvdos)";
  std::string extra;
#if defined(__SANITIZE_ADDRESS__)
  extra = "HVDOS_EXTRA_FLAGS='-fsanitize=address,undefined' ";
#endif
  std::string cmd = extra + "HVSHIM_USE_BUILD=1 '" + script + "' '" + build + "' 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char buf[512];
  while (fgets(buf, sizeof buf, p)) out += buf;
  int rc = pclose(p);
  EXPECT_EQ(WEXITSTATUS(rc), 0) << out;
  EXPECT_NE(out.find("PASS"), std::string::npos) << out;
}

}  // namespace
}  // namespace vcputest
