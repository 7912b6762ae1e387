"""Converts the miner's Gemma 3 270M (a safetensors directory) into GGUF files for llama.cpp.

The miner keeps Gemma 3 270M as the F32 safetensors directory mistral.rs loads
(`~/.cache/cor/models/gemma3-270m/model`, made by `cor_miner::models::gemma`). For the
operator comparison llama.cpp must run the very same weights, so this writes them, unchanged,
as an F32 GGUF with the `gguf` package, then quantises that file with llama.cpp's own
`llama_model_quantize` (through `llama_cpp`), so each quantised file is what a llama.cpp user
would make from the F32 one.

What the conversion does:

- tensor names: Hugging Face -> GGUF through the `gguf` package's Gemma 3 name map;
- RMSNorm weights: + 1 (Gemma computes `x * (1 + w)`; llama.cpp stores `1 + w`, the miner's
  directory stores `w`, see `miner/src/models/gemma.rs`);
- hyperparameters from `config.json` (local RoPE base and the 5:1 sliding-window pattern are
  fixed for Gemma 3 in llama.cpp, as in our `config.json`);
- the tokenizer from `tokenizer.json`: the pieces by id; token types from `added_tokens`
  (special -> control, others -> user-defined), `<0xNN>` -> byte, everything else normal; the
  SentencePiece scores llama.cpp merges by are rebuilt from the BPE merge ranks (a merged
  piece scores minus the rank of its first merge), which orders merges exactly as the
  Hugging Face tokenizer mistral.rs uses does.

Each output is written under a temporary name and renamed when complete. `manifest.json` in the
output directory records, per file, the source it was made from (the conversion marker of the
miner's directory, which holds the SHA-256 of the published GGUF it came from) and how long
it took; a file whose entry matches the current source is not made again.

Run inside the llama venv (`bench/llama/setup.sh`):

    python bench/llama/convert_gguf.py [--model-dir DIR] [--out-dir DIR] [--types f32,q8_0]

Progress goes to stderr; the last stdout line is a JSON object with the files and times.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import struct
import sys
import time
from pathlib import Path

import gguf
import numpy as np

# Bump when the output of this script changes, so cached files are made again.
CONVERTER_VERSION = 1

# Quantised types made from the F32 file: our name -> llama.cpp's `llama_ftype`.
QUANTISED = {
    "f16": 1,  # LLAMA_FTYPE_MOSTLY_F16
    "q8_0": 7,  # LLAMA_FTYPE_MOSTLY_Q8_0
    "q4_0": 2,  # LLAMA_FTYPE_MOSTLY_Q4_0
}

BYTE_PIECE = re.compile(r"<0x[0-9A-Fa-f]{2}>")


def log(msg: str) -> None:
    print(f"convert_gguf: {msg}", file=sys.stderr, flush=True)


def default_model_dir() -> Path:
    return Path.home() / ".cache" / "cor" / "models" / "gemma3-270m" / "model"


def read_json(path: Path) -> dict:
    with path.open(encoding="utf-8") as f:
        return json.load(f)


def safetensors_f32(path: Path) -> dict[str, np.ndarray]:
    """The tensors of an F32 safetensors file, memory-mapped (nothing is read until used)."""
    with path.open("rb") as f:
        (header_len,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(header_len))
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + header_len)
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] != "F32":
            raise SystemExit(f"{path}: tensor {name} is {info['dtype']}, expected F32")
        start, end = info["data_offsets"]
        tensors[name] = data[start:end].view("<f4").reshape(info["shape"])
    return tensors


def vocabulary(tokenizer: dict) -> tuple[list[str], list[float], list[int]]:
    """Pieces, SentencePiece scores and GGUF token types from a `tokenizer.json`."""
    model = tokenizer["model"]
    if model.get("type") != "BPE":
        raise SystemExit(f"tokenizer.json: model type {model.get('type')}, expected BPE")
    vocab: dict[str, int] = model["vocab"]
    n = len(vocab)
    pieces = [""] * n
    for piece, i in vocab.items():
        pieces[i] = piece
    if any(p == "" for p in pieces):
        raise SystemExit("tokenizer.json: the vocabulary ids are not 0..n-1")

    types = [int(gguf.TokenType.NORMAL)] * n
    for i, p in enumerate(pieces):
        if BYTE_PIECE.fullmatch(p):
            types[i] = int(gguf.TokenType.BYTE)
    for added in tokenizer["added_tokens"]:
        kind = gguf.TokenType.CONTROL if added["special"] else gguf.TokenType.USER_DEFINED
        types[added["id"]] = int(kind)

    # A piece that no merge produces is never a merge result; its score does not matter to
    # the merge order, so it goes below every merged piece.
    merges = model["merges"]
    floor = -float(len(merges) + 1)
    scores = [floor] * n
    for rank, merge in enumerate(merges):
        left, right = merge if isinstance(merge, list) else merge.split(" ", 1)
        merged = vocab[left + right]
        if scores[merged] == floor:
            scores[merged] = -float(rank)
    return pieces, scores, types


def write_f32(model_dir: Path, out: Path) -> int:
    """Writes the F32 GGUF; returns the number of tensors."""
    config = read_json(model_dir / "config.json")
    tokenizer = read_json(model_dir / "tokenizer.json")
    tok_config = read_json(model_dir / "tokenizer_config.json")
    generation = read_json(model_dir / "generation_config.json")
    if config["architectures"][0] != "Gemma3ForCausalLM":
        raise SystemExit(f"{model_dir}: {config['architectures'][0]}, expected Gemma3ForCausalLM")
    layers = config["num_hidden_layers"]

    tensors = safetensors_f32(model_dir / "model.safetensors")
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.GEMMA3, layers)

    tmp = out.with_name(out.name + ".partial")
    writer = gguf.GGUFWriter(tmp, gguf.MODEL_ARCH_NAMES[gguf.MODEL_ARCH.GEMMA3])
    writer.add_name("Gemma 3 270M (cor-miner F32)")
    writer.add_context_length(config["max_position_embeddings"])
    writer.add_embedding_length(config["hidden_size"])
    writer.add_block_count(layers)
    writer.add_feed_forward_length(config["intermediate_size"])
    writer.add_head_count(config["num_attention_heads"])
    writer.add_head_count_kv(config["num_key_value_heads"])
    writer.add_key_length(config["head_dim"])
    writer.add_value_length(config["head_dim"])
    writer.add_layer_norm_rms_eps(config["rms_norm_eps"])
    writer.add_rope_freq_base(config["rope_theta"])
    writer.add_sliding_window(config["sliding_window"])
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)

    pieces, scores, types = vocabulary(tokenizer)
    if len(pieces) != config["vocab_size"]:
        raise SystemExit(f"tokenizer has {len(pieces)} pieces, config.json {config['vocab_size']}")
    eos = generation["eos_token_id"]
    writer.add_tokenizer_model("llama")
    writer.add_tokenizer_pre("default")
    writer.add_token_list(pieces)
    writer.add_token_scores(scores)
    writer.add_token_types(types)
    writer.add_bos_token_id(generation["bos_token_id"])
    writer.add_eos_token_id(eos[0] if isinstance(eos, list) else eos)
    writer.add_unk_token_id(pieces.index(tok_config.get("unk_token", "<unk>")))
    if generation.get("pad_token_id") is not None:
        writer.add_pad_token_id(generation["pad_token_id"])
    writer.add_add_bos_token(bool(tok_config.get("add_bos_token", True)))
    writer.add_add_eos_token(bool(tok_config.get("add_eos_token", False)))
    writer.add_add_space_prefix(False)

    for hf_name, array in tensors.items():
        if hf_name == "lm_head.weight" and config.get("tie_word_embeddings"):
            continue
        name = names.get_name(hf_name, try_suffixes=(".weight", ".bias"))
        if name is None:
            raise SystemExit(f"no GGUF name for tensor {hf_name}")
        if hf_name.endswith("norm.weight"):
            array = np.asarray(array, dtype=np.float32) + np.float32(1.0)
        writer.add_tensor(name, np.ascontiguousarray(array, dtype=np.float32))

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file(progress=False)
    writer.close()
    os.replace(tmp, out)
    return len(tensors)


def quantise(f32: Path, out: Path, ftype: int, threads: int) -> None:
    import llama_cpp
    from llama_cpp import _logger

    _logger.set_verbose(False)  # llama.cpp otherwise logs every tensor
    llama_cpp.llama_backend_init()
    params = llama_cpp.llama_model_quantize_default_params()
    params.nthread = threads
    params.ftype = ftype
    tmp = out.with_name(out.name + ".partial")
    rc = llama_cpp.llama_model_quantize(str(f32).encode(), str(tmp).encode(), params)
    if rc != 0:
        raise SystemExit(f"llama_model_quantize({f32} -> {out}) returned {rc}")
    os.replace(tmp, out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model-dir", type=Path, default=default_model_dir())
    ap.add_argument("--out-dir", type=Path, default=None, help="default: <model-dir>/../gguf")
    ap.add_argument("--types", default="f32,q8_0", help=f"f32 and any of {', '.join(QUANTISED)}")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()

    model_dir = args.model_dir.resolve()
    out_dir = (args.out_dir or model_dir.parent / "gguf").resolve()
    marker = model_dir / "converted.ok"
    if not marker.exists():
        raise SystemExit(f"{model_dir} holds no finished conversion ({marker} missing): run the miner once with --model gemma3-270m")
    source = {"model_dir": str(model_dir), "marker": marker.read_text().strip(), "converter": CONVERTER_VERSION}

    wanted = [t.strip() for t in args.types.split(",") if t.strip()]
    unknown = [t for t in wanted if t != "f32" and t not in QUANTISED]
    if unknown:
        raise SystemExit(f"unknown type(s) {unknown}: f32 or one of {list(QUANTISED)}")
    if "f32" not in wanted:
        wanted.insert(0, "f32")  # the quantised files are made from it

    out_dir.mkdir(parents=True, exist_ok=True)
    manifest_path = out_dir / "manifest.json"
    manifest = read_json(manifest_path) if manifest_path.exists() else {}
    files = manifest.get("files", {})
    if manifest.get("source") != source:
        files = {}
    f32 = out_dir / "gemma3-270m-f32.gguf"
    for kind in wanted:
        path = out_dir / f"gemma3-270m-{kind}.gguf"
        entry = files.get(kind)
        if entry and path.exists() and path.stat().st_size == entry["bytes"]:
            log(f"{kind}: {path} already made ({entry['seconds']:.1f} s when it was)")
            continue
        log(f"{kind}: writing {path}")
        started = time.monotonic()
        if kind == "f32":
            count = write_f32(model_dir, path)
            log(f"f32: {count} tensors")
            files = {}  # what was quantised from an older F32 file is stale
        else:
            quantise(f32, path, QUANTISED[kind], args.threads)
        seconds = time.monotonic() - started
        files[kind] = {"path": str(path), "bytes": path.stat().st_size, "seconds": round(seconds, 2)}
        log(f"{kind}: {files[kind]['bytes']} bytes in {seconds:.1f} s")
        manifest = {"source": source, "files": files}
        tmp = manifest_path.with_suffix(".partial")
        tmp.write_text(json.dumps(manifest, indent=2))
        os.replace(tmp, manifest_path)

    print(json.dumps({"out_dir": str(out_dir), "files": {k: files[k] for k in wanted}}))


if __name__ == "__main__":
    main()
