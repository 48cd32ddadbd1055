"""How the stack starts: Delta jar resolution, Spark defaults, Airflow home, local cluster."""
