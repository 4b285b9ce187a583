"""The scheduled watch: re-crawl due sources, classify what changed, send affected indicators back to review."""
