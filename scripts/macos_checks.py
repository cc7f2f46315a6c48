#!/usr/bin/env python3
"""The checks of scripts/macos-check.sh that need a parser: plists, the
launchd job's keys, and the kext's undefined symbols against the KPI export
lists. Each subcommand prints one line, "ok: ..." or "FAILED: ..." (with the
details indented below), and exits 1 on failure.

  macos_checks.py plist FILE
  macos_checks.py launchd FILE
  macos_checks.py kext-symbols ARCH INFO_PLIST EXPORTS_DIR MIN_MACOS OBJECT...
"""
import glob
import os
import plistlib
import re
import subprocess
import sys

# The keys launchd.plist(5) documents (macOS 11-15), with the type each takes.
LAUNCHD_KEYS = {
    "Label": str, "Disabled": bool, "UserName": str, "GroupName": str, "inetdCompatibility": dict,
    "LimitLoadToHosts": list, "LimitLoadFromHosts": list, "LimitLoadToSessionType": (str, list),
    "LimitLoadToHardware": dict, "LimitLoadFromHardware": dict, "Program": str, "ProgramArguments": list,
    "EnableGlobbing": bool, "EnableTransactions": bool, "EnablePressuredExit": bool, "OnDemand": bool,
    "ServiceIPC": bool, "KeepAlive": (bool, dict), "RunAtLoad": bool, "RootDirectory": str,
    "WorkingDirectory": str, "EnvironmentVariables": dict, "Umask": (int, str), "TimeOut": int,
    "ExitTimeOut": int, "ThrottleInterval": int, "InitGroups": bool, "WatchPaths": list,
    "QueueDirectories": list, "StartOnMount": bool, "StartInterval": int, "StartCalendarInterval": (dict, list),
    "StandardInPath": str, "StandardOutPath": str, "StandardErrorPath": str, "Debug": bool,
    "WaitForDebugger": bool, "SoftResourceLimits": dict, "HardResourceLimits": dict, "Nice": int,
    "ProcessType": str, "AbandonProcessGroup": bool, "LowPriorityIO": bool, "LowPriorityBackgroundIO": bool,
    "MaterializeDatalessFiles": bool, "LaunchOnlyOnce": bool, "MachServices": dict, "Sockets": dict,
    "LaunchEvents": dict, "SessionCreate": bool, "LegacyTimers": bool, "AssociatedBundleIdentifiers": (str, list),
}
# Defined by the static linker for every image it links (ld64: the image's
# mach header); os_log's macros pass it to _os_log_internal.
LINKER_DEFINED = {"___dso_handle"}
KEEPALIVE_KEYS = {"SuccessfulExit", "NetworkState", "PathState", "OtherJobEnabled", "Crashed", "AfterInitialDemand"}
PROCESS_TYPES = {"Background", "Standard", "Adaptive", "Interactive"}


def report(what, problems):
    if problems:
        print(f"FAILED: {what}")
        for p in problems:
            print(f"    {p}")
        return 1
    print(f"ok: {what}")
    return 0


def load_plist(path, problems):
    try:
        with open(path, "rb") as f:
            return plistlib.load(f)
    except Exception as e:  # plistlib raises several types; all mean "not a plist"
        problems.append(f"{path}: not a valid plist: {e}")
        return None


def check_plist(path):
    problems = []
    load_plist(path, problems)
    return report(f"plistlib reads {path}", problems)


def check_launchd(path):
    problems = []
    job = load_plist(path, problems)
    if isinstance(job, dict):
        for key, value in job.items():
            if key not in LAUNCHD_KEYS:
                problems.append(f"{key}: not a key launchd.plist(5) documents")
            elif not isinstance(value, LAUNCHD_KEYS[key]):
                problems.append(f"{key}: {type(value).__name__} where launchd.plist(5) wants {LAUNCHD_KEYS[key]}")
        for key in ("Label", "ProgramArguments"):
            if key not in job:
                problems.append(f"{key} is missing")
        label = job.get("Label")
        if isinstance(label, str) and os.path.basename(path) != label + ".plist":
            problems.append(f"the file is named {os.path.basename(path)}, launchd expects {label}.plist")
        args = job.get("ProgramArguments", [])
        if not args or not all(isinstance(a, str) for a in args) or not str(args[0]).startswith("/"):
            problems.append("ProgramArguments must be strings, the first an absolute path")
        keep = job.get("KeepAlive")
        if isinstance(keep, dict):
            problems += [f"KeepAlive.{k}: not documented" for k in keep if k not in KEEPALIVE_KEYS]
        if "ProcessType" in job and job["ProcessType"] not in PROCESS_TYPES:
            problems.append(f"ProcessType {job['ProcessType']!r} is not one of {sorted(PROCESS_TYPES)}")
    elif job is not None:
        problems.append("the top level is not a dictionary")
    return report(f"launchd.plist(5) keys of {path}", problems)


