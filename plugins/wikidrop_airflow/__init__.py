"""wikidrop's Airflow parts: hooks, sensors/triggers, task builders and the DAG factory."""
