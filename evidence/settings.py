"""Settings from the environment (EVIDENCE_*) and an optional `evidence.toml`; the environment wins.

Defaults need nothing started: SQLite and Chroma's persistent client in the data directory, the
bundled embedding model, the offline proposer unless an LLM endpoint is configured.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EVIDENCE_", extra="ignore")

    data_dir: Path = Field(Path("data"), description="where the database, raw snapshots and the index live")
    database_url: str | None = Field(None, description="SQLAlchemy URL; default SQLite in the data directory")
    chroma_url: str | None = Field(None, description="a Chroma server; default the persistent client in the data directory")
    # chosen on the sample's answer key: see the README's "Embedding models" (recall and speed of both)
    embedding_model: str = Field("use-multilingual", description="embedding model used to index and search")
    llm_base_url: str | None = Field(None, description="OpenAI-compatible endpoint; none means the offline proposer")
    llm_model: str = Field("gpt-4o-mini", description="model name sent to the endpoint")
    llm_method: str = Field("auto", description="structured output: json_schema, function_calling, or auto (try "
                                                "json_schema once per endpoint, fall back to function_calling)")
    llm_context: int | None = Field(None, description="the model's context in tokens: the evidence is cut to fit")
    llm_token_ratio: float | None = Field(None, description="the model's tokens per estimated token (default 1; "
                                                            "the local Qwen2.5 model: 1.9)")
    openai_api_key: SecretStr | None = Field(None, validation_alias="OPENAI_API_KEY")
    registry_dirs: list[Path] = Field([], description="the user's own city registry folders (country files as in "
                                                      "sources/cities/), layered over the shipped registry")

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, env_settings, dotenv_settings,
                                   file_secret_settings) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = Path(os.environ.get("EVIDENCE_CONFIG", "evidence.toml"))
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_file=toml_file))

    @property
    def database(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'evidence.db').resolve()}"

    @property
    def proposer(self) -> str:
        return "llm" if self.llm_base_url else "offline"


def load_settings(**overrides) -> Settings:
    return Settings(**overrides)
