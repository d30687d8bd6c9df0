"""The files backend: FAISS vectors and a BM25 index in a versioned folder under embeddings/."""
