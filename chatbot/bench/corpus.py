"""The bench's corpora: the real one's material (titles, sentences, their embeddings and tokens),
synthetic passages recombined from it at any size, their derived vectors (calibrated on passages
embedded for real), synthetic portal pages, and the questions to time."""

from __future__ import annotations

import json
import math
import shutil
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..config import Config

SYNTHETIC_PAGE_ITEMS = 20      # items per synthetic portal page, like the real pages


# Questions a user might type that no title states: English, Traditional, colloquial.
EXTRA_QUESTIONS = [
    "How do I pay for basic medical insurance?",
    "What is the phone number of the medical insurance bureau?",
    "醫保斷繳了怎麼辦",
    "異地就醫怎麼報銷",
    "衡水医保电话",
    "新生儿医保怎么办理",
    "灵活就业人员医保怎么交",
    "医保卡丢了怎么补办",
    "居民医保一年交多少钱",
    "医保个人账户的钱能取出来吗",
    "门诊慢特病报销比例是多少",
    "大病保险什么时候开始报销",
]


def question_pool(titles: list[str], extra_file: str | None, seed: int) -> list[str]:
    """Distinct questions (a repeated one would hit caches a real user's question does not)."""
    if extra_file:
        out = []
        with open(extra_file, encoding="utf-8") as fh:
            for line in fh:
                line = line.strip()
                if not line:
                    continue
                if line.startswith("{"):
                    line = str(json.loads(line).get("query", "")).strip()
                if line:
                    out.append(line)
    else:
        base = [t.strip() for t in titles if len(t.strip()) >= 4]
        out = list(EXTRA_QUESTIONS) + base
        out += ["请问" + t for t in base] + [t.rstrip("?？") + "？" for t in base] + [t + "呢" for t in base]
    out = list(dict.fromkeys(out))
    np.random.default_rng(seed).shuffle(out)
    return out


def take(pool: list[str], n: int, skip: int = 0) -> list[str]:
    """n questions from the pool after `skip`, cycling when the pool is short."""
    if not pool:
        return []
    return [pool[(skip + i) % len(pool)] for i in range(n)]


_ENDS = "。！？；!?;"  # a sentence ending here ends a jieba block and a CJK run: its tokens add up


@dataclass
class Material:
    """Real pieces to recombine: titles and sentences, their keyword tokens and real embeddings."""

    titles: list[str]
    sentences: list[str]
    vocab: dict[str, int]
    piece_ids: np.ndarray       # flat token ids of every piece (titles first, then sentences)
    piece_offsets: np.ndarray   # piece p's tokens are piece_ids[offsets[p]:offsets[p+1]]
    vectors: np.ndarray         # (pieces, d) real embeddings of the normalised pieces
    lengths: np.ndarray         # characters per piece
    embed_s: float = 0.0

    @property
    def n_titles(self) -> int:
        return len(self.titles)


def material(documents_dir: Path, embedder) -> Material:
    from ..ingest.chunking import split_sentences
    from ..ingest.documents import load_folder
    from ..textnorm import keyword_tokens, normalize

    files, _ = load_folder(documents_dir)
    docs = [d for f in files for d in f.documents]
    titles = list(dict.fromkeys(d.title.strip() for d in docs if len(d.title.strip()) >= 4))
    sentences = list(dict.fromkeys(
        s for d in docs for s in split_sentences(d.text) if 6 <= len(s) <= 160 and s[-1] in _ENDS))
    if not titles or not sentences:
        raise ValueError(f"no titles or sentences to recombine in {documents_dir}")
    pieces = [normalize(x) for x in titles + sentences]
    vocab: dict[str, int] = {}
    ids, offsets = [], [0]
    for text in pieces:
        ids.extend(vocab.setdefault(t, len(vocab)) for t in keyword_tokens(text, normalized=True))
        offsets.append(len(ids))
    t = time.perf_counter()
    vectors = embedder.encode(pieces)
    embed_s = time.perf_counter() - t
    return Material(titles, sentences, vocab, np.asarray(ids, dtype=np.int32), np.asarray(offsets, dtype=np.int64),
                    np.ascontiguousarray(vectors, dtype=np.float32), np.asarray([len(x) for x in titles + sentences]),
                    embed_s)


@dataclass
class Layout:
    """n synthetic passages: each a real title and 1–5 real sentences, within the chunk size."""

    title: np.ndarray       # (n,) piece id of the title
    sents: np.ndarray       # (n, 5) piece ids of the sentences, -1 where unused

    def __len__(self) -> int:
        return len(self.title)


