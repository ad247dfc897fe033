"""paperkg's knowledge graph of research papers, usable from Python with no server (README: "Use from
Python"): kg.config.load_config and kg.store.open_store (a context manager; read_only=True to only read)
open the store; kg.search.search ranks papers (mode "keyword", or "hybrid"/"semantic" with an embedder
from ingest.embed.get_embedder, checked against the store by ingest.embed.check_store_model);
kg.related.related finds related papers; api.bibtex.to_bibtex cites one; ingest.pipeline.run_ingest
adds ingest.records.Record objects."""
