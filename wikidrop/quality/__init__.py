"""Quality: per-article measures of the clean text (``measures``, pure) and the Great Expectations
validation that gates every delivery (``suites``, ``frames``, ``gx``, run by ``validation``)."""
