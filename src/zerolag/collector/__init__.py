"""The zerolag collector: an OTLP/HTTP receiver with an embedded SQLite store and a viewer.

```python
from zerolag.collector import Collector, CollectorConfig
with Collector(CollectorConfig(db_path=path, ingest_keys=frozenset({"k"}), port=0)) as c:
    c.url   # OTLP endpoint base (POST /v1/traces...) and viewer (GET /?key=k)
```
It runs outside Lambda, so it may use more than the standard library; today it needs nothing else.
"""

from __future__ import annotations

from zerolag.collector.config import CollectorConfig
from zerolag.collector.server import Collector
from zerolag.collector.store import Store

__all__ = ["Collector", "CollectorConfig", "Store"]
