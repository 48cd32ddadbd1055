"""File-system questions asked through Hadoop, so local paths and s3a:// URIs behave the same."""

from __future__ import annotations

from pyspark.sql import SparkSession


def _fs_and_path(spark: SparkSession, path: str):
    jvm = spark._jvm
    hpath = jvm.org.apache.hadoop.fs.Path(path)
    return hpath.getFileSystem(spark._jsc.hadoopConfiguration()), hpath


def exists(spark: SparkSession, path: str) -> bool:
    fs, hpath = _fs_and_path(spark, path)
    return bool(fs.exists(hpath))


def list_files(spark: SparkSession, folder: str, suffix: str) -> list[str]:
    """Files directly under ``folder`` ending in ``suffix`` (sorted), or [] if the folder is absent."""
    fs, hpath = _fs_and_path(spark, folder)
    if not fs.exists(hpath):
        return []
    return sorted(
        str(status.getPath().toString())
        for status in fs.listStatus(hpath)
        if status.isFile() and status.getPath().getName().endswith(suffix)
    )
