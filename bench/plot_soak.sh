#!/usr/bin/env bash
# Plots soak_bench's CSV (RSS and open descriptors over time) as a PNG, with
# matplotlib from a virtualenv of its own under the tools cache.
# Usage: bench/plot_soak.sh SOAK.csv OUT.png
set -euo pipefail
readonly TOOLS="${VOXGATE_TOOLS:-$HOME/.cache/voxgate-tools}"
readonly VENV="$TOOLS/bench-venv"
if [[ ! -x $VENV/bin/python ]]; then python3 -m venv "$VENV"; fi
"$VENV/bin/python" -c "import matplotlib" 2>/dev/null ||
  "$VENV/bin/pip" install -q --disable-pip-version-check matplotlib==3.9.2
"$VENV/bin/python" - "$1" "$2" <<'PY'
import csv, sys
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt

rows = list(csv.DictReader(open(sys.argv[1])))
minutes = [float(r["seconds"]) / 60 for r in rows]
rss = [int(r["rss_kib"]) / 1024 for r in rows]
fds = [int(r["fds"]) for r in rows]
calls = [int(r["calls"]) for r in rows]
fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 6), sharex=True)
top.plot(minutes, rss, color="tab:blue")
top.set_ylabel("gateway RSS (MiB)")
top.set_ylim(0, max(rss) * 1.2)
top.grid(alpha=0.3)
top.set_title(f"soak: {calls[-1]:,} mixed calls with random cancels, "
              f"{minutes[-1]:.0f} min")
bottom.plot(minutes, fds, color="tab:orange")
bottom.set_ylabel("open file descriptors")
bottom.set_ylim(0, max(fds) * 1.2)
bottom.set_xlabel("minutes")
bottom.grid(alpha=0.3)
fig.tight_layout()
fig.savefig(sys.argv[2], dpi=100)
PY
