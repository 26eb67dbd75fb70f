#!/usr/bin/env bash
# Installs the gateways Voxgate is compared with, pinned, from their
# registries, into $VOXGATE_TOOLS/peers (default ~/.cache/voxgate-tools/peers),
# and the load tools (vegeta for HTTP, ghz for gRPC) from the Go module proxy.
# Idempotent: what is there at the pinned version is kept. A peer that fails
# to install is reported and skipped; bench/peers/run.py says so in its table.
set -uo pipefail
cd "$(dirname "$0")"
readonly TOOLS="${VOXGATE_TOOLS:-$HOME/.cache/voxgate-tools}"
readonly PEERS="$TOOLS/peers"
readonly LITELLM_VERSION=1.110.2
readonly PORTKEY_VERSION=1.15.2
readonly VEGETA_VERSION=v12.13.0
readonly GHZ_VERSION=v0.93.0
mkdir -p "$PEERS/bin"
log() { echo "peers: $*" >&2; }

# vegeta (open-loop HTTP at a fixed rate) and ghz (the same for gRPC).
for tool in "github.com/tsenart/vegeta/v12@$VEGETA_VERSION" \
  "github.com/bojand/ghz/cmd/ghz@$GHZ_VERSION"; do
  name=$(basename "${tool%@*}")
  [[ $name == v12 ]] && name=vegeta
  if [[ ! -x $PEERS/bin/$name || $(cat "$PEERS/bin/.$name" 2>/dev/null) != "$tool" ]]; then
    log "installing $tool"
    GOBIN="$PEERS/bin" go install "$tool" && echo "$tool" >"$PEERS/bin/.$name"
  fi
done

# The time-to-first-token client (bench/peers/ttft, no dependencies).
(cd ttft && go build -o "$PEERS/bin/ttft" .) || log "ttft did not build"

# The bench's own Python: matplotlib for the chart.
if [[ ! -x $PEERS/bench-venv/bin/python ]] ||
  ! "$PEERS/bench-venv/bin/python" -c 'import matplotlib' 2>/dev/null; then
  log "installing matplotlib"
  python3 -m venv "$PEERS/bench-venv" &&
    "$PEERS/bench-venv/bin/pip" install -q --disable-pip-version-check matplotlib==3.10.8
fi

# LiteLLM's proxy. litellm[proxy]==$LITELLM_VERSION pins companion packages
# (litellm-proxy-extras, litellm-enterprise) at versions the registry does not
# serve, so the proxy extra's other requirements are installed as pinned and
# the companions unpinned; litellm-proxy is not served at all and is left out
# (the proxy itself is in the litellm wheel).
install_litellm() {
  local venv="$PEERS/litellm"
  if [[ $(cat "$venv/.stamp" 2>/dev/null) == "litellm==$LITELLM_VERSION" ]]; then
    return 0
  fi
  log "installing LiteLLM $LITELLM_VERSION (its proxy extra without the pinned companions)"
  rm -rf "$venv"
  python3 -m venv "$venv" || return 1
  local work
  work=$(mktemp -d)
  "$venv/bin/pip" download -q --no-deps -d "$work" "litellm==$LITELLM_VERSION" || return 1
  local requirements
  requirements=$("$venv/bin/python" - "$work"/litellm-*.whl <<'PY'
import sys, zipfile
from email.parser import Parser
from pip._vendor.packaging.requirements import Requirement
wheel = zipfile.ZipFile(sys.argv[1])
meta = next(n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))
companions = {"litellm-proxy-extras", "litellm-enterprise"}
out = []
for line in Parser().parsestr(wheel.read(meta).decode()).get_all("Requires-Dist") or []:
    requirement = Requirement(line)
    marker = requirement.marker
    # The proxy extra's own requirements (the base ones come with the wheel).
    if marker is None or not marker.evaluate({"extra": "proxy"}) or marker.evaluate({"extra": ""}):
        continue
    name = requirement.name.lower()
    if name == "litellm-proxy":
        continue
    out.append(name if name in companions else str(requirement).split(";")[0])
print("\n".join(sorted(set(out))))
PY
  ) || return 1
  # shellcheck disable=SC2086  # one requirement per word
  "$venv/bin/pip" install -q --disable-pip-version-check "$work"/litellm-*.whl $requirements ||
    return 1
  rm -rf "$work"
  echo "litellm==$LITELLM_VERSION" >"$venv/.stamp"
}
install_litellm || log "LiteLLM did not install; the bench skips it"

# Portkey's open-source gateway from npm.
install_portkey() {
  local dir="$PEERS/portkey"
  if [[ $(cat "$dir/.stamp" 2>/dev/null) == "@portkey-ai/gateway@$PORTKEY_VERSION" ]]; then
    return 0
  fi
  log "installing @portkey-ai/gateway@$PORTKEY_VERSION"
  rm -rf "$dir"
  mkdir -p "$dir" &&
    (cd "$dir" && npm install --silent --no-audit --no-fund "@portkey-ai/gateway@$PORTKEY_VERSION") ||
    return 1
  echo "@portkey-ai/gateway@$PORTKEY_VERSION" >"$dir/.stamp"
}
install_portkey || log "Portkey did not install; the bench skips it"
