"""Greedy generation with llama.cpp, timed the way the miner's benchmark times mistral.rs.

Runs inside the llama venv (`bench/llama/setup.sh`) and talks to llama.cpp through the
`llama_cpp` package's C bindings only (no `Llama` class: it keeps a prefix cache across
calls and adds Python work per token), so what is timed is llama.cpp itself: one
`llama_decode` of the prompt, then one per generated token, each followed by llama.cpp's
greedy sampler. The KV cache is cleared before every generation, so every run processes
the whole prompt.

Times, per generation:
- `ttft_ms`: from the start to the first generated token being known (the prompt decoded
  and the first token sampled);
- `total_ms`: from the start until the last token is sampled;
- decode rate, as the Rust side computes it: (tokens - 1) / (total - ttft).
llama.cpp's own counters (`llama_perf_context`) come along as `perf`.

Two modes:

    python llama_bench.py --model f32=PATH [--model q8_0=PATH ...] [--runs 3] [--max-tokens 64]
        runs each model --runs times and prints one JSON object (all runs);
    python llama_bench.py serve --model f32=PATH ...
        loads the models, prints {"ready": ...} and then answers one JSON request per stdin line
        ({"dtype": "f32", "prompt": "...", "max_tokens": 64}) with one JSON line on stdout,
        so a driver (miner/benches/llama.rs) can interleave llama.cpp runs with its own.

Diagnostics go to stderr; stdout carries only JSON.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import sys
import time

import llama_cpp
from llama_cpp import _logger

N_CTX = 1024


class Model:
    """One GGUF loaded with a context of its own."""

    def __init__(self, path: str, threads: int):
        self.path = path
        started = time.perf_counter()
        mparams = llama_cpp.llama_model_default_params()
        self.model = llama_cpp.llama_model_load_from_file(path.encode(), mparams)
        if not self.model:
            raise SystemExit(f"llama.cpp could not load {path}")
        cparams = llama_cpp.llama_context_default_params()
        cparams.n_ctx = N_CTX
        cparams.n_threads = threads
        cparams.n_threads_batch = threads
        cparams.no_perf = False  # keep llama.cpp's own timings, reported as `perf`
        self.flash_attn = cparams.flash_attn_type
        self.ctx = llama_cpp.llama_init_from_model(self.model, cparams)
        if not self.ctx:
            raise SystemExit(f"llama.cpp could not create a context for {path}")
        self.vocab = llama_cpp.llama_model_get_vocab(self.model)
        self.sampler = llama_cpp.llama_sampler_chain_init(
            llama_cpp.llama_sampler_chain_default_params()
        )
        llama_cpp.llama_sampler_chain_add(self.sampler, llama_cpp.llama_sampler_init_greedy())
        self.load_ms = (time.perf_counter() - started) * 1e3
        desc = ctypes.create_string_buffer(256)
        llama_cpp.llama_model_desc(self.model, desc, len(desc))
        self.description = desc.value.decode(errors="replace")
        self.bytes = llama_cpp.llama_model_size(self.model)

    def tokenize(self, text: str) -> list[int]:
        data = text.encode()
        room = len(data) + 8
        buf = (llama_cpp.llama_token * room)()
        n = llama_cpp.llama_tokenize(self.vocab, data, len(data), buf, room, True, False)
        if n < 0:
            raise SystemExit(f"tokenizing needs {-n} tokens, had room for {room}")
        return list(buf[:n])

    def piece(self, token: int) -> bytes:
        buf = ctypes.create_string_buffer(64)
        n = llama_cpp.llama_token_to_piece(self.vocab, token, buf, len(buf), 0, False)
        if n < 0:
            buf = ctypes.create_string_buffer(-n)
            n = llama_cpp.llama_token_to_piece(self.vocab, token, buf, len(buf), 0, False)
        return buf.raw[:n]

    def decode(self, tokens: list[int]) -> None:
        array = (llama_cpp.llama_token * len(tokens))(*tokens)
        rc = llama_cpp.llama_decode(self.ctx, llama_cpp.llama_batch_get_one(array, len(tokens)))
        if rc != 0:
            raise SystemExit(f"llama_decode returned {rc}")

    def generate(self, prompt: str, max_tokens: int) -> dict:
        prompt_ids = self.tokenize(prompt)
        if len(prompt_ids) + max_tokens > N_CTX:
            raise SystemExit(f"prompt ({len(prompt_ids)}) + max_tokens ({max_tokens}) > n_ctx {N_CTX}")
        llama_cpp.llama_memory_clear(llama_cpp.llama_get_memory(self.ctx), True)
        llama_cpp.llama_sampler_reset(self.sampler)
        llama_cpp.llama_perf_context_reset(self.ctx)

        out: list[int] = []
        finish = "length"
        started = time.perf_counter()
        self.decode(prompt_ids)
        token = llama_cpp.llama_sampler_sample(self.sampler, self.ctx, -1)
        first = time.perf_counter()
        while True:
            if llama_cpp.llama_vocab_is_eog(self.vocab, token):
                finish = "stop"
                break
            out.append(token)
            if len(out) == max_tokens:
                break
            self.decode([token])
            token = llama_cpp.llama_sampler_sample(self.sampler, self.ctx, -1)
        done = time.perf_counter()

        perf = llama_cpp.llama_perf_context(self.ctx)
        text = b"".join(self.piece(t) for t in out).decode("utf-8", errors="replace")
        return {
            "prompt_tokens": len(prompt_ids),
            "prompt_ids": prompt_ids,
            "completion_tokens": len(out),
            "ttft_ms": (first - started) * 1e3,
            "total_ms": (done - started) * 1e3,
            "finish_reason": finish,
            # mistral.rs returns the text without leading whitespace; do the same.
            "text": text.lstrip(),
            "perf": {
                "prompt_eval_ms": perf.t_p_eval_ms,
                "prompt_eval_tokens": perf.n_p_eval,
                "eval_ms": perf.t_eval_ms,
                "eval_tokens": perf.n_eval,
            },
        }


def load(specs: list[str], threads: int) -> dict[str, Model]:
    models = {}
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep or not os.path.exists(path):
            raise SystemExit(f"--model wants NAME=EXISTING_PATH, got {spec!r}")
        print(f"llama_bench: loading {name} from {path}", file=sys.stderr, flush=True)
        models[name] = Model(path, threads)
    return models


def describe(models: dict[str, Model], threads: int) -> dict:
    return {
        "llama_cpp_python": llama_cpp.__version__,
        "system_info": llama_cpp.llama_print_system_info().decode(errors="replace").strip(),
        "threads": threads,
        "n_ctx": N_CTX,
        "models": {
            name: {
                "path": m.path,
                "description": m.description,
                "bytes": m.bytes,
                "load_ms": round(m.load_ms, 1),
                "flash_attn_type": m.flash_attn,
            }
            for name, m in models.items()
        },
    }


def serve(models: dict[str, Model], threads: int) -> None:
    print(json.dumps({"ready": describe(models, threads)}), flush=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        model = models.get(request["dtype"])
        if model is None:
            reply = {"error": f"no model {request['dtype']!r} loaded (have {sorted(models)})"}
        else:
            reply = model.generate(request["prompt"], int(request["max_tokens"]))
        print(json.dumps(reply), flush=True)


def main() -> None:
    argv = sys.argv[1:]
    serving = bool(argv) and argv[0] == "serve"
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", action="append", required=True, help="NAME=PATH of a GGUF (repeatable)")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--prompt", default="The capital of France is")
    ap.add_argument("--verbose", action="store_true", help="keep llama.cpp's own log on stderr")
    args = ap.parse_args(argv[1:] if serving else argv)
    _logger.set_verbose(args.verbose)
    llama_cpp.llama_backend_init()

    models = load(args.model, args.threads)
    if serving:
        serve(models, args.threads)
        return
    runs = []
    for name, model in models.items():
        model.generate(args.prompt, args.max_tokens)  # warm-up
        for run in range(args.runs):
            result = model.generate(args.prompt, args.max_tokens)
            result.update(dtype=name, run=run + 1)
            runs.append(result)
    print(json.dumps({"llama_cpp": describe(models, args.threads), "runs": runs}))


if __name__ == "__main__":
    main()
