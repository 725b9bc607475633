"""Server-side HTML for the hub's pages and self-contained result reports (Jinja2 templates in
`templates/`, charts by matplotlib)."""
