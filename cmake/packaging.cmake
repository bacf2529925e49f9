# Debian packages: `cpack -G DEB --config <build>/CPackConfig.cmake` builds
#
#   libhvshim        the shared library (libhvshim.so.0*), with shlibs; postinst/postrm run ldconfig
#   libhvshim-dev    headers, the .so link, the static library (debug info stripped: 116 MB
#                    unstripped in a Debug build), hvshim.pc, the CMake package
#                    (find_package(hvshim)) and the compiler wrappers hvshim-cc / hvshim-c++
#   libhvshim-tools  hvshim-info (host report; useful on any machine that runs hvshim code,
#                    so it is kept out of -dev) and the hvdemo VMM
#
# Dependencies come from dpkg-shlibdeps (libc6, libstdc++6, libgcc-s1; and libasan/libubsan
# in a sanitizer build). liburing is not among them: the library does not link it (see ldd).
# -dev and -tools depend on libhvshim of exactly the same version.
#
# install.cmake's rules carry no component, so they serve a plain `cmake --install`.  The
# packages are made of the component rules below, which are EXCLUDE_FROM_ALL so a plain
# install does not run them a second time.  tests/packaging/deb.sh checks that the packages
# together hold exactly the files of a plain install: an install rule added elsewhere and
# not packaged here fails that test. Each package also holds its Debian copyright file
# (share/doc/<package>/copyright: MIT, from LICENSE), which a plain install has no place for.

set(HVSHIM_DEB_PREFIX /usr CACHE STRING "Install prefix inside the Debian packages")

# --- component install rules -------------------------------------------------------------
install(TARGETS hvshim
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT runtime NAMELINK_COMPONENT dev EXCLUDE_FROM_ALL)
install(TARGETS hvshim_static
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev EXCLUDE_FROM_ALL)
# CPACK_STRIP_FILES leaves static libraries alone; a developer package carries no debug info.
install(CODE "execute_process(COMMAND \"${CMAKE_STRIP}\" --strip-debug
                \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR}/$<TARGET_FILE_NAME:hvshim_static>\"
                COMMAND_ERROR_IS_FATAL ANY)"
        COMPONENT dev EXCLUDE_FROM_ALL)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        COMPONENT dev EXCLUDE_FROM_ALL FILES_MATCHING PATTERN "*.h")
install(EXPORT hvshimTargets NAMESPACE hvshim:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/hvshim
        COMPONENT dev EXCLUDE_FROM_ALL)
install(FILES ${PROJECT_BINARY_DIR}/hvshimConfig.cmake ${PROJECT_BINARY_DIR}/hvshimConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/hvshim COMPONENT dev EXCLUDE_FROM_ALL)

# The packaged hvshim.pc is configured (from the same template) for the packages' layout,
# which may differ from this build's CMAKE_INSTALL_PREFIX/LIBDIR.
function(hvshim_deb_pc)
  set(CMAKE_INSTALL_PREFIX ${HVSHIM_DEB_PREFIX})
  file(RELATIVE_PATH HVSHIM_PC_TO_PREFIX ${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR}/pkgconfig ${CMAKE_INSTALL_PREFIX})
  string(REGEX REPLACE "/$" "" HVSHIM_PC_TO_PREFIX "${HVSHIM_PC_TO_PREFIX}")
  configure_file(${PROJECT_SOURCE_DIR}/cmake/hvshim.pc.in ${PROJECT_BINARY_DIR}/deb/hvshim.pc @ONLY)
endfunction()
hvshim_deb_pc()
install(FILES ${PROJECT_BINARY_DIR}/deb/hvshim.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig
        COMPONENT dev EXCLUDE_FROM_ALL)

# Tools: every installed executable target under tools/ except the wrappers (dev, installed
# by tools/hvshim-cc with their component).
foreach(tool hvshim-info hvdemo)
  if(TARGET ${tool})
    install(TARGETS ${tool} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT tools EXCLUDE_FROM_ALL)
  endif()
endforeach()

