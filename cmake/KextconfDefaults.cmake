# The defaults kextconfd and kextconfctl share, chosen per platform here and
# nowhere else, and generated into kextconf/defaults.hpp (target
# kextconf_defaults) for both programs: the state directory, the admin
# socket and who besides root may use it, the configuration file, the managed-preferences directory, the reference kext's bundle id and how to
# start the daemon. Needs KextconfInstall (the installed layout) and
# KEXTCONF_BUNDLE_PREFIX.
set(KEXTCONF_DEFAULT_KEXT "${KEXTCONF_BUNDLE_PREFIX}.reference")
set(KEXTCONF_DEFAULT_KEXT_BUNDLE "${KEXTCONF_INSTALLED_KEXT}")
if(APPLE)
  set(KEXTCONF_DEFAULT_STATE_DIR "/${KEXTCONF_INSTALL_STATEDIR}")
  set(KEXTCONF_DEFAULT_ADMIN_SOCKET "/var/run/kextconfd.sock" CACHE STRING "kextconfd's admin socket")
  # macOS's administrators may set, persist and reload (docs/operations.md).
  set(KEXTCONF_DEFAULT_ADMIN_GROUP "admin" CACHE STRING "kextconfd's default --admin-group")
  set(KEXTCONF_DEFAULT_CONFIG "${KEXTCONF_INSTALLED_CONFIG}")
  # Where macOS writes MDM profiles' payloads (docs/fleet.md).
  set(KEXTCONF_DEFAULT_MANAGED_PREFS_DIR "/Library/Managed Preferences")
  set(KEXTCONF_START_DAEMON_HINT
      "sudo launchctl bootstrap system /${KEXTCONF_INSTALL_LAUNCHDDIR}/${KEXTCONF_BUNDLE_PREFIX}.kextconfd.plist")
else()
  # No service manager job is installed off macOS: the daemon runs in the
  # foreground against kextsim (docs/kextsim.md).
  set(KEXTCONF_DEFAULT_STATE_DIR "/var/lib/kextconf")
  set(KEXTCONF_DEFAULT_ADMIN_SOCKET "/run/kextconfd.sock" CACHE STRING "kextconfd's admin socket")
  # No group on Linux unless the packager names one: root only.
  set(KEXTCONF_DEFAULT_ADMIN_GROUP "" CACHE STRING "kextconfd's default --admin-group (empty: root only)")
  set(KEXTCONF_DEFAULT_CONFIG "/etc/kextconf/config.json")
  # No MDM here: managed preferences only from a directory named by --managed-prefs-dir.
  set(KEXTCONF_DEFAULT_MANAGED_PREFS_DIR "")
  set(KEXTCONF_START_DAEMON_HINT
      "sudo /${KEXTCONF_INSTALL_LIBEXECDIR}/kextconfd --config ${KEXTCONF_DEFAULT_CONFIG} (in the foreground, with kextsim booted: docs/kextsim.md)")
endif()
configure_file("${CMAKE_CURRENT_LIST_DIR}/defaults.hpp.in" "${PROJECT_BINARY_DIR}/generated/kextconf/defaults.hpp" @ONLY)
add_library(kextconf_defaults INTERFACE)
target_include_directories(kextconf_defaults INTERFACE "${PROJECT_BINARY_DIR}/generated")
