#!/usr/bin/python3
"""Runs every test suite and prints the totals as the last line:
`N passed, N failed, N skipped`."""
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, "build")


def junit_counts(path):
    """(passed, failed, skipped) from a JUnit XML file."""
    if not os.path.exists(path):
        return 0, 1, 0
    tree = ET.parse(path)
    passed = failed = skipped = 0
    for case in tree.iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            failed += 1
        elif case.find("skipped") is not None:
            skipped += 1
        else:
            passed += 1
    return passed, failed, skipped


def run_suite(name, cmd, xml):
    print(f"=== {name}: {' '.join(cmd)}", flush=True)
    rc = subprocess.run(cmd, cwd=ROOT).returncode
    counts = junit_counts(xml)
    if rc != 0 and counts[1] == 0:
        counts = (counts[0], counts[1] + 1, counts[2])  # crashed outside a test
    print(f"=== {name}: {counts[0]} passed, {counts[1]} failed, {counts[2]} skipped", flush=True)
    return counts


def format_suite():
    """Every C++ file as clang-format (.clang-format at the root) lays it
    out: one case per file, failed when formatting would change it."""
    print("=== format: clang-format --dry-run -Werror", flush=True)
    files = subprocess.run(["git", "ls-files", "*.cc", "*.h"], cwd=ROOT, capture_output=True,
                           text=True).stdout.split()
    if not files:  # not a git checkout (an exported tree): nothing to check against
        print("=== format: 0 passed, 0 failed, 1 skipped", flush=True)
        return 0, 0, 1
    failed = [f for f in files if subprocess.run(
        ["clang-format", "--dry-run", "-Werror", f], cwd=ROOT, capture_output=True).returncode != 0]
    for f in failed:
        print(f"  not formatted: {f} (run: clang-format -i {f})")
    counts = (len(files) - len(failed), len(failed), 0)
    print(f"=== format: {counts[0]} passed, {counts[1]} failed, {counts[2]} skipped", flush=True)
    return counts


def main():
    out = tempfile.mkdtemp(prefix="berth-results-")
    suites = [format_suite()]
    unit_xml = os.path.join(out, "unit.xml")
    suites.append(run_suite("unit", [os.path.join(BUILD, "tests", "unit", "unit-tests"),
                                     "--reporter", "junit", "--out", unit_xml], unit_xml))
    integ_xml = os.path.join(out, "integration.xml")
    suites.append(run_suite("integration", ["/usr/bin/python3", "-m", "pytest", "-q", "-p",
                                            "no:cacheprovider", "--junitxml", integ_xml,
                                            os.path.join(ROOT, "tests", "integration")]
                            + sys.argv[1:], integ_xml))
    # cgroup v2 for real: Debian's kernel under qemu (this host binds every
    # controller to v1). A missing qemu or kernel is a failure, not a skip.
    vm_xml = os.path.join(out, "vm.xml")
    vm_berth = os.environ.get("BERTH", os.path.join(BUILD, "runtime", "berth"))
    suites.append(run_suite("vm", ["env", f"BERTH={vm_berth}",
                                   os.path.join(ROOT, "tests", "vm", "run-cgroup-v2.sh"), vm_xml],
                            vm_xml))
    # The systemd cgroup driver: a Debian 12 guest booted with systemd as pid 1
    # (its image made once by debootstrap and cached beside the build).
    sd_xml = os.path.join(out, "vm-systemd.xml")
    suites.append(run_suite("vm-systemd", ["env", f"BERTH={vm_berth}",
                                           os.path.join(ROOT, "tests", "vm", "run-systemd.sh"),
                                           sd_xml], sd_xml))
    passed = sum(s[0] for s in suites)
    failed = sum(s[1] for s in suites)
    skipped = sum(s[2] for s in suites)
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
