"""Server-side HTML for the hub's pages and self-contained result reports (standard library)."""
