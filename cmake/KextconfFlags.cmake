# Warning, sanitizer and Boost.Asio settings shared by every target.

add_library(kextconf_warnings INTERFACE)
target_compile_options(kextconf_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wno-sign-conversion
  $<$<BOOL:${KEXTCONF_WERROR}>:-Werror>
  # fmt 10+ (Homebrew) dropped what fmt 9 (Debian) only deprecates.
  -Werror=deprecated-declarations)

# Fuzz builds instrument everything for coverage (kext and kernel library
# included); only the fuzz targets link libFuzzer itself.
if(KEXTCONF_FUZZ)
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()

if(KEXTCONF_SANITIZE)
  add_compile_options(-fsanitize=${KEXTCONF_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${KEXTCONF_SANITIZE})
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
include(KernelDomain)
