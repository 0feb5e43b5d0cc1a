"""The viewer's answers to a function owner's questions: the functions overview, search, whole traces,
dependencies, logs and metrics, over a time range. Queries are portable SQL (SQLite and PostgreSQL);
percentiles are computed in Python over bounded rows. Pages are server-rendered; the only script is the
static ``live.js`` that refreshes marked parts of a page (CSP-friendly: no inline script or style)."""
