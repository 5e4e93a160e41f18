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
if [ -z "$wheel" ]; then
  mkdir -p "$dir"
  tmp=$(mktemp -d "$dir.tmp.XXXXXX")
  echo "building llama-cpp-python $VERSION with $FLAGS (about 5 minutes on 2 cores)..." >&2
  CMAKE_ARGS="$FLAGS" CMAKE_BUILD_PARALLEL_LEVEL=$(nproc) FORCE_CMAKE=1 \
    "$PY" -m pip wheel --no-deps --no-cache-dir --no-binary llama-cpp-python \
    -w "$tmp" "llama-cpp-python==$VERSION" >&2
  mv "$tmp"/llama_cpp_python-*.whl "$dir"/
  rm -rf "$tmp"
  wheel=$(ls "$dir"/llama_cpp_python-*.whl | head -n1)
fi
echo "$wheel"
