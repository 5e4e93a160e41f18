#!/usr/bin/env bash
# Build (once) a llama-cpp-python wheel with CPU flags that work on machines whose CPUs
# report AVX-512/AMX (the default native build crashes there), and print its path.
# The wheel is kept in a folder keyed by the flags, so a wheel built with other flags is
# never reused by mistake (pip's own wheel cache ignores CMAKE_ARGS).
set -euo pipefail
PY=${PYTHON:-python3}
VERSION=${LLAMA_CPP_PYTHON_VERSION:-0.3.36}
FLAGS="-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON"
key=$(printf '%s %s %s' "$VERSION" "$FLAGS" "$("$PY" -c 'import sys; print(sys.implementation.cache_tag)')" | sha256sum | cut -c1-16)
dir="${AUTOAGENT_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/autoagent/wheels}/$key"
wheel=$(ls "$dir"/llama_cpp_python-*.whl 2>/dev/null | head -n1 || true)

# Read pip's verbose output, print "build: <elapsed> <stage>" lines on stderr.
progress() {
  local start=$SECONDS stage="" tenth=-1 line n total
  say() { printf 'build: %3ds %s\n' "$((SECONDS - start))" "$*" >&2; }
  say "downloading the source"
  while IFS= read -r line; do
    case "$line" in
      *"Installing build dependencies"*) next="installing build tools (scikit-build-core, cmake, ninja)";;
      *"Getting requirements to build wheel"*|*"Preparing metadata"*) next="preparing the build";;
      *"-- The C compiler identification"*|*"-- Configuring"*) next="cmake: configuring";;
      *"-- Build files have been written"*) next="cmake: configured, compiling";;
      *"Building wheel for llama-cpp-python"*|*"Building wheel for llama_cpp_python"*) next="building the wheel";;
      *"*** Installing project into wheel"*) next="packing the wheel";;
      *"Created wheel for"*) next="wheel built";;
      *) next="";;
    esac
    if [ -n "$next" ] && [ "$next" != "$stage" ]; then stage=$next; say "$stage"; fi
    if [[ "$line" =~ \[([0-9]+)/([0-9]+)\] ]]; then
      n=${BASH_REMATCH[1]}; total=${BASH_REMATCH[2]}
      if [ "$total" -gt 0 ] && [ $((n * 10 / total)) -gt "$tenth" ]; then
        tenth=$((n * 10 / total)); say "compiling [$n/$total]"
      fi
    fi
  done
}
if [ -z "$wheel" ]; then
  mkdir -p "$dir"
  tmp=$(mktemp -d "$dir.tmp.XXXXXX")
  echo "building llama-cpp-python $VERSION with $FLAGS (about 5 minutes on 2 cores)..." >&2
  log="$tmp/build.log"
  # pip -v shows cmake's stages and ninja's "[n/N]" lines: one progress line per stage and
  # per tenth of the compilation, with the elapsed time; the whole log stays in $log
  set +e
  CMAKE_ARGS="$FLAGS" CMAKE_BUILD_PARALLEL_LEVEL=$(nproc) FORCE_CMAKE=1 \
    "$PY" -m pip wheel -v --no-deps --no-cache-dir --no-binary llama-cpp-python \
    -w "$tmp" "llama-cpp-python==$VERSION" 2>&1 | tee "$log" | progress
  status=${PIPESTATUS[0]}
  set -e
  if [ "$status" -ne 0 ]; then
    tail -n 30 "$log" >&2
    echo "building llama-cpp-python failed (exit $status); the full log is $log" >&2
    exit "$status"
  fi
  mv "$tmp"/llama_cpp_python-*.whl "$dir"/
  rm -rf "$tmp"
  wheel=$(ls "$dir"/llama_cpp_python-*.whl | head -n1)
fi
echo "$wheel"
