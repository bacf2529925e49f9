include(CMakePackageConfigHelpers)

install(TARGETS hvshim hvshim_static EXPORT hvshimTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        FILES_MATCHING PATTERN "*.h")
install(EXPORT hvshimTargets NAMESPACE hvshim:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/hvshim)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/hvshimConfig.cmake.in
  ${PROJECT_BINARY_DIR}/hvshimConfig.cmake INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/hvshim)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/hvshimConfigVersion.cmake COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/hvshimConfig.cmake ${PROJECT_BINARY_DIR}/hvshimConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/hvshim)
# The .pc file finds its prefix from its own location, so an installed tree
# can be moved (or unpacked with dpkg -x) and still be used.
file(RELATIVE_PATH HVSHIM_PC_TO_PREFIX ${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR}/pkgconfig ${CMAKE_INSTALL_PREFIX})
string(REGEX REPLACE "/$" "" HVSHIM_PC_TO_PREFIX "${HVSHIM_PC_TO_PREFIX}")
configure_file(${PROJECT_SOURCE_DIR}/cmake/hvshim.pc.in ${PROJECT_BINARY_DIR}/hvshim.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/hvshim.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