def layout(m: Material, n: int, rng: np.random.Generator, max_chars: int) -> Layout:
    title = rng.integers(0, m.n_titles, size=n).astype(np.int32)
    sents = rng.integers(m.n_titles, len(m.lengths), size=(n, 5)).astype(np.int32)
    want = rng.integers(1, 6, size=n)
    cum = np.cumsum(m.lengths[sents], axis=1)
    keep = (np.arange(5)[None, :] < want[:, None]) & (cum <= max_chars)
    keep[:, 0] = True
    return Layout(title, np.where(keep, sents, -1).astype(np.int32))


def _pieces(lay: Layout, start: int, end: int) -> tuple[np.ndarray, np.ndarray]:
    """(flat piece ids in passage order, pieces per passage) for passages [start, end)."""
    grid = np.concatenate([lay.title[start:end, None], lay.sents[start:end]], axis=1)
    mask = grid >= 0
    return grid[mask], mask.sum(axis=1)


def _ranges(starts: np.ndarray, lens: np.ndarray) -> np.ndarray:
    """Concatenation of arange(s, s + l) for each (s, l), without a Python loop."""
    total = int(lens.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    shift = np.repeat(starts - np.concatenate([[0], np.cumsum(lens)[:-1]]), lens)
    return shift + np.arange(total, dtype=np.int64)


def layout_tokens(m: Material, lay: Layout, start: int, end: int) -> tuple[np.ndarray, np.ndarray]:
    """(flat token ids, tokens per passage) of passages [start, end): their pieces' tokens in order."""
    flat, per = _pieces(lay, start, end)
    plen = np.diff(m.piece_offsets)
    lens = plen[flat]
    ids = m.piece_ids[_ranges(m.piece_offsets[flat], lens)]
    doc_len = np.add.reduceat(lens, np.concatenate([[0], np.cumsum(per)[:-1]])) if len(per) else np.zeros(0, np.int64)
    return ids, doc_len


def layout_text(m: Material, lay: Layout, i: int) -> tuple[str, str]:
    """(title, text) of synthetic passage i."""
    return m.titles[lay.title[i]], "".join(m.sentences[s - m.n_titles] for s in lay.sents[i] if s >= 0)


def derive_vectors(m: Material, lay: Layout, start: int, end: int, sigma: float, rng: np.random.Generator,
                   out: np.ndarray | None = None) -> np.ndarray:
    """Vectors for passages [start, end): the character-weighted sum of the real embeddings of
    their title and sentences, plus isotropic noise of scale `sigma`, L2-normalised."""
    d = m.vectors.shape[1]
    grid = np.concatenate([lay.title[start:end, None], lay.sents[start:end]], axis=1)
    w = np.where(grid >= 0, m.lengths[np.maximum(grid, 0)], 0).astype(np.float32)
    v = np.zeros((end - start, d), dtype=np.float32)
    for j in range(grid.shape[1]):
        v += w[:, j:j + 1] * m.vectors[np.maximum(grid[:, j], 0)]
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    if sigma > 0:
        v += rng.standard_normal(v.shape, dtype=np.float32) * np.float32(sigma)
        v /= np.linalg.norm(v, axis=1, keepdims=True)
    if out is not None:
        out[:] = v
        return out
    return v


def write_pages(m: Material, folder: Path, n_files: int, rng: np.random.Generator, prefix: str = "synthetic") -> int:
    """Synthetic portal pages in the real pages' format (main article, 相关推荐, dated items)."""
    folder.mkdir(parents=True, exist_ok=True)
    for f in range(n_files):
        lines = [m.titles[int(rng.integers(m.n_titles))], ""]
        for s in rng.integers(0, len(m.sentences), size=int(rng.integers(4, 11))):
            lines += [m.sentences[s], ""]
        lines += ["相关推荐", ""]
        for _ in range(SYNTHETIC_PAGE_ITEMS):
            lines += [m.titles[int(rng.integers(m.n_titles))], ""]
            lines += ["".join(m.sentences[s] for s in rng.integers(0, len(m.sentences), size=int(rng.integers(1, 4)))), ""]
            lines += [f"健康新闻 2025-{int(rng.integers(1, 13)):02d}-{int(rng.integers(1, 29)):02d}", ""]
        (folder / f"{prefix}_{f:05d}.txt").write_text("\n".join(lines), encoding="utf-8")
    return n_files


@dataclass
class Calibration:
    """What a real synthetic passage costs to parse, normalise+tokenise and embed, and how far a
    real embedding lies from the derived one (which sets the noise of derived vectors)."""

    sample: int
    parse_s: float       # per passage: read, decode, split pages into articles, chunk
    textprep_s: float    # per passage: normalise, jieba + bigrams, map to ids
    embed_s: float       # per passage, batched as in `chatbot build`
    cos_mean: float      # mean cosine between a real embedding and its noise-free derived vector
    sigma: float         # noise scale giving derived vectors that same cosine

    def as_dict(self) -> dict:
        return {"sample_passages": self.sample, "parse_ms_per_passage": round(self.parse_s * 1e3, 3),
                "normalize_tokenize_ms_per_passage": round(self.textprep_s * 1e3, 3),
                "embed_ms_per_passage": round(self.embed_s * 1e3, 3),
                "derived_cosine_to_real_mean": round(self.cos_mean, 4), "noise_sigma": round(self.sigma, 5)}


def calibrate(m: Material, embedder, config: Config, sample: int, rng: np.random.Generator, work: Path) -> Calibration:
    from ..ingest.chunking import chunk_documents
    from ..types import Passage
    from ..ingest.documents import load_folder
    from ..store.keyword import KeywordIndex

    sample = max(20, sample)
    # parse + chunk, on synthetic pages written in the real format
    pages = work / "calibration"
    write_pages(m, pages, max(1, math.ceil(sample / (SYNTHETIC_PAGE_ITEMS + 2))), rng)
    a = time.perf_counter()
    files, _ = load_folder(pages)
    parsed = [p for f in files for p in chunk_documents(f.documents, config.chunk_chars, config.chunk_overlap)]
    parse_s = (time.perf_counter() - a) / max(1, len(parsed))
    # passages exactly like the synthetic ones of the large sizes
    lay = layout(m, sample, rng, config.chunk_chars)
    passages = []
    for i in range(sample):
        title, text = layout_text(m, lay, i)
        passages.append(Passage(f"cal#{i}:0", f"cal#{i}", "cal", title, None, i, "item", text))
    a = time.perf_counter()
    texts = [p.embed_text_normalized for p in passages]
    KeywordIndex.build(texts)
    textprep_s = (time.perf_counter() - a) / sample
    a = time.perf_counter()
    real = np.concatenate([embedder.encode(texts[i:i + 256]) for i in range(0, sample, 256)])
    embed_s = (time.perf_counter() - a) / sample
    clean = derive_vectors(m, lay, 0, sample, 0.0, rng)
    cos = float(np.mean(np.sum(real * clean, axis=1)))
    d = real.shape[1]
    # ‖c + σg‖ with ‖c‖ = 1 and g ~ N(0, I_d): cos(c, c + σg) ≈ 1/√(1 + dσ²)
    sigma = math.sqrt(max(0.0, 1.0 / max(cos, 1e-3) ** 2 - 1.0) / d)
    shutil.rmtree(pages, ignore_errors=True)
    return Calibration(sample, parse_s, textprep_s, embed_s, cos, sigma)


def synthetic_keyword(m: Material, lay: Layout, chunk: int = 20_000):
    """BM25 over the synthetic passages; their tokens are their pieces' tokens (pieces end where
    jieba blocks and CJK runs end, so this equals tokenising each passage, checked on a sample).
    Built from flat int32 token ids, as `chatbot build` builds it (no list of token strings)."""
    from ..store.keyword import EMPTY, KeywordIndex

    vocab = [""] * len(m.vocab)
    for t, i in m.vocab.items():
        vocab[i] = t
    empty = len(vocab)   # a passage without any keyword token gets EMPTY, as in `tokenize`
    vocab.append(EMPTY)
    plen = np.diff(m.piece_offsets)
    lengths = plen[lay.title] + np.where(lay.sents >= 0, plen[np.maximum(lay.sents, 0)], 0).sum(axis=1)
    ids = np.empty(int(lengths.sum()) + int((lengths == 0).sum()), dtype=np.int32)
    at = 0
    for s in range(0, len(lay), chunk):
        part, lens = layout_tokens(m, lay, s, min(len(lay), s + chunk))
        if (lens == 0).any():   # insert EMPTY where a passage has no token
            ends = np.cumsum(lens)
            part = np.insert(part, ends[lens == 0], empty)
        ids[at:at + part.size] = part
        at += part.size
    return KeywordIndex.from_ids(ids, np.maximum(lengths, 1), vocab)


def tokens_additive(m: Material, lay: Layout, n: int = 200) -> float:
    """Share of synthetic passages whose own tokens equal their pieces' tokens (as multisets)."""
    from ..textnorm import keyword_tokens, normalize

    inv = {i: t for t, i in m.vocab.items()}
    ok = 0
    n = min(n, len(lay))
    for i in range(n):
        title, text = layout_text(m, lay, i)
        own = Counter(keyword_tokens(normalize(f"{title}\n{text}"), normalized=True))
        ids, _ = layout_tokens(m, lay, i, i + 1)
        ok += own == Counter(inv[int(x)] for x in ids)
    return ok / n if n else 1.0
