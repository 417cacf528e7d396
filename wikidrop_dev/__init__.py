"""Developer tools that are not part of the pipeline and not shipped to Beam workers: the local
Wikimedia-style dump mirror and the text quality report. Run from a checkout of the repository."""
