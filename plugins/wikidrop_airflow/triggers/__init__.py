"""Triggers run by Airflow's triggerer (async, no worker slot held)."""
