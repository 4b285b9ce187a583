"""Chunking is linear in the text's length (issue 13: 1 MB of one line took minutes, a 19 MB page stalled
`evidence index`). The figures up to 100 MB are in bench/bench_faults.py; here ten times the text must cost
about ten times the time, not a hundred."""

from __future__ import annotations

import random
import time

from vectorstore.chunking import MAX_TOKENS, approx_tokens, chunk

WORDS = ("city", "district", "portal", "open", "data", "fibre", "school", "clinic", "permit", "transport")


def _words(chars: int, separator: str = " ") -> str:
    rng = random.Random(chars)
    return separator.join(rng.choice(WORDS) for _ in range(chars // 7))


def _seconds(text: str) -> float:
    started = time.perf_counter()
    chunk(text, "en")
    return time.perf_counter() - started


def test_one_line_without_sentence_breaks_is_chunked_in_linear_time():
    small, large = _words(100_000), _words(1_000_000)
    ratio = _seconds(large) / max(_seconds(small), 1e-3)
    assert ratio < 30, f"10× the text took {ratio:.0f}× the time"
    passages = chunk(large, "en")
    assert passages[0].start == 0 and passages[-1].end == len(large)
    assert all(approx_tokens(p.text) <= MAX_TOKENS for p in passages)


def test_many_short_lines_are_outlined_in_linear_time():
    small, large = _words(100_000, "\n"), _words(1_000_000, "\n")
    ratio = _seconds(large) / max(_seconds(small), 1e-3)
    assert ratio < 30, f"10× the lines took {ratio:.0f}× the time"


def test_unspaced_text_is_cut_by_characters():
    text = "全市已建成第五代移动通信基站并覆盖所有街道" * 500
    passages = chunk(text, "zh")
    assert passages[-1].end == len(text) and all(approx_tokens(p.text) <= MAX_TOKENS for p in passages)
