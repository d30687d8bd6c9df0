"""问答记录, 知识缺口 and 检索测试 (issue 20): admin tabs beside 资料库, behind the same admin login.

Every action proves the admin on that very call (the 资料库 login fields are sent with each one
and checked by its `_Guard`: constant time, throttled); without them the page shows nothing and
the HTTP endpoints (`admin_log`, `admin_gaps`, `admin_log_csv`, `admin_hit_test`) refuse."""

from __future__ import annotations

import html
import logging
import tempfile
import time
from pathlib import Path

import gradio as gr

from ..console import curated
from ..console import recorder as console
from ..textnorm import normalize

log = logging.getLogger(__name__)

LOG_HEADERS = ["编号", "时间", "渠道", "问题", "理解为", "结果", "原因", "评价", "评价原因", "耗时(ms)"]
GAP_HEADERS = ["次数", "问题", "其他问法"]
HIT_HEADERS = ["排名", "融合分", "向量分", "关键词分", "向量排名", "关键词排名", "标题", "来源", "缺少地点", "缺少事实", "段落"]
OUTCOME = {True: "拒答", False: "已回答"}
RATING = {"up": "👍", "down": "👎", None: ""}


def _qlog():
    rec = console.current()
    return rec.qlog if rec is not None else None


def log_rows(rows: list[dict]) -> list[list]:
    return [[r["id"], r["time"], r["channel"], r["question"], r.get("understood_as") or "",
             "出错" if r.get("reason") == "error" else OUTCOME[bool(r["refused"])], r.get("reason") or "",
             RATING.get(r.get("rating"), ""), r.get("rating_reason") or "", r.get("latency_ms") or ""] for r in rows]


def disliked_html(rows: list[dict]) -> str:
    """Each 👎 with its reason and the passages the answer cited."""
    parts = []
    for r in rows:
        if r.get("rating") != "down":
            continue
        cites = "".join(
            f"<li><b>[{c.get('n')}] {html.escape(str(c.get('title') or ''))}</b> "
            f"<small>{html.escape(str(c.get('source') or ''))} {html.escape(str(c.get('date') or ''))}</small>"
            f"<blockquote>{html.escape(str(c.get('text') or '')[:600])}</blockquote></li>" for c in r.get("citations") or [])
        parts.append(f"<details class='disliked'><summary>👎 {html.escape(r['question'])} — "
                     f"<b>{html.escape(r.get('rating_reason') or '未选原因')}</b> · {html.escape(r['time'])}</summary>"
                     f"<p>{html.escape(r.get('answer') or '')}</p><ol>{cites or '<li>（没有引用）</li>'}</ol></details>")
    return "".join(parts) or "<p>没有 👎 记录。</p>"


def hit_rows(retrieval) -> list[list]:
    rows = []
    for i, h in enumerate(retrieval.hits, 1):
        p = h.passage
        rows.append([i, round(h.score, 4), round(h.dense_score, 4), round(h.keyword_score, 4), h.dense_rank or "",
                     h.keyword_rank or "", p.title, p.source, "、".join(h.missing), "、".join(h.lacks), p.text[:200]])
    return rows


