"""Apache Beam jobs (shipped as part of the wikidrop package to Dataflow/Flink/Spark workers)."""
