"""Process exit codes shared by jobs and the Airflow operator (kept import-light)."""

OK = 0
ERROR = 1          # anything unexpected: retrying may help
GATE_FAILED = 2    # the data broke a quality gate: retrying the same input cannot help
