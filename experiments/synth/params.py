"""The platform's latent constants: class priors, mixes, delays, handling times, archetypes.

One place for every number that shapes the synthetic world, so a reader can see what
"realistic" means here and tune it without hunting through the generator.
"""

from __future__ import annotations

import numpy as np

from schemas.reference import JUDGMENT_STATUSES, LABELER_STATUSES, LANGUAGES, QUEUES, SITES

QUEUE_NAMES: tuple[str, ...] = tuple(QUEUES)
QUEUE_MODALITY: tuple[str, ...] = tuple(QUEUES[q].modality for q in QUEUE_NAMES)
QUEUE_K: np.ndarray = np.array([len(QUEUES[q].labels) for q in QUEUE_NAMES], dtype=np.int64)
K_MAX = int(QUEUE_K.max())

# True-label prior per queue (same order as the queue's labels): most content is benign.
CLASS_PRIOR: dict[str, tuple[float, ...]] = {
    "ad_compliance": (0.70, 0.22, 0.08),
    "video_policy": (0.82, 0.08, 0.06, 0.04),
    "sentiment": (0.40, 0.32, 0.28),
    "spam": (0.28, 0.72),
    "image_quality": (0.78, 0.22),
    "transcript_qa": (0.55, 0.32, 0.13),
}

# Share of new tasks per queue.
QUEUE_MIX: dict[str, float] = {
    "ad_compliance": 0.24, "video_policy": 0.10, "sentiment": 0.20,
    "spam": 0.24, "image_quality": 0.14, "transcript_qa": 0.08,
}

# Latent difficulty ~ Beta(a, b) per queue; mixes a labeler's answer toward uniform.
DIFFICULTY_BETA: dict[str, tuple[float, float]] = {
    "ad_compliance": (1.2, 7.0), "video_policy": (1.5, 5.5), "sentiment": (1.4, 6.0),
    "spam": (1.0, 9.0), "image_quality": (1.1, 8.0), "transcript_qa": (1.5, 5.5),
}

# Median hours from task creation until a labeler picks a slot up (before shift alignment).
MEDIAN_DELAY_HOURS: dict[str, float] = {
    "ad_compliance": 3.0, "video_policy": 6.0, "sentiment": 2.0,
    "spam": 1.0, "image_quality": 2.0, "transcript_qa": 8.0,
}
DELAY_SIGMA = 0.9
MAX_DELAY_HOURS = 48.0
PRIORITY_DELAY_FACTOR = np.array([0.5, 1.0, 1.6])  # by priority 1, 2, 3

# Median active seconds per judgment by modality, for a labeler with speed factor 1.
HANDLING_SECONDS: dict[str, float] = {"text": 20.0, "image": 12.0, "video": 75.0, "audio": 110.0}
HANDLING_SIGMA = 0.35
REWARD_USD: dict[str, float] = {"text": 0.03, "image": 0.04, "video": 0.12, "audio": 0.15}
PRIORITY_REWARD_FACTOR = np.array([1.5, 1.0, 0.8])

TASK_LANGUAGE_MIX: dict[str, float] = {"en": 0.60, "es": 0.12, "de": 0.07, "fr": 0.08, "pt": 0.08, "ja": 0.05}
LABELER_LANGUAGE_P: dict[str, float] = {"en": 0.85, "es": 0.22, "de": 0.10, "fr": 0.10, "pt": 0.12, "ja": 0.07}
assert tuple(TASK_LANGUAGE_MIX) == LANGUAGES and tuple(LABELER_LANGUAGE_P) == LANGUAGES

PRIORITY_P = np.array([0.15, 0.55, 0.30])
SLA_HOURS = np.array([4.0, 24.0, 72.0])  # deadline = created + SLA, by priority
# Target number of submitted labels (1..5) by priority: urgent work gets more eyes.
REDUNDANCY_P = np.array([
    [0.00, 0.05, 0.35, 0.30, 0.30],
    [0.05, 0.15, 0.50, 0.20, 0.10],
    [0.15, 0.25, 0.45, 0.10, 0.05],
])
MAX_REDUNDANCY = 5
SUBMITTED_SHARE = 0.88
NON_SUBMITTED_STATUS_P = {"skipped": 0.5, "expired": 0.3, "abandoned": 0.2}
STATUS_CODE = {s: i for i, s in enumerate(JUDGMENT_STATUSES)}
LABELER_STATUS_CODE = {s: i for i, s in enumerate(LABELER_STATUSES)}

