"""Platform reference data: queues, their modality and label sets, and code lists.

The labeling platform configures these; every layer validates against them, and
the generator draws from them, so there is one list to change.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Queue:
    name: str
    modality: str  # text | image | video | audio
    labels: tuple[str, ...]
    description: str

    @property
    def label_set(self) -> str:
        """The pipe-joined form the platform writes into tasks.csv."""
        return "|".join(self.labels)


QUEUES: dict[str, Queue] = {
    q.name: q
    for q in (
        Queue("ad_compliance", "image", ("compliant", "non_compliant", "unsure"), "Is this ad compliant with ad policy?"),
        Queue("video_policy", "video", ("none", "violence", "nudity", "hate"), "Which policy does this video break?"),
        Queue("sentiment", "text", ("positive", "negative", "neutral"), "Sentiment of a short text"),
        Queue("spam", "text", ("spam", "not_spam"), "Is this message spam?"),
        Queue("image_quality", "image", ("good", "bad"), "Is this image usable?"),
        Queue("transcript_qa", "audio", ("correct", "minor_errors", "major_errors"), "Is this transcript right?"),
    )
}

MODALITIES = ("text", "image", "video", "audio")
LANGUAGES = ("en", "es", "de", "fr", "pt", "ja")
SITES = ("manila", "nairobi", "bogota", "krakow", "remote")
JUDGMENT_STATUSES = ("submitted", "skipped", "expired", "abandoned")
LABELER_STATUSES = ("active", "inactive", "suspended", "offboarded")
EVENT_TYPES = ("assignment_offered", "assignment_accepted", "assignment_expired", "session_start", "session_end")
PRIORITIES = (1, 2, 3)  # 1 = highest

ALL_LABELS: tuple[str, ...] = tuple(sorted({label for q in QUEUES.values() for label in q.labels}))
MAX_CLASSES = max(len(q.labels) for q in QUEUES.values())


def queue_label_pairs() -> list[tuple[str, str]]:
    """(queue, label) for every valid combination: used to validate labels with a join."""
    return [(q.name, label) for q in QUEUES.values() for label in q.labels]
