"""Sensors of the wikidrop pipeline (deferrable: they wait in the triggerer)."""
