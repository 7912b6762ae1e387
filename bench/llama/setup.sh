#!/usr/bin/env bash
# Installs llama.cpp (through the `llama-cpp-python` package, which builds it from source)
# and the `gguf` writer into a virtual environment, once. The operator comparison
# (`cargo bench --profile dev -p cor-miner --bench llama`) runs this first; a second run
# finds the environment ready and returns at once.
#
#   bench/llama/setup.sh            # venv at ~/.cache/cor/tools/llama-venv
#   COR_LLAMA_VENV=/some/dir bench/llama/setup.sh
#
# No cmake is needed on the machine: pip's build isolation fetches cmake, ninja and
# scikit-build-core as wheels from PyPI. The build is for this CPU (-march=native) and
# leaves out what the benchmark does not use (multimodal library, tools, examples,
# server, tests). The install time is kept in $VENV/cor-install.json for the results.
set -euo pipefail

LLAMA_CPP_PYTHON_VERSION="${COR_LLAMA_CPP_PYTHON_VERSION:-0.3.36}"
GGUF_VERSION="${COR_GGUF_VERSION:-0.19.0}"
VENV="${COR_LLAMA_VENV:-$HOME/.cache/cor/tools/llama-venv}"
PYTHON="${COR_PYTHON:-python3}"

ready() {
    [ -x "$VENV/bin/python" ] && [ -f "$VENV/cor-install.json" ] &&
        "$VENV/bin/python" -c "import llama_cpp, gguf, numpy" 2>/dev/null
}

if ready; then
    echo "llama setup: ready in $VENV ($("$VENV/bin/python" -c 'import llama_cpp; print("llama-cpp-python", llama_cpp.__version__)'))"
    exit 0
fi

started=$(date +%s)
if [ ! -x "$VENV/bin/python" ]; then
    echo "llama setup: creating virtual environment $VENV"
    mkdir -p "$(dirname "$VENV")"
    "$PYTHON" -m venv "$VENV"
fi

echo "llama setup: installing gguf $GGUF_VERSION and numpy"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    "gguf==$GGUF_VERSION" numpy

echo "llama setup: building llama-cpp-python $LLAMA_CPP_PYTHON_VERSION from source (llama.cpp, CPU; 10-30 min on 2 cores)"
build_started=$(date +%s)
export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}"
export CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=ON -DLLAVA_BUILD=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_APP=OFF}"
echo "llama setup: CMAKE_ARGS=$CMAKE_ARGS CMAKE_BUILD_PARALLEL_LEVEL=$CMAKE_BUILD_PARALLEL_LEVEL"
"$VENV/bin/python" -m pip install --disable-pip-version-check --progress-bar off \
    --no-binary llama-cpp-python --verbose \
    "llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION" 2>&1 | tee "$VENV/cor-install.log" |
    sed -nuE -e 's#^\s*(\[[0-9]+/[0-9]+\]).* -o ([^ ]+).*#  \1 \2#p' -e '/Successfully installed|ERROR|error:/p' || true
finished=$(date +%s)

if ! "$VENV/bin/python" -c "import llama_cpp" 2>/dev/null; then
    tail -n 40 "$VENV/cor-install.log" >&2
    echo "llama setup: llama-cpp-python did not install (whole log: $VENV/cor-install.log)" >&2
    exit 1
fi
cat > "$VENV/cor-install.json" <<JSON
{"llama_cpp_python": "$LLAMA_CPP_PYTHON_VERSION", "gguf": "$GGUF_VERSION", "install_seconds": $((finished - started)), "llama_cpp_build_seconds": $((finished - build_started)), "cmake_args": "$CMAKE_ARGS", "parallel": $CMAKE_BUILD_PARALLEL_LEVEL, "date": "$(date -u +%Y-%m-%dT%H:%M:%SZ)"}
JSON
echo "llama setup: done in $((finished - started)) s (llama.cpp build $((finished - build_started)) s)"
