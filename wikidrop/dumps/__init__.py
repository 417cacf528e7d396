"""Dumps in: Wikimedia's dump files, read and staged (dumpstatus, staging, export XML, multistream
index, siteinfo, titles). Pure Python; nothing here imports Beam or Airflow."""
