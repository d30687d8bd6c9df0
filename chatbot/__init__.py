"""医保问答: retrieval-augmented answers about Chinese medical insurance, always with citations."""

import os

# OpenMP worker threads (FAISS, torch) busy-wait after each parallel section by default; on a
# small machine they starve the embedder's BLAS threads: after an HNSW build, embedding a batch
# ran about 5× slower (chatbot bench). Idle threads should sleep. Set before faiss/torch load.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"
