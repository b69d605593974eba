"""Server-rendered pages (Jinja). One module per area, each exposing `bp`, listed in
web/app.py PAGE_BLUEPRINTS."""
