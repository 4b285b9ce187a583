"""What a proposer returns: a level on one ladder, with its rationale and verbatim citations.

The same structure is filled by the LLM (through structured output) and by the offline proposer, so
verification, the record and the review queue do not care which one made a proposal.
"""

from __future__ import annotations

from functools import cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, create_model


class CitationOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    chunk_id: str = Field(description="the id of the evidence passage, exactly as given")
    quote: str = Field(description="a verbatim quote copied from that passage, in its original language")
    status: Literal["achieved", "under-way", "planned"] = Field(
        description="what the quote reports: achieved (done, or the present state), under-way (begun, not "
                    "finished) or planned (a plan, target, task or intention)")


class ProposalOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    level: int = Field(ge=0, description="the highest rung the evidence shows as achieved; 0 = no evidence of rung 1")
    rationale: str = Field(description="why this level and not the next, in 2 to 5 sentences")
    citations: list[CitationOut] = Field(description="the passages that establish the level")
    confidence: float = Field(ge=0, le=1, description="0 to 1: how sure the evidence makes you")
    missing_for_next_rung: str = Field(description="what evidence would show the next rung; empty at the top")


class OfflineProposalOut(ProposalOut):
    """The offline proposer's output: also the rules' reason for each citation's status."""

    status_reasons: list[str] = []
    rationale_facts: dict | None = None  # the rationale as data, for wording it in the reviewer's language


@cache
def proposal_model(top: int) -> type[ProposalOut]:
    """ProposalOut with the level bounded by this ladder's top rung, so the schema the model sees says so."""
    return create_model(f"ProposalUpTo{top}", __base__=ProposalOut,
                        level=(int, Field(ge=0, le=top, description=f"0 to {top}: the highest rung the evidence "
                                                                     "shows as achieved; 0 = no evidence of rung 1")))


def response_schema(top: int) -> dict:
    """The JSON schema handed to the endpoint (OpenAI's json_schema response format, strict)."""
    return {"name": "proposal", "description": "A proposed ladder level with verbatim citations.",
            "schema": proposal_model(top).model_json_schema(), "strict": True}
