"""Pure DataFrame -> DataFrame transformations of the ingest and silver stages."""
