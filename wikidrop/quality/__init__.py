"""Quality: per-article measures of the clean text (pure) and the Great Expectations validation
that gates every delivery."""
