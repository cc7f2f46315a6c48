# The kernel compilation domain: kext sources and kextsim's KPI layer see only
# the XNU-shaped headers in kextsim/xnu (plus the compiler's freestanding
# stddef.h/stdint.h/stdarg.h), never the host's libc headers. Freestanding
# C++17: no exceptions, no RTTI, no standard library.

# OSBundleLibraries of the kexts: com.apple.kpi.{bsd,libkern,mach} at the
# kernel version of the oldest macOS supported (Darwin 20 = macOS 11). Every
# symbol the kext imports is exported by these three (scripts/macos-check.sh).
set(KEXTCONF_KPI_VERSION "20.0.0" CACHE STRING "Version of com.apple.kpi.* the kexts require")

# kextconf_add_kext's arguments, the same on every platform: K_NAME,
# K_PLIST (by default the Info.plist.in beside the caller's CMakeLists.txt),
# K_SOURCES and K_LIBS.
macro(kextconf_kext_arguments)
  cmake_parse_arguments(K "" "NAME;PLIST" "SOURCES;LIBS" ${ARGN})
  if(NOT K_PLIST)
    set(K_PLIST "${CMAKE_CURRENT_SOURCE_DIR}/Info.plist.in")
  endif()
endmacro()

if(APPLE)
  # Kernel.framework and a real MH_KEXT_BUNDLE instead of kextsim's headers.
  include(KextBundleApple)
  return()
endif()

set(KEXTSIM_XNU_INCLUDE "${PROJECT_SOURCE_DIR}/kextsim/xnu")
execute_process(COMMAND ${CMAKE_CXX_COMPILER} -print-file-name=include
                OUTPUT_VARIABLE KEXTCONF_COMPILER_INCLUDE OUTPUT_STRIP_TRAILING_WHITESPACE)

function(kextconf_kernel_domain target)
  set_target_properties(${target} PROPERTIES CXX_STANDARD 17 CXX_EXTENSIONS OFF POSITION_INDEPENDENT_CODE ON)
  target_compile_options(${target} PRIVATE
    -nostdinc -nostdinc++ -ffreestanding -fno-exceptions -fno-rtti
    "SHELL:-isystem ${KEXTCONF_COMPILER_INCLUDE}" "SHELL:-isystem ${KEXTSIM_XNU_INCLUDE}"
    -Wall -Wextra -Wshadow $<$<BOOL:${KEXTCONF_WERROR}>:-Werror>)
  target_compile_definitions(${target} PRIVATE KERNEL=1 KEXTSIM=1)
endfunction()

# kextconf_add_kext(<target> NAME <Name> [PLIST <Info.plist.in>] SOURCES <...> [LIBS <...>])
# Builds <build>/kexts/<Name>.kext: Contents/Info.plist and
# Contents/MacOS/<Name>, a shared object kextsim dlopens (on macOS the same
# sources build as a Mach-O kext against Kernel.framework; see docs/). The
# sources see the project's version as KEXTCONF_KEXT_VERSION (a string).
function(kextconf_add_kext target)
  kextconf_kext_arguments(${ARGN})
  set(bundle "${PROJECT_BINARY_DIR}/kexts/${K_NAME}.kext")
  add_library(${target} MODULE ${K_SOURCES})
  kextconf_kernel_domain(${target})
  target_link_libraries(${target} PRIVATE ${K_LIBS})
  target_compile_definitions(${target} PRIVATE KEXTCONF_KEXT_VERSION="${PROJECT_VERSION}")
  set_target_properties(${target} PROPERTIES
    PREFIX "" SUFFIX "" OUTPUT_NAME "${K_NAME}"
    LIBRARY_OUTPUT_DIRECTORY "${bundle}/Contents/MacOS"
    CXX_VISIBILITY_PRESET hidden)
  # Undefined KPI symbols resolve against the kextsim host at dlopen time.
  target_link_options(${target} PRIVATE -nostdlib)
  set(KEXT_EXECUTABLE "${K_NAME}")
  set(KEXT_VERSION "${PROJECT_VERSION}")
  set(KEXT_KPI_VERSION "${KEXTCONF_KPI_VERSION}")
  configure_file("${K_PLIST}" "${bundle}/Contents/Info.plist" @ONLY)
  set_property(TARGET ${target} PROPERTY KEXT_BUNDLE_DIR "${bundle}")
endfunction()
