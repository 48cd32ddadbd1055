"""Which classes a task can take, per group (a queue in the pipeline, one group for a file).

Every model works on integer class indices; this is the one place that says which
string label an index means, and in which order classes come (the order decides
majority-vote ties and the order of ``posterior`` arrays).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

FILE_GROUP = "all"  # the single group of an arbitrary task,worker,label file
MAX_FILE_CLASSES = 1000  # more distinct labels than this is not a categorical label column


class LabelSpaceError(ValueError):
    """Labels that cannot be encoded: no classes, too many, or a label outside the class set."""


@dataclass(frozen=True)
class ClassSpace:
    """Groups (queues) and their ordered classes; K is the largest class count."""

    groups: tuple[str, ...]
    classes: tuple[tuple[str, ...], ...]

    def __post_init__(self) -> None:
        if not self.groups:
            raise LabelSpaceError("a class space needs at least one group")
        if len(self.groups) != len(self.classes):
            raise LabelSpaceError("one class tuple per group is required")
        for group, labels in zip(self.groups, self.classes, strict=True):
            if not labels:
                raise LabelSpaceError(f"group {group!r} has no classes")
            if len(set(labels)) != len(labels):
                raise LabelSpaceError(f"group {group!r} repeats a class: {labels}")

    @classmethod
    def single(cls, labels: Iterable[str], group: str = FILE_GROUP) -> ClassSpace:
        """One group whose classes are the distinct labels, sorted as strings."""
        distinct = tuple(sorted({str(x) for x in labels}))
        if not distinct:
            raise LabelSpaceError("no labels: the input has no judgments")
        if len(distinct) > MAX_FILE_CLASSES:
            raise LabelSpaceError(
                f"{len(distinct)} distinct labels (more than {MAX_FILE_CLASSES}): the label column "
                "does not look categorical")
        return cls((group,), (distinct,))

    @classmethod
    def from_queues(cls, queues: Mapping[str, object], names: Sequence[str] | None = None) -> ClassSpace:
        """The platform's queues (``schemas.reference.QUEUES``): classes in the queue's own order."""
        chosen = sorted(names) if names is not None else sorted(queues)
        return cls(tuple(chosen), tuple(tuple(queues[q].labels) for q in chosen))

    @property
    def n_groups(self) -> int:
        return len(self.groups)

    @property
    def k(self) -> int:
        return max(len(c) for c in self.classes)

    @property
    def n_classes(self) -> np.ndarray:
        """(G,) number of classes of each group."""
        return np.array([len(c) for c in self.classes], dtype=np.int64)

    @property
    def class_mask(self) -> np.ndarray:
        """(G, K) True where class index k exists in group g."""
        return np.arange(self.k)[None, :] < self.n_classes[:, None]

    def group_index(self, group: str) -> int:
        try:
            return self.groups.index(group)
        except ValueError:
            raise LabelSpaceError(f"unknown group {group!r}; known: {list(self.groups)}") from None
