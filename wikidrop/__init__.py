"""wikidrop: Wikimedia dumps -> validated partner-ready Wikipedia datasets."""