# Debian's machine-readable copyright file, one per package, from LICENSE.
file(READ ${PROJECT_SOURCE_DIR}/LICENSE _hvshim_license)
string(REGEX REPLACE "^MIT License\n\n[^\n]*\n\n" "" _hvshim_license "${_hvshim_license}")
string(REGEX REPLACE "\n+$" "" _hvshim_license "${_hvshim_license}")
string(REGEX REPLACE "\n\n" "\n.\n" _hvshim_license "${_hvshim_license}")
string(REGEX REPLACE "\n" "\n " _hvshim_license " ${_hvshim_license}")
file(WRITE ${PROJECT_BINARY_DIR}/deb/copyright
"Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: hvshim

Files: *
Copyright: The hvshim authors
License: MIT
${_hvshim_license}
")
foreach(_c runtime:libhvshim dev:libhvshim-dev tools:libhvshim-tools)
  string(REPLACE ":" ";" _c ${_c})
  list(GET _c 0 _comp)
  list(GET _c 1 _pkg)
  install(FILES ${PROJECT_BINARY_DIR}/deb/copyright DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/doc/${_pkg}
          COMPONENT ${_comp} EXCLUDE_FROM_ALL)
endforeach()

# --- CPack ---------------------------------------------------------------------------------
set(CPACK_PACKAGE_NAME hvshim)
set(CPACK_PACKAGE_VENDOR hvshim)
set(CPACK_RESOURCE_FILE_LICENSE ${PROJECT_SOURCE_DIR}/LICENSE)
set(CPACK_PACKAGE_CONTACT "hvshim maintainers <hvshim@localhost>")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
# No CPACK_PACKAGE_DESCRIPTION_SUMMARY: each package's summary is the first line of its
# component description below.
set(CPACK_STRIP_FILES ON) # executables and shared libraries; as Debian ships them
set(CPACK_PACKAGING_INSTALL_PREFIX ${HVSHIM_DEB_PREFIX})
set(CPACK_GENERATOR DEB)
set(CPACK_SOURCE_GENERATOR "")

set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL runtime dev tools)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_ENABLE_COMPONENT_DEPENDS ON)

find_program(HVSHIM_DPKG_SHLIBDEPS dpkg-shlibdeps)
if(HVSHIM_DPKG_SHLIBDEPS)
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
  # hvdemo needs libhvshim.so.0, which is in another component: let dpkg-shlibdeps read it
  # from the build tree (the Depends on libhvshim comes from the component dependency).
  get_target_property(_hvshim_libdir hvshim LIBRARY_OUTPUT_DIRECTORY)
  if(NOT _hvshim_libdir)
    get_target_property(_hvshim_libdir hvshim BINARY_DIR)
  endif()
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS_PRIVATE_DIRS ${_hvshim_libdir})
else()
  # No dpkg-dev: what dpkg-shlibdeps reports for an unsanitized build on Debian 12.
  set(CPACK_DEBIAN_RUNTIME_PACKAGE_DEPENDS "libc6 (>= 2.34), libgcc-s1 (>= 3.0), libstdc++6 (>= 12)")
  set(CPACK_DEBIAN_TOOLS_PACKAGE_DEPENDS "libc6 (>= 2.34), libgcc-s1 (>= 3.0), libstdc++6 (>= 12)")
endif()

set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME libhvshim)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SECTION libs)
# shlibs for libhvshim.so.0 (only libhvshim has shared objects; CMake 3.25 has no
# per-component switch). Maintainer scripts calling ldconfig come with it.
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS_POLICY ">=")

set(CPACK_DEBIAN_DEV_PACKAGE_NAME libhvshim-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_DEV_PACKAGE_RECOMMENDS "gcc | c-compiler, g++ | c++-compiler, pkgconf | pkg-config")

set(CPACK_DEBIAN_TOOLS_PACKAGE_NAME libhvshim-tools)
set(CPACK_DEBIAN_TOOLS_PACKAGE_SECTION utils)

set(CPACK_COMPONENT_RUNTIME_DESCRIPTION
    "macOS Hypervisor.framework (x86) and Mach VM APIs on Linux KVM\n\
hvshim lets code written for macOS's Hypervisor.framework (Intel API) and Mach VM calls\n\
run unchanged on Linux on top of KVM. This package holds the shared library.")
set(CPACK_COMPONENT_DEV_DESCRIPTION
    "macOS Hypervisor.framework (x86) and Mach VM APIs on Linux KVM - development files\n\
Headers laid out as on macOS (<Hypervisor/hv.h>, <mach/mach.h>), the static library,\n\
pkg-config and CMake files, and the hvshim-cc / hvshim-c++ compiler wrappers that accept\n\
-framework Hypervisor.")
set(CPACK_COMPONENT_TOOLS_DESCRIPTION
    "macOS Hypervisor.framework (x86) and Mach VM APIs on Linux KVM - tools\n\
hvshim-info reports whether and how this host can run the Hypervisor API (KVM device and\n\
permissions, capabilities, memory-protection paths); hvdemo is a small demo VMM.")

include(CPack)
cpack_add_component(runtime DISPLAY_NAME "Shared library")
cpack_add_component(dev DISPLAY_NAME "Development files" DEPENDS runtime)
cpack_add_component(tools DISPLAY_NAME "Tools" DEPENDS runtime)