def add_tabs(config, qa, guard, creds: list) -> list[gr.Tab]:
    """The tabs of the admin app, beside 资料库; `creds`: the 资料库 login fields."""

    def check(u, p, request) -> None:
        denied = guard.deny(u, p, request)
        if denied:
            raise gr.Error(denied)

    with gr.Tab("问答记录", elem_id="log-tab") as log_tab:
        gr.Markdown("用 **资料库** 页的管理员账号登录后查询。问题记录保存在服务器本地，不含 IP 地址。")
        with gr.Row():
            refused = gr.Checkbox(label="只看拒答", elem_id="log-refused")
            down = gr.Checkbox(label="只看 👎", elem_id="log-down")
            since = gr.Textbox(label="起始日期", placeholder="YYYY-MM-DD", elem_id="log-since")
            until = gr.Textbox(label="截止日期", placeholder="YYYY-MM-DD", elem_id="log-until")
            text = gr.Textbox(label="包含文字", elem_id="log-text")
        with gr.Row():
            search = gr.Button("查询", variant="primary", elem_id="log-search")
            gaps_button = gr.Button("知识缺口", elem_id="log-gaps")
            export = gr.Button("导出 CSV", elem_id="log-export")
        summary = gr.Markdown("", elem_id="log-summary")
        table = gr.Dataframe(headers=LOG_HEADERS, value=[], interactive=False, wrap=True, elem_id="log-table")
        disliked = gr.HTML("", elem_id="log-disliked")
        gr.Markdown("### 知识缺口（拒答的问题，按相似度归组，问得最多的在前）")
        gaps = gr.Dataframe(headers=GAP_HEADERS, value=[], interactive=False, wrap=True, elem_id="log-gaps-table")
        csv_file = gr.File(label="CSV", elem_id="log-csv", interactive=False)
        gr.Markdown("### 标注：为某条记录写答复（存为资料库中的「管理员答复」文档，重建索引后生效）")
        with gr.Row():
            curate_id = gr.Number(label="编号", precision=0, elem_id="curate-id")
            curate_answer = gr.Textbox(label="答复", lines=3, elem_id="curate-answer", scale=4)
        curate = gr.Button("保存标注", elem_id="curate-save")
        curate_msg = gr.Markdown("", elem_id="curate-msg")

    with gr.Tab("检索测试", elem_id="hit-tab") as hit_tab:
        hit_question = gr.Textbox(label="问题", elem_id="hit-question")
        hit_go = gr.Button("测试", variant="primary", elem_id="hit-go")
        verdict = gr.Markdown("", elem_id="hit-verdict")
        hits = gr.Dataframe(headers=HIT_HEADERS, value=[], interactive=False, wrap=True, elem_id="hit-table")

    from ..console.batch import BatchEval, figures_table, read_gold

    batch = BatchEval(qa, Path(config.feedback_dir))
    with gr.Tab("批量评测", elem_id="eval-tab") as eval_tab:
        gr.Markdown("上传标准答案文件：dev 文件的 JSONL（query、evidence、history），或 CSV（列 query,evidence；"
                    "多个 evidence 用 | 分隔）。评测在后台进行，结果与上一次比较。")
        gold = gr.File(label="标准答案文件", file_types=[".jsonl", ".csv"], elem_id="eval-file")
        eval_go = gr.Button("开始评测", variant="primary", elem_id="eval-go")
        eval_progress = gr.HTML("", elem_id="eval-progress")
        eval_figures = gr.Dataframe(headers=["指标", "本次", "上次", "变化"], value=[], interactive=False,
                                    elem_id="eval-figures")
        eval_misses = gr.JSON(label="未命中", elem_id="eval-misses")

    def _eval_progress() -> str:
        st = batch.state
        if st.error:
            return f"<div id='eval-label'>评测失败：{html.escape(st.error)}</div>"
        pct = int(100 * st.done / st.total) if st.total else 0
        label = f"评测中 {st.done}/{st.total}" if st.running else (f"完成：{st.total} 题，用时 {st.seconds} 秒" if st.report else "")
        return f"<progress max='100' value='{pct}' style='width:100%'></progress><div id='eval-label'>{label}</div>"

    def do_eval(u, p, uploaded, request: gr.Request):
        check(u, p, request)
        path = getattr(uploaded, "path", None) or getattr(uploaded, "name", None) or (uploaded if isinstance(uploaded, str) else None)
        if not path:
            yield "<div id='eval-label'>请先选择文件。</div>", gr.update(), gr.update()
            return
        try:
            items = read_gold(Path(path))
        except (OSError, ValueError) as exc:
            yield f"<div id='eval-label'>文件无法读取：{html.escape(str(exc))}</div>", gr.update(), gr.update()
            return
        finally:
            Path(path).unlink(missing_ok=True)
        if not items:
            yield "<div id='eval-label'>文件中没有问题。</div>", gr.update(), gr.update()
            return
        if not batch.start(items, Path(path).name):
            yield "<div id='eval-label'>已有评测在进行。</div>", gr.update(), gr.update()
            return
        while batch.state.running:
            yield _eval_progress(), gr.update(), gr.update()
            time.sleep(0.5)
        st = batch.state
        yield (_eval_progress(), figures_table(st.report, (st.previous or {}).get("report")),
               {"report": st.report, "misses": st.misses})

    def do_log(u, p, only_refused, only_down, start, end, words, request: gr.Request):
        check(u, p, request)
        qlog = _qlog()
        if qlog is None or not qlog.enabled:
            return "问答记录已关闭（--no-log）。", [], ""
        rows = qlog.rows(refused=True if only_refused else None, down=bool(only_down), since=(start or "").strip() or None,
                         until=(end or "").strip() or None, text=(words or "").strip()[:200] or None)
        note = f"共 {len(rows)} 条" + (f"。⚠️ {html.escape(qlog.problem)}" if qlog.problem else "")
        return note, log_rows(rows), disliked_html(rows)

    def do_curate(u, p, rowid, answer, request: gr.Request):
        check(u, p, request)
        qlog = _qlog()
        try:
            rowid = int(rowid)
        except (TypeError, ValueError):
            return "请填写编号。"
        rows = [r for r in (qlog.rows(limit=100_000) if qlog is not None else []) if r["id"] == rowid]
        if not rows:
            return f"没有编号 {rowid} 的记录。"
        question = rows[0].get("understood_as") or rows[0]["question"]
        try:
            path = curated.write(Path(config.documents_dir), question, answer)
        except ValueError as exc:
            return str(exc)
        return f"已保存为 {html.escape(path.name)}。请在资料库点击「重建索引」让对话使用它。"

    def do_gaps(u, p, request: gr.Request):
        check(u, p, request)
        qlog = _qlog()
        if qlog is None:
            return []
        try:  # by meaning, with the chat's own model; by character bigrams if the model cannot be used
            groups = qlog.gaps(encode=lambda texts: qa.embedder.encode([normalize(t) for t in texts]))
        except Exception:  # noqa: BLE001
            log.exception("grouping the refused questions by meaning failed; grouping by characters")
            groups = qlog.gaps()
        return [[g["count"], g["question"], "；".join(q for q in g["questions"] if q != g["question"])] for g in groups]

    def do_csv(u, p, request: gr.Request):
        check(u, p, request)
        qlog = _qlog()
        folder = Path(tempfile.mkdtemp(prefix="qlog-"))
        path = folder / "questions.csv"
        path.write_text("\ufeff" + (qlog.csv() if qlog is not None else ""), encoding="utf-8")
        return str(path)

    def do_hit_test(u, p, question, request: gr.Request):
        check(u, p, request)
        question = str(question or "").strip()[: config.max_message_chars]
        if not question:
            return "请输入问题。", []
        answer, retrieval = qa.ask_with_hits(question, 10)
        if answer.refused:
            line = f"**拒答**（检查：`{html.escape(str(answer.reason))}`）：{html.escape(answer.text[:300])}"
        else:
            line = f"**回答**（引用 {len(answer.citations)} 段）：{html.escape(answer.text[:300])}"
            top = answer.citations[0] if answer.citations else None
            if top is not None and curated.question_of(top.passage.title):
                line += f"\n\n来自标注（管理员答复），与其问题的相似度 {top.score:.2f}。"
        if answer.understood_as:
            line += f"\n\n理解为：{html.escape(answer.understood_as)}"
        return line, hit_rows(retrieval)

    hidden = dict(api_visibility="undocumented")
    filters = [refused, down, since, until, text]
    search.click(do_log, creds + filters, [summary, table, disliked], api_name="admin_log", **hidden)
    curate.click(do_curate, creds + [curate_id, curate_answer], [curate_msg], api_name="admin_curate",
                 concurrency_limit=1, **hidden)
    gaps_button.click(do_gaps, creds, [gaps], api_name="admin_gaps", **hidden)
    export.click(do_csv, creds, [csv_file], api_name="admin_log_csv", **hidden)
    hit_go.click(do_hit_test, creds + [hit_question], [verdict, hits], api_name="admin_hit_test",
                 concurrency_id="answer", concurrency_limit=config.answer_concurrency, **hidden)

    eval_go.click(do_eval, creds + [gold], [eval_progress, eval_figures, eval_misses], api_name="admin_eval",
                  concurrency_limit=1, **hidden)

    return [log_tab, hit_tab, eval_tab]
