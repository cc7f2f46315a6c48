# Cross-builds kextconf's user-space programs for macOS 11+ on a Linux x86_64
# host, with zig 0.11 (clang 16, libc++, macOS SDK headers, a Mach-O linker):
#
#   cmake --preset macos-cross-arm64 && cmake --build build/macos-cross-arm64
#
# CMAKE_SYSTEM_NAME is Darwin, so every CMakeLists.txt takes its APPLE branch,
# exactly as on a Mac. What zig's bundled SDK headers lack comes from
# KEXTCONF_XNU_HEADERS (default ../shared/xnu beside the source tree, or the
# XNU_HEADERS environment variable): user/ for sys/kern_event.h,
# sys/sys_domain.h and os/log.h, kernel/ for the kext (cmake/KextBundleApple.cmake).
# The header-only libraries are Debian's (boost, nlohmann, spdlog, fmt, CLI11),
# reached through a directory of links to just those trees so that
# /usr/include itself (Linux's libc) is never on the macOS include path.
# GoogleTest is compiled from Debian's source package (/usr/src/googletest).
# zig itself is installed and verified by scripts/zig.sh. docs/macos.md.

set(KEXTCONF_MACOS_ARCH "x86_64" CACHE STRING "Architecture of the macOS cross-build: x86_64 or arm64")
set_property(CACHE KEXTCONF_MACOS_ARCH PROPERTY STRINGS x86_64 arm64)
# try_compile projects read this file again; they need the same choices.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES KEXTCONF_MACOS_ARCH KEXTCONF_XNU_HEADERS)

set(CMAKE_SYSTEM_NAME Darwin)
set(CMAKE_SYSTEM_VERSION 20.0.0) # Darwin 20 is macOS 11
set(CMAKE_SYSTEM_PROCESSOR "${KEXTCONF_MACOS_ARCH}")
set(CMAKE_OSX_ARCHITECTURES "" CACHE STRING "" FORCE) # one architecture per build: the target says which
set(CMAKE_OSX_DEPLOYMENT_TARGET "11.0" CACHE STRING "Oldest macOS the programs run on")
set(CMAKE_OSX_SYSROOT "/" CACHE PATH "zig supplies the SDK headers and libSystem stubs")

if(KEXTCONF_MACOS_ARCH STREQUAL "x86_64")
  set(_zig_arch x86_64)
elseif(KEXTCONF_MACOS_ARCH STREQUAL "arm64")
  set(_zig_arch aarch64)
else()
  message(FATAL_ERROR "KEXTCONF_MACOS_ARCH is \"${KEXTCONF_MACOS_ARCH}\"; the macOS cross-build knows x86_64 and arm64")
endif()
# The macOS 11 headers zig bundles, so an API newer than the deployment
# target does not compile, and LC_BUILD_VERSION says minos 11.0.
set(_zig_target "${_zig_arch}-macos.${CMAKE_OSX_DEPLOYMENT_TARGET}-none")
set(CMAKE_C_COMPILER "${CMAKE_CURRENT_LIST_DIR}/zig-cc")
set(CMAKE_CXX_COMPILER "${CMAKE_CURRENT_LIST_DIR}/zig-c++")
set(CMAKE_C_COMPILER_TARGET "${_zig_target}")
set(CMAKE_CXX_COMPILER_TARGET "${_zig_target}")
# zig archives and links itself; CMake looks for ar/ranlib/install_name_tool.
set(CMAKE_AR "${CMAKE_CURRENT_LIST_DIR}/zig-ar" CACHE FILEPATH "")
set(CMAKE_RANLIB "${CMAKE_CURRENT_LIST_DIR}/zig-ranlib" CACHE FILEPATH "")

get_filename_component(_kextconf_root "${CMAKE_CURRENT_LIST_DIR}/../.." ABSOLUTE)
# Not cached until found, so that setting XNU_HEADERS after a failed
# configure is enough.
if(NOT KEXTCONF_XNU_HEADERS)
  if(DEFINED ENV{XNU_HEADERS})
    set(KEXTCONF_XNU_HEADERS "$ENV{XNU_HEADERS}")
  else()
    get_filename_component(KEXTCONF_XNU_HEADERS "${_kextconf_root}/../shared/xnu" ABSOLUTE)
  endif()
endif()
if(NOT EXISTS "${KEXTCONF_XNU_HEADERS}/user/sys/kern_event.h")
  message(FATAL_ERROR "No XNU headers at ${KEXTCONF_XNU_HEADERS} (user/sys/kern_event.h is missing). "
                      "Set XNU_HEADERS=<dir> (or -DKEXTCONF_XNU_HEADERS=<dir>) to a directory laid out like "
                      "../shared/xnu: user/ and kernel/ from an xnu checkout or Kernel.framework; docs/macos.md.")
endif()
set(KEXTCONF_XNU_HEADERS "${KEXTCONF_XNU_HEADERS}" CACHE PATH
    "XNU headers: user/ (sys/kern_event.h, sys/sys_domain.h, os/log.h) and kernel/ (../shared/xnu/README.md)")

# Only the header trees the programs use, linked from one directory under the
# build tree (created by macos-deps.cmake at the end of project()).
set(KEXTCONF_MACOS_DEPS "${CMAKE_BINARY_DIR}/macos-deps")
set(_flags
  # After zig's own headers: the SDK's copies win where both exist.
  "-idirafter ${KEXTCONF_XNU_HEADERS}/user"
  # The xnu tag's os/log.h uses __osloglike, which sys/cdefs.h defines from
  # the macOS 12 SDK on; zig's macOS 11 cdefs.h predates it.
  "-include ${CMAKE_CURRENT_LIST_DIR}/macos-sdk-compat.h"
  # Boost 1.74's Asio finds std::invoke_result only with MSVC and otherwise
  # uses std::result_of, which libc++ removes in C++20; Boost 1.75+ detects it.
  "-DBOOST_ASIO_HAS_STD_INVOKE_RESULT=1"
  # zig's cc turns on UBSan (trapping) and debug info in a build without -O;
  # Apple's clang does neither. The cross-build is compiled, linked and
  # inspected, never run or debugged here (the presets set no build type, so
  # CMake adds no -g): both off halve each compile (docs/macos.md, "Cost").
  "-fno-sanitize=undefined -g0")
list(JOIN _flags " " _flags)
set(CMAKE_C_FLAGS_INIT "${_flags}")
set(CMAKE_CXX_FLAGS_INIT "${_flags}")

# Find only what macos-deps.cmake provides, never the host's packages.
set(CMAKE_FIND_ROOT_PATH "${KEXTCONF_MACOS_DEPS}")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
set(CMAKE_PROJECT_INCLUDE "${CMAKE_CURRENT_LIST_DIR}/macos-deps.cmake")
# The kext is compiled by scripts/macos-check.sh with clang instead
# (cmake/KextBundleApple.cmake): zig knows no arm64e and no MH_KEXT_BUNDLE.
set(KEXTCONF_ZIG_CROSS ON)
