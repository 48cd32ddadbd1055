"""Data contracts: every table's schema, keys, partitioning and expectations, defined once.

Imports nothing else from labelops, so jobs, gates, tests and the generator all read
the same definitions.
"""

from schemas.contract import Expectation, TableContract

__all__ = ["Expectation", "TableContract"]
