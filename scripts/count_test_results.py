#!/usr/bin/env python3
"""Counts test cases from a bazel test run, or sums such counts.

--bazel-log LOG --testlogs DIR [--bazel-exit N]: reads the summary lines of LOG ("//pkg:target PASSED
in 1.2s") and each target's JUnit XML under DIR; prints "passed failed". A target
that failed without a failing case in its XML (crash, timeout, build failure)
counts as one failure.

--junit XML [--exit N]: counts the cases of a JUnit report (pytest's); a run
that failed (N != 0) without a failing case counts as one failure.

--go-json LOG [--exit N]: counts the tests of `go test -json` output likewise.

--sum FILE...: adds "passed failed" lines, prints "N passed, N failed", and exits 1
if anything failed.
"""

import argparse
import glob
import json
import os
import re
import sys
import xml.etree.ElementTree as ET

SUMMARY = re.compile(
    r"^//(?P<package>[^:\s]*):(?P<name>\S+)\s+(?:\(cached\)\s+)?"
    r"(?P<status>PASSED|FAILED TO BUILD|FAILED|TIMEOUT|NO STATUS|FLAKY|INCOMPLETE)")


def count_xml(path):
    passed = failed = 0
    root = ET.parse(path).getroot()
    for case in root.iter("testcase"):
        if case.get("status") == "notrun":
            continue
        if case.find("skipped") is not None:
            # Neither passed nor failed; the suite's own output says why.
            print(f"skipped: {case.get('classname')}.{case.get('name')}", file=sys.stderr)
            continue
        if case.find("failure") is not None or case.find("error") is not None:
            failed += 1
        else:
            passed += 1
    return passed, failed


def target_xmls(folder):
    """A target's test.xml, or one per shard (shard_I_of_N/test.xml) for a
    sharded test: those of the newest shard count, should an older run with
    another count have left its folders."""
    shards = glob.glob(os.path.join(folder, "shard_*_of_*", "test.xml"))
    if shards:
        newest = max(shards, key=os.path.getmtime)
        count = re.search(r"shard_\d+_of_(\d+)", newest).group(1)
        return sorted(x for x in shards if x.split(os.sep)[-2].endswith(f"_of_{count}"))
    xml = os.path.join(folder, "test.xml")
    return [xml] if os.path.exists(xml) else []


def count_bazel(log_path, testlogs):
    passed = failed = 0
    with open(log_path, encoding="utf-8", errors="replace") as log:
        for line in log:
            match = SUMMARY.match(line.strip())
            if not match:
                continue
            p = f = 0
            if match["status"] not in ("FAILED TO BUILD", "NO STATUS"):
                for xml in target_xmls(os.path.join(testlogs, match["package"], match["name"])):
                    try:
                        xml_passed, xml_failed = count_xml(xml)
                    except ET.ParseError:
                        continue
                    p += xml_passed
                    f += xml_failed
            if match["status"] not in ("PASSED", "FLAKY") and f == 0:
                f = 1
                print(f"failed: //{match['package']}:{match['name']} {match['status']}",
                      file=sys.stderr)
            passed += p
            failed += f
    return passed, failed


def count_go(path):
    """Passed and failed tests (subtests included) in `go test -json` output."""
    passed = failed = 0
    with open(path, encoding="utf-8", errors="replace") as log:
        for line in log:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if not event.get("Test"):
                continue
            if event.get("Action") == "pass":
                passed += 1
            elif event.get("Action") == "fail":
                failed += 1
    return passed, failed


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bazel-log")
    parser.add_argument("--testlogs")
    parser.add_argument("--bazel-exit", type=int, default=0)
    parser.add_argument("--sum", nargs="*")
    parser.add_argument("--junit")
    parser.add_argument("--go-json")
    parser.add_argument("--exit", type=int, default=0)
    args = parser.parse_args()
    if args.junit is not None or args.go_json is not None:
        try:
            passed, failed = (count_xml(args.junit) if args.junit is not None
                              else count_go(args.go_json))
        except (OSError, ET.ParseError):
            passed, failed = 0, 0
        if args.exit != 0 and failed == 0:
            print(f"failed: the suite exited with {args.exit}", file=sys.stderr)
            failed = 1
        print(passed, failed)
        return 0
    if args.sum is not None:
        passed = failed = 0
        for path in args.sum:
            with open(path) as counts:
                p, f = counts.read().split()
                passed += int(p)
                failed += int(f)
        print(f"{passed} passed, {failed} failed")
        return 1 if failed or passed == 0 else 0
    passed, failed = count_bazel(args.bazel_log, args.testlogs)
    # A build that broke before any test ran still failed.
    if args.bazel_exit not in (0, 4) and failed == 0:
        print(f"failed: bazel exited with {args.bazel_exit}", file=sys.stderr)
        failed = 1
    print(passed, failed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