GOLD_RATE = 0.05
REVIEW_RATE = 0.03
AUDITOR_ACCURACY = 0.97
OFFER_TIMEOUT_SECONDS = 300.0

# Arrivals: weekly seasonality (Mon..Sun, mean 1) and the UTC hour-of-day profile.
WEEKDAY_FACTOR = np.array([1.08, 1.12, 1.10, 1.06, 1.00, 0.80, 0.84])
HOURLY_ARRIVALS = np.array([
    2.0, 1.5, 1.2, 1.0, 1.0, 1.2, 1.8, 2.5, 3.2, 3.8, 4.2, 4.5,
    4.8, 5.2, 5.5, 5.6, 5.5, 5.2, 4.8, 4.2, 3.6, 3.0, 2.6, 2.2,
])

# Labelers.
ARCHETYPES = ("expert", "normal", "biased", "spammer")
ARCHETYPE_P = np.array([0.15, 0.65, 0.10, 0.10])
ARCHETYPE_LEVEL = {"expert": (0.90, 0.98), "normal": (0.70, 0.90), "biased": (0.55, 0.78)}
QUEUE_SKILL_SD = 0.04   # per-queue skill around the labeler's level
CLASS_SKILL_SD = 0.03   # per-class accuracy around the per-queue skill
BIAS_ERROR_SHARE = 0.8  # share of a biased labeler's errors that go to its favourite class
DIAG_MIN, DIAG_MAX = 0.30, 0.995  # drift keeps a (non-spammer) accuracy inside these bounds
SPEED_SIGMA = 0.30
SPAMMER_SPEED = (0.20, 0.45)
CERTIFIED_COUNT_P = np.array([0.0, 0.0, 0.30, 0.35, 0.20, 0.10, 0.05])  # P(2..6 queues)
MIN_POOL = 4  # labelers per (queue, language) guaranteed at the start

SITE_P = np.array([0.30, 0.20, 0.20, 0.15, 0.15])
SITE_SHIFT_START_UTC = np.array([1.0, 5.0, 13.0, 7.0, -1.0])  # -1: remote, anywhere
SITE_HOURLY_COST = np.array([[5.5, 8.5], [5.0, 8.0], [7.0, 10.5], [14.0, 21.0], [10.0, 24.0]])
assert len(SITE_P) == len(SITES)
SHIFT_HOURS = np.array([4.0, 6.0, 8.0])
SHIFT_HOURS_P = np.array([0.15, 0.25, 0.60])
# Weekly work patterns (Mon..Sun) and their shares: most work weekdays, some cover weekends.
WORK_PATTERNS = np.array([
    [1, 1, 1, 1, 1, 0, 0],
    [0, 1, 1, 1, 1, 1, 0],
    [1, 1, 1, 1, 0, 0, 1],
    [0, 0, 1, 1, 1, 1, 1],
    [1, 1, 1, 0, 0, 1, 1],
], dtype=bool)
WORK_PATTERN_P = np.array([0.55, 0.12, 0.12, 0.11, 0.10])

# Roster dynamics (daily hazards).
HIRE_RATE = 0.001
OFFBOARD_RATE = 0.0008
SPAMMER_DETECTION_RATE = 0.02
SUSPENSION_RATE = 0.0003
LEAVE_RATE = 0.003
# A labeler gets tasks created on day D only if active through D + HORIZON_DAYS, so nobody
# labels while on leave, suspended or gone (a slot is at most ~6 days from creation).
HORIZON_DAYS = 7

CLIENT_PLATFORMS = ("web", "desktop")
CLIENT_PLATFORM_P = np.array([0.85, 0.15])
RELEASE_EVERY_DAYS = 14

DAY_MS = 86_400_000
HOUR_MS = 3_600_000


def class_prior_matrix() -> np.ndarray:
    """(queues, K_MAX) prior, zero-padded."""
    out = np.zeros((len(QUEUE_NAMES), K_MAX))
    for i, q in enumerate(QUEUE_NAMES):
        out[i, : QUEUE_K[i]] = CLASS_PRIOR[q]
    return out


def expected_judgments_per_task() -> float:
    """Mean judgment lines per task (submitted target plus skipped/expired/abandoned)."""
    mean_r = float(PRIORITY_P @ (REDUNDANCY_P @ np.arange(1, MAX_REDUNDANCY + 1)))
    return mean_r / SUBMITTED_SHARE
