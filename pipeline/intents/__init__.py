"""Hand-off intents: does a customer message ask for a person, a refund or cancellation, a legal or
privacy action, or is it a threat or complaint? A classifier trained on the labelled paraphrases in
``handoff_intents.jsonl``; see docs/handoff-policy.md for the policy and the figures."""

from autocrm.pipeline.intents.classifier import (
    HUMAN_REQUESTED,
    INTENTS,
    LEGAL_PRIVACY,
    NONE,
    REFUND_CANCELLATION,
    THREAT_COMPLAINT,
    IntentResult,
    classify_request,
    load_model,
)

__all__ = [
    "HUMAN_REQUESTED",
    "INTENTS",
    "LEGAL_PRIVACY",
    "NONE",
    "REFUND_CANCELLATION",
    "THREAT_COMPLAINT",
    "IntentResult",
    "classify_request",
    "load_model",
]
