"""Spark job entry points and the runtime they share (session, lake, writes, gates, runs)."""
