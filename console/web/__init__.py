"""The console's routers: officer, editor, learning and analytics pages and their JSON API."""
