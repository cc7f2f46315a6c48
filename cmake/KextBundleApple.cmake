# The kernel domain and kext bundles on macOS: the same sources as for kextsim,
# compiled against Kernel.framework with -mkernel and linked as a
# MH_KEXT_BUNDLE for x86_64 and arm64e. Included by KernelDomain.cmake when
# APPLE; defines the same two functions with the same arguments, so kext/ and
# any adopter's CMakeLists.txt stay platform-free.
#
# Needs Xcode (or its command line tools) with the macOS SDK; `cmake -G Xcode`
# produces a kernel-extension product per kext.

set(KEXTCONF_KEXT_ARCHS "x86_64;arm64e" CACHE STRING "Architectures of the kext binaries")
set(KEXTCONF_KEXT_MIN_MACOS "11.0" CACHE STRING "Oldest macOS the kext loads on")

# The kernel headers: an xnu header set laid out like ../shared/xnu/kernel
# (KEXTCONF_XNU_HEADERS, set by the macOS cross-build's toolchain or by hand),
# or else Kernel.framework from the SDK.
if(KEXTCONF_XNU_HEADERS)
  set(_xnu "${KEXTCONF_XNU_HEADERS}/kernel")
  if(NOT EXISTS "${_xnu}/bsd/sys/kern_control.h")
    message(FATAL_ERROR "KEXTCONF_XNU_HEADERS=${KEXTCONF_XNU_HEADERS} has no kernel/bsd/sys/kern_control.h; "
                        "see ../shared/xnu/README.md for the layout.")
  endif()
  # stub/ holds the TargetConditionals.h that Kernel.framework ships and the
  # xnu tree lacks.
  set(KEXTCONF_KERNEL_INCLUDE_DIRS "${_xnu}/bsd" "${_xnu}/osfmk" "${_xnu}/libkern" "${_xnu}/osfmk/libsa"
                                   "${_xnu}/EXTERNAL_HEADERS" "${_xnu}/stub")
  # Kernel.framework's headers are generated with this; the xnu tree's need it
  # (without it libkern/OSMalloc.h is empty).
  set(KEXTCONF_KERNEL_HEADER_DEFINITIONS XNU_PLATFORM_MacOSX=1)
else()
  if(NOT CMAKE_OSX_SYSROOT)
    execute_process(COMMAND xcrun --sdk macosx --show-sdk-path OUTPUT_VARIABLE CMAKE_OSX_SYSROOT
                    OUTPUT_STRIP_TRAILING_WHITESPACE)
  endif()
  set(KEXTCONF_KERNEL_FRAMEWORK "${CMAKE_OSX_SYSROOT}/System/Library/Frameworks/Kernel.framework")
  if(NOT EXISTS "${KEXTCONF_KERNEL_FRAMEWORK}/Headers/sys/kern_control.h")
    message(FATAL_ERROR "Kernel.framework not found at ${KEXTCONF_KERNEL_FRAMEWORK}: install Xcode or the "
                        "Command Line Tools (xcode-select --install), or set CMAKE_OSX_SYSROOT to a macOS SDK.")
  endif()
  set(KEXTCONF_KERNEL_INCLUDE_DIRS "${KEXTCONF_KERNEL_FRAMEWORK}/Headers")
  set(KEXTCONF_KERNEL_HEADER_DEFINITIONS "")
endif()

# -isystem<dir>, one word each, so the flags file keeps one argument a line.
list(TRANSFORM KEXTCONF_KERNEL_INCLUDE_DIRS PREPEND "-isystem" OUTPUT_VARIABLE _kernel_isystem)

# zig (the macOS cross-build) cannot compile for arm64e nor link a
# MH_KEXT_BUNDLE: there the kernel-domain targets stay out of the default
# build and scripts/macos-check.sh compiles their sources with clang, using
# the flags this file writes to <build>/kernel-domain/ (below).

