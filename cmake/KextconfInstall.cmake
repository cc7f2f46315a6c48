# The installed layout, relative to the root of the target volume: install
# with `cmake --install build/dev --prefix /` (and DESTDIR=<staging> to build
# a package payload). The same layout on every host, because the staging tree
# is what the macOS package ships and what the installer tests run against.
# docs/operations.md lists every path with its mode.
set(KEXTCONF_INSTALL_BINDIR "usr/local/bin" CACHE STRING "kextconfctl")
set(KEXTCONF_INSTALL_LIBEXECDIR "usr/local/libexec" CACHE STRING "kextconfd (launchd starts it; not for PATH)")
set(KEXTCONF_INSTALL_KEXTDIR "Library/Extensions" CACHE STRING "kext bundles")
set(KEXTCONF_INSTALL_LAUNCHDDIR "Library/LaunchDaemons" CACHE STRING "the launchd job")
set(KEXTCONF_INSTALL_SUPPORTDIR "Library/Application Support/kextconf" CACHE STRING
    "config.json (the admin's), config.json.default, uninstall.sh")
set(KEXTCONF_INSTALL_STATEDIR "var/db/kextconf" CACHE STRING "kextconfd --state-dir (the last good configuration)")

# Absolute paths on the installed system, compiled into kextconfctl.
set(KEXTCONF_INSTALLED_CONFIG "/${KEXTCONF_INSTALL_SUPPORTDIR}/config.json")
set(KEXTCONF_INSTALLED_KEXT "/${KEXTCONF_INSTALL_KEXTDIR}/KextconfReference.kext")
