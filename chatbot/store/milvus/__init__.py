"""The Milvus backend: Milvus Lite file or a Milvus server (connection, schema, search, build)."""
