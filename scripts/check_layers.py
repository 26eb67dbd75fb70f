#!/usr/bin/env python3
"""The include check: every #include between the project's rooms follows the
table in docs/architecture.md, and no two rooms include each other (directly
or around a cycle). Exit 1, naming each forbidden include, when one does.

Usage: scripts/check_layers.py [--repo DIR]
"""
import argparse
import pathlib
import re
import sys

TABLE_START = "<!-- layers: read by scripts/check_layers.py -->"
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
TEST_FILE = re.compile(r"(_test|_fuzzer|_bench)\.cc$|/fake_\w+\.h$")


def read_table(doc: pathlib.Path) -> dict:
    """Room -> the rooms (or single headers) it may include."""
    text = doc.read_text()
    if TABLE_START not in text:
        sys.exit(f"{doc}: no table after {TABLE_START!r}")
    rules = {}
    for line in text.split(TABLE_START, 1)[1].splitlines()[3:]:
        if not line.startswith("|"):
            break
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        room = cells[0].strip("`").rstrip("/")
        allowed = re.findall(r"`([^`]+)`", cells[1])
        rules[room] = [entry.rstrip("/") for entry in allowed]
    return rules


def room_of(path: str, rooms) -> str:
    """The longest room that is a prefix of `path` ("client/cpp", "call")."""
    best = ""
    for room in rooms:
        if (path == room or path.startswith(room + "/")) and len(room) > len(best):
            best = room
    return best


def allowed(target: str, target_room: str, rules: list) -> bool:
    return any(target_room == entry or target == entry for entry in rules)


def find_cycles(edges: dict) -> list:
    cycles, state = [], {}

    def visit(node, path):
        state[node] = "open"
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == "open":
                cycles.append(path[path.index(nxt):] + [nxt] if nxt in path else [node, nxt])
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    return cycles


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repo", default=pathlib.Path(__file__).resolve().parent.parent)
    repo = pathlib.Path(parser.parse_args().repo)
    rules = read_table(repo / "docs/architecture.md")
    errors, edges, checked = [], {}, 0
    for path in sorted(repo.rglob("*")):
        rel = path.relative_to(repo).as_posix()
        if path.suffix not in (".h", ".cc") or rel.startswith(("bazel-", "third_party/")):
            continue
        room = room_of(rel, rules)
        if not room:
            continue
        checked += 1
        is_test = bool(TEST_FILE.search(rel))
        for target in INCLUDE.findall(path.read_text(errors="replace")):
            target_room = room_of(target, rules)
            if not target_room or target_room == room:
                continue
            # Tests may also use the project's test fixtures.
            if is_test and target_room == "tests":
                continue
            edges.setdefault(room, set()).add(target_room)
            if not allowed(target, target_room, rules[room]):
                errors.append(f"{rel}: includes {target}, but {room}/ may include only "
                              f"{', '.join(rules[room]) or 'nothing of the project'}")
    for cycle in find_cycles(edges):
        errors.append("package cycle: " + " -> ".join(cycle))
    for error in errors:
        print(error)
    print(f"check_layers: {checked} files, {len(errors)} forbidden")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
