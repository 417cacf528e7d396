"""Great Expectations Data Docs for analysts: vendored offline assets, upload, and the UI app."""
