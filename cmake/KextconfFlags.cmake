# Warning, sanitizer and Boost.Asio settings shared by every target.

add_library(kextconf_warnings INTERFACE)
target_compile_options(kextconf_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wno-sign-conversion
  $<$<BOOL:${KEXTCONF_WERROR}>:-Werror>
  # fmt 10+ (Homebrew) dropped what fmt 9 (Debian) only deprecates.
  -Werror=deprecated-declarations)

# valgrind 3.19 (Debian 12; bench/'s callgrind budgets) cannot read the
# DWARF 5 that clang 14 writes by default.
if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang" AND NOT CMAKE_CROSSCOMPILING)
  add_compile_options(-gdwarf-4)
endif()

# Fuzz builds instrument everything for coverage (kext and kernel library
# included); only the fuzz targets link libFuzzer itself.
if(KEXTCONF_FUZZ)
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()

if(KEXTCONF_SANITIZE)
  add_compile_options(-fsanitize=${KEXTCONF_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${KEXTCONF_SANITIZE})
  if(KEXTCONF_SANITIZE MATCHES "undefined" AND CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    # clang 14 cannot emit UBSan's function-type check beside ASan for Asio's
    # coroutines ("Cannot represent a difference across sections",
    # daemon/kextconfd/daemon.cpp). GCC has no such check either.
    add_compile_options(-fno-sanitize=function)
  endif()
  if(KEXTCONF_SANITIZE MATCHES "thread" AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    # GCC warns that TSan does not model std::atomic_thread_fence (Asio uses
    # fences in its scheduler); the report is a limitation, not a finding.
    add_compile_options(-Wno-tsan)
  endif()
endif()

# Boost 1.74 Asio on Debian 12: awaitable.hpp uses std::exchange without
# including <utility> (GCC 12), and clang 14 with libstdc++ needs the
# coroutine support switched on by hand. BOOST_ASIO_NO_DEPRECATED keeps us off
# the APIs that Boost 1.87 (Homebrew) removed.
add_library(kextconf_asio INTERFACE)
target_link_libraries(kextconf_asio INTERFACE Boost::headers Threads::Threads)
target_compile_definitions(kextconf_asio INTERFACE BOOST_ASIO_NO_DEPRECATED)
target_compile_options(kextconf_asio INTERFACE "SHELL:-include utility")
if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  target_compile_definitions(kextconf_asio INTERFACE BOOST_ASIO_HAS_CO_AWAIT=1 BOOST_ASIO_HAS_STD_COROUTINE=1)
endif()

# Precompiled headers: the third-party headers every translation unit of a
# target parses again (nlohmann/json, Asio, spdlog, CLI11, GoogleTest, Qt) are
# parsed once per target. With clang (the Linux presets), CMake also has the
# PCH instantiate their templates once (-fpch-instantiate-templates); a
# ctl/ or daemon/ file then compiles in about a third of the time
# (docs/testing.md, "Where the time goes"). -fno-pch-timestamp lets ccache
# cache what uses a PCH (scripts/test.sh sets the sloppiness it needs);
# within one clone only, since a PCH records the clone's paths.
# zig has no C++ PCH, so the macOS cross-build goes without (it is a unity
# build instead: CMakePresets.json).
option(KEXTCONF_PCH "Precompile the third-party headers of each target" ON)
if(KEXTCONF_PCH AND CMAKE_CROSSCOMPILING)
  set(KEXTCONF_PCH OFF)
endif()
if(KEXTCONF_PCH AND CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  add_compile_options("$<$<COMPILE_LANGUAGE:CXX>:SHELL:-Xclang -fno-pch-timestamp>")
endif()
# kextconf_precompile(TARGET <header>...): the headers precompiled for TARGET.
set(KEXTCONF_PCH_JSON <nlohmann/json.hpp> <string> <vector> <map> <optional> <string_view> <functional>)
set(KEXTCONF_PCH_ASIO <utility> <boost/asio/awaitable.hpp> <boost/asio/co_spawn.hpp> <boost/asio/detached.hpp>
                      <boost/asio/io_context.hpp> <boost/asio/steady_timer.hpp> <boost/asio/signal_set.hpp>
                      <boost/asio/posix/stream_descriptor.hpp> <boost/asio/local/stream_protocol.hpp>
                      <boost/asio/use_awaitable.hpp> <boost/asio/redirect_error.hpp>)
set(KEXTCONF_PCH_LOG <spdlog/spdlog.h>)
set(KEXTCONF_PCH_CLI <CLI/CLI.hpp>)
set(KEXTCONF_PCH_GTEST <gtest/gtest.h>)
function(kextconf_precompile target)
  if(KEXTCONF_PCH)
    target_precompile_headers(${target} PRIVATE ${ARGN})
  endif()
endfunction()

# kextconf_static_runtime(TARGET [USES_LOG]): libstdc++ and libgcc linked into
# TARGET on Linux, by GCC or clang. A process that is started often pays for
# dynamic linking every time: binding libstdc++'s symbols was most of a
# `kextconfctl get`'s instructions before main, and a good part of
# kextconfd's start (docs/performance.md, benchmarks 2 and 9). macOS's libc++
# lives in the shared cache; a sanitizer's runtime replaces operator new, so
# those builds keep the shared library. A program that logs (USES_LOG) only
# when spdlog and fmt are compiled in (KEXTCONF_LOG_COMPILED_IN): their shared
# objects would load libstdc++ beside the linked-in copy.
function(kextconf_static_runtime target)
  cmake_parse_arguments(arg "USES_LOG" "" "" ${ARGN})
  if(arg_USES_LOG AND NOT KEXTCONF_LOG_COMPILED_IN)
    return()
  endif()
  if(CMAKE_CXX_COMPILER_ID MATCHES "^(GNU|Clang)$" AND NOT APPLE AND NOT KEXTCONF_SANITIZE)
    target_link_options(${target} PRIVATE -static-libstdc++ -static-libgcc)
  endif()
endfunction()

include(KernelDomain)
