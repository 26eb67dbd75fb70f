#!/usr/bin/env python3
"""Where Voxgate's time goes at 2,000 Chat calls a second over gRPC (the case
whose p99 misses 1 ms): `perf record -g` (Debian's linux-perf, software clock:
this machine has no hardware counters) on the gateway pinned to core 0 while
ghz offers the load from core 1, then a flame graph drawn from `perf script`'s
stacks (folded here, drawn with matplotlib: no FlameGraph scripts are
packaged for Debian) into bench/peers/grpc_flame.png, and the flat top of the
profile on stdout.

    bazel build -c opt //gateway:voxgate && python3 bench/peers/flame.py
"""

import collections
import pathlib
import subprocess
import sys
import tempfile

import run as bench

HERE = pathlib.Path(__file__).resolve().parent


def folded(perf_data: pathlib.Path) -> collections.Counter:
    """Stacks as "root;...;leaf" -> samples (perf script's output, folded)."""
    script = subprocess.run(["perf", "script", "-i", str(perf_data), "-F", "comm,ip,sym"],
                            capture_output=True, text=True).stdout
    stacks: collections.Counter = collections.Counter()
    frames, comm = [], ""
    for line in script.splitlines() + [""]:
        if not line.strip():
            if frames:
                # Root first; runs of one frame (unwinding that lost its way
                # shows as a tower of "[unknown]") collapse into one, and
                # stacks are cut at 28 frames so the picture stays legible.
                path = [comm]
                for frame in reversed(frames):
                    if frame != path[-1]:
                        path.append(frame)
                stacks[";".join(path[:28])] += 1
            frames, comm = [], ""
        elif not line.startswith((" ", "\t")):
            comm = line.split()[0]
        else:
            parts = line.split(None, 1)
            symbol = parts[1] if len(parts) > 1 else "?"
            symbol = symbol.split("(")[0].split("+0x")[0].strip() or "?"
            frames.append(symbol[:60])
    return stacks


def draw(stacks: collections.Counter, out: pathlib.Path, title: str) -> None:
    python = bench.PEERS / "bench-venv/bin/python"
    data = tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False)
    for stack, count in stacks.items():
        data.write(f"{stack} {count}\n")
    data.close()
    code = r"""
import sys
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
tree = {}
total = 0
for line in open(sys.argv[1]):
    stack, count = line.rsplit(" ", 1)
    count = int(count); total += count
    node = tree
    for frame in stack.split(";"):
        entry = node.setdefault(frame, [0, {}])
        entry[0] += count
        node = entry[1]
fig, ax = plt.subplots(figsize=(16, 9))
depth_max = [0]
def walk(node, x, depth):
    for frame, (count, children) in sorted(node.items(), key=lambda kv: -kv[1][0]):
        width = count / total
        if width >= 0.002:
            ax.barh(depth, width, left=x, height=0.9, color=plt.cm.autumn(hash(frame) % 100 / 100),
                    edgecolor="white", linewidth=0.3)
            if width > 0.03:
                ax.text(x + 0.002, depth, frame[: int(width * 120)], va="center", fontsize=7)
            depth_max[0] = max(depth_max[0], depth)
            walk(children, x, depth + 1)
        x += width
walk(tree, 0.0, 0)
ax.set_xlim(0, 1); ax.set_ylim(-0.5, depth_max[0] + 0.5)
ax.set_yticks([]); ax.set_xlabel("share of the gateway's samples")
ax.set_title(sys.argv[3])
fig.tight_layout(); fig.savefig(sys.argv[2], dpi=100)
"""
    subprocess.run([str(python), "-c", code, data.name, str(out), title], check=True)


def main() -> None:
    with tempfile.TemporaryDirectory() as directory:
        work = pathlib.Path(directory)
        fake = bench.Fake(work)
        target = bench.Voxgate(work, grpc=True)
        target.start(fake.plain)
        bench.ghz(target, 2000, 2)  # warm up
        perf_data = work / "perf.data"
        perf = subprocess.Popen(["perf", "record", "-F", "1999", "-g", "-o", str(perf_data),
                                 "-p", str(target.process.proc.pid)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        result = bench.ghz(target, 2000, 10)
        perf.send_signal(2)
        perf.wait()
        target.stop()
        fake.process.stop()
        print(f"2000/s for 10 s: {result['success'] * 100:.2f} % ok, p50 {result['p50_ms']:.2f}"
              f" p99 {result['p99_ms']:.2f} ms")
        stacks = folded(perf_data)
        draw(stacks, HERE / "grpc_flame.png",
             "Voxgate gRPC Chat at 2,000 req/s on one core: where the gateway's CPU goes")
        flat = subprocess.run(["perf", "report", "-i", str(perf_data), "--no-children",
                               "--sort", "dso,sym", "-g", "none", "--percent-limit", "1",
                               "--stdio"], capture_output=True, text=True).stdout
    print("\n".join(line for line in flat.splitlines() if line and not line.startswith("#")))


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    main()
