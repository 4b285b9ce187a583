"""The proposer: for each city and indicator, a proposed ladder level with verified citations.

evidence.py gathers passages from the index; llm.py asks an OpenAI-compatible model (prompts/) for a
structured proposal, offline.py makes one from cue terms and embedding similarity when no endpoint is
configured; verify.py checks every quote against its chunk; run.py records proposals resumably;
evaluate.py measures them against an answer key. `evidence propose`, `evidence eval` (cli.py).
"""