def kext_version(text):
    """A kext version (1.2.3, 1.2.3d4, 1.2.3b1, 1.2.3fc2) as a sortable tuple, or None."""
    m = re.fullmatch(r"(\d{1,4})(?:\.(\d{1,2}))?(?:\.(\d{1,2}))?(?:(d|a|b|fc)(\d{1,3}))?", text)
    if not m:
        return None
    stage = {"d": 0, "a": 1, "b": 2, "fc": 3, None: 4}[m.group(4)]
    return (int(m.group(1)), int(m.group(2) or 0), int(m.group(3) or 0), stage, int(m.group(5) or 0))


def nm(args, obj):
    out = subprocess.run(["llvm-nm", *args, obj], check=True, capture_output=True, text=True).stdout
    return {line.split()[-1] for line in out.splitlines() if line.strip()}


def read_exports(exports_dir, name, arch):
    """The symbols <name> exports on arch: the generic list plus the arch's own."""
    archdir = "arm64" if arch.startswith("arm64") else arch
    symbols = set()
    for path in (f"{name}.exports", f"{name}.{archdir}.exports", f"{name}.{archdir}.MacOSX.exports"):
        full = os.path.join(exports_dir, path)
        if os.path.exists(full):
            with open(full) as f:
                symbols |= {ln.split(":")[0].strip() for ln in f if ln.strip() and not ln.startswith("#")}
    return symbols


def check_kext_symbols(arch, info_plist, exports_dir, min_macos, objects):
    problems = []
    info = load_plist(info_plist, problems) or {}
    libraries = info.get("OSBundleLibraries", {})
    if not libraries:
        problems.append(f"{info_plist}: no OSBundleLibraries")
    # The bundle id of each KPI library -> (file stem, its compatible version).
    kpis = {}
    for path in glob.glob(os.path.join(exports_dir, "*.Info.plist")):
        kpi = load_plist(path, problems) or {}
        stem = os.path.basename(path)[: -len(".Info.plist")]
        kpis[kpi.get("CFBundleIdentifier")] = (stem, kpi.get("OSBundleCompatibleVersion", ""))
    # macOS 11 runs Darwin 20: a kext asking for more does not load there.
    darwin = int(min_macos.split(".")[0]) + 9
    exported = set()
    for lib, wanted in libraries.items():
        if lib not in kpis:
            problems.append(f"OSBundleLibraries names {lib}, which {exports_dir} does not have")
            continue
        stem, compatible = kpis[lib]
        v, lo = kext_version(str(wanted)), kext_version(compatible)
        if v is None or lo is None:
            problems.append(f"{lib}: version {wanted!r} (library compatible from {compatible!r}) is not a kext version")
        elif not lo <= v <= (darwin, 99, 99, 4, 0):
            problems.append(f"{lib} {wanted}: the library offers {compatible} up to the kernel's version, "
                            f"and macOS {min_macos} runs Darwin {darwin}")
        exported |= read_exports(exports_dir, stem, arch)
    undefined, defined = set(), set()
    for obj in objects:
        undefined |= nm(["--undefined-only", "--format=just-symbols"], obj)
        defined |= nm(["--defined-only", "--format=just-symbols"], obj)
    missing = sorted(undefined - defined - exported - LINKER_DEFINED)
    problems += [f"{sym}: undefined and exported by none of {', '.join(libraries)}" for sym in missing]
    imported = len(undefined - defined - LINKER_DEFINED)
    return report(f"kext symbols {arch}: {imported} imported, each exported by a library in "
                  f"OSBundleLibraries ({', '.join(f'{k} {v}' for k, v in libraries.items())})", problems)


def main(argv):
    if len(argv) == 3 and argv[1] == "plist":
        return check_plist(argv[2])
    if len(argv) == 3 and argv[1] == "launchd":
        return check_launchd(argv[2])
    if len(argv) >= 7 and argv[1] == "kext-symbols":
        return check_kext_symbols(argv[2], argv[3], argv[4], argv[5], argv[6:])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