# Everything a kernel-domain target is compiled with. The same lists go to
# <build>/kernel-domain/<target>.flags (one argument a line) and .sources
# (the target's source directory, then its sources as given), from the
# target's own properties at generation, so a compiler outside CMake sees
# exactly what CMake would pass.
function(kextconf_kernel_domain target)
  set_target_properties(${target} PROPERTIES CXX_STANDARD 17 CXX_EXTENSIONS OFF
                                             OSX_ARCHITECTURES "${KEXTCONF_KEXT_ARCHS}"
                                             XCODE_ATTRIBUTE_ARCHS "${KEXTCONF_KEXT_ARCHS}"
                                             XCODE_ATTRIBUTE_MACOSX_DEPLOYMENT_TARGET "${KEXTCONF_KEXT_MIN_MACOS}")
  target_compile_options(${target} PRIVATE
    -mkernel -nostdinc -nostdinc++ -fno-exceptions -fno-rtti -fno-builtin -fno-common
    -mmacosx-version-min=${KEXTCONF_KEXT_MIN_MACOS} ${_kernel_isystem}
    -Wall -Wextra -Wshadow $<$<BOOL:${KEXTCONF_WERROR}>:-Werror>)
  target_compile_definitions(${target} PRIVATE KERNEL=1 APPLE=1 NeXT=1 ${KEXTCONF_KERNEL_HEADER_DEFINITIONS})
  target_link_options(${target} PRIVATE -mmacosx-version-min=${KEXTCONF_KEXT_MIN_MACOS})
  if(KEXTCONF_ZIG_CROSS)
    set_target_properties(${target} PROPERTIES EXCLUDE_FROM_ALL ON)
  endif()

  set(p "$<TARGET_PROPERTY:${target},")
  set(out "${PROJECT_BINARY_DIR}/kernel-domain/${target}")
  file(GENERATE OUTPUT "${out}.flags" CONTENT
"-std=c++${p}CXX_STANDARD>
$<JOIN:${p}COMPILE_OPTIONS>,\n>
-D$<JOIN:${p}COMPILE_DEFINITIONS>,\n-D>
-I$<JOIN:${p}INCLUDE_DIRECTORIES>,\n-I>
")
  file(GENERATE OUTPUT "${out}.sources" CONTENT "${CMAKE_CURRENT_SOURCE_DIR}\n$<JOIN:${p}SOURCES>,\n>\n")
endfunction()

# kextconf_add_kext(<target> NAME <Name> [PLIST <Info.plist.in>] SOURCES <...> [LIBS <...>])
# Builds <build>/kexts/<Name>.kext with Contents/Info.plist (configured from
# PLIST, by default the caller's Info.plist.in: @KEXT_EXECUTABLE@,
# @KEXT_VERSION@, @KEXT_KPI_VERSION@) and Contents/MacOS/<Name>, a universal
# MH_KEXT_BUNDLE. The sources see the project's version as
# KEXTCONF_KEXT_VERSION (a string).
function(kextconf_add_kext target)
  kextconf_kext_arguments(${ARGN})
  set(KEXT_EXECUTABLE "${K_NAME}")
  set(KEXT_VERSION "${PROJECT_VERSION}")
  set(KEXT_KPI_VERSION "${KEXTCONF_KPI_VERSION}")
  set(plist "${CMAKE_CURRENT_BINARY_DIR}/${K_NAME}.Info.plist")
  configure_file("${K_PLIST}" "${plist}" @ONLY)

  add_library(${target} MODULE ${K_SOURCES})
  kextconf_kernel_domain(${target})
  target_link_libraries(${target} PRIVATE ${K_LIBS})
  target_compile_definitions(${target} PRIVATE KEXTCONF_KEXT_VERSION="${PROJECT_VERSION}")
  # kmod_info (KMOD_EXPLICIT_DECL) names the start and stop routines, so
  # libkmod's _start/_realmain glue is not needed; -lkmod stays on the line
  # for kexts that use KMOD_DECL. libcc_kext supplies the compiler runtime.
  target_link_options(${target} PRIVATE -nostdlib "SHELL:-Xlinker -kext" "SHELL:-Xlinker -export_dynamic"
                                        -lkmod -lcc_kext)
  set_target_properties(${target} PROPERTIES
    BUNDLE TRUE BUNDLE_EXTENSION kext
    OUTPUT_NAME "${K_NAME}"
    MACOSX_BUNDLE_INFO_PLIST "${plist}"
    LIBRARY_OUTPUT_DIRECTORY "${PROJECT_BINARY_DIR}/kexts"
    XCODE_PRODUCT_TYPE com.apple.product-type.kernel-extension
    XCODE_ATTRIBUTE_WRAPPER_EXTENSION kext
    XCODE_ATTRIBUTE_INFOPLIST_FILE "${plist}"
    # Our sources declare kmod_info themselves (KMOD_EXPLICIT_DECL).
    XCODE_ATTRIBUTE_GENERATE_KERNEL_MODULE_INFO_FILE NO
    XCODE_ATTRIBUTE_MODULE_VERSION "${PROJECT_VERSION}"
    XCODE_ATTRIBUTE_CODE_SIGN_STYLE Manual)
  set_property(TARGET ${target} PROPERTY KEXT_BUNDLE_DIR "${PROJECT_BINARY_DIR}/kexts/${K_NAME}.kext")
  # For scripts/macos-check.sh: the generated Info.plist, then the
  # kernel-domain targets whose objects make up the kext binary.
  file(GENERATE OUTPUT "${PROJECT_BINARY_DIR}/kernel-domain/${target}.kext"
       CONTENT "${plist}\n$<JOIN:${target};${K_LIBS},\n>\n")
endfunction()
