"""Where tables live under a lake root (a local folder or any Hadoop URI such as s3a://bucket/lake)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from schemas.contract import TableContract

LAKE_ENV = "LABELOPS_LAKE"
RAW_ENV = "LABELOPS_RAW"
DEFAULT_LAKE = "lakehouse"


def normalize_root(root: str) -> str:
    """Absolute local paths (so spark-submit from any cwd agrees); URIs unchanged."""
    parsed = urlparse(root)
    if parsed.scheme and parsed.scheme != "file" and len(parsed.scheme) > 1:
        return root.rstrip("/")
    path = parsed.path if parsed.scheme == "file" else root
    return str(Path(path).expanduser().resolve())


@dataclass(frozen=True)
class Lake:
    root: str

    @classmethod
    def from_arg(cls, root: str | None) -> Lake:
        return cls(normalize_root(root or os.environ.get(LAKE_ENV) or DEFAULT_LAKE))

    @property
    def is_local(self) -> bool:
        return "://" not in self.root

    def path(self, contract: TableContract) -> str:
        folder = "_ops" if contract.layer == "ops" else contract.layer
        return f"{self.root}/{folder}/{contract.name}"

    @property
    def quality_root(self) -> str | None:
        """GX results and Data Docs: under a local lake, else $LABELOPS_QUALITY_DIR (local)."""
        if self.is_local:
            return f"{self.root}/_quality"
        return os.environ.get("LABELOPS_QUALITY_DIR")

    @property
    def reports_root(self) -> str:
        return f"{self.root}/_reports" if self.is_local else os.environ.get("LABELOPS_REPORTS_DIR", "reports")
