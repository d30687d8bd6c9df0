"""Realistic test documents: a policy page (HTML → Chromium print-to-PDF, with a table and a fact
that only page 2 states), a Word file with headings and a table, and a saved portal page."""

from __future__ import annotations

import html
import io
import re
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
# Debian's Chromium with no network chatter (this machine's closed network refuses it).
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--no-first-run", "--disable-quic"]

# Facts a test can ask about; each is stated in exactly one place.
PAGE2_FACT = "0311-87654321"          # the service hotline, only on page 2 of the PDF
DOCX_FACT = "0311-12393"              # 异地就医 consultation number, only in the Word file

POLICY_HTML = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>某市城乡居民基本医疗保险待遇政策</title>
<style>
body{font-family:"Noto Sans CJK SC",sans-serif;font-size:14pt;line-height:1.6}
table{border-collapse:collapse} td,th{border:1px solid #000;padding:4px}
.pb{page-break-before:always}
</style></head><body>
<h1>某市城乡居民基本医疗保险待遇政策</h1>
<h2>第一部分 参保缴费</h2>
<p>城乡居民基本医疗保险实行个人缴费与政府补助相结合的筹资方式。2025年度居民个人缴费标准为每人每年380元，财政补助标准为每人每年不低于670元。参保居民应于每年9月1日至12月31日集中缴费期内缴纳下一年度的医疗保险费，逾期未缴费的，自缴费次月起设置三个月待遇等待期。新生儿自出生之日起九十日内办理参保登记并缴费的，自出生之日起享受医保待遇。</p>
<p>一户家庭中的居民可以通过医保电子凭证为家庭成员代缴保费，低保对象、特困人员和重度残疾人的个人缴费部分由财政给予全额或定额资助。</p>
<h2>第二部分 住院待遇</h2>
<p>参保居民在定点医疗机构住院发生的政策范围内医疗费用，起付标准以上、最高支付限额以下的部分，由统筹基金按以下比例支付：</p>
<table>
<tr><th>医院等级</th><th>起付标准</th><th>报销比例</th></tr>
<tr><td>一级</td><td>200元</td><td>85%</td></tr>
<tr><td>二级</td><td>500元</td><td>75%</td></tr>
<tr><td>三级</td><td>1000元</td><td>60%</td></tr>
</table>
<p>一个自然年度内多次住院的，起付标准逐次降低，第二次住院起付标准按第一次的百分之五十计算，第三次及以上不再设起付标准。统筹基金年度最高支付限额为二十万元。</p>
<div class="pb"></div>
<h2>第三部分 门诊待遇</h2>
<p>普通门诊统筹不设起付标准，在基层定点医疗机构发生的政策范围内门诊费用报销比例为百分之五十，年度支付限额为四百元。高血压、糖尿病门诊用药保障不设起付线，政策范围内费用报销比例为百分之七十。</p>
<p>异地就医备案后在就医地定点医疗机构直接结算的，执行就医地规定的支付范围和参保地规定的报销比例。未备案的临时外出就医人员，报销比例降低十个百分点。</p>
<h2>第四部分 经办服务</h2>
<p>参保居民可拨打某市医保服务热线0311-87654321咨询，工作时间为工作日上午八点半至下午五点半。参保人也可以通过国家医保服务平台查询个人参保缴费和待遇享受记录。</p>
</body></html>
"""

_HEADER = '<div style="font-size:9px;width:100%;text-align:center">某市医疗保障局 政策文件</div>'
_FOOTER = ('<div style="font-size:9px;width:100%;text-align:center">第<span class="pageNumber"></span>页 '
           '共<span class="totalPages"></span>页</div>')


def print_pdf(page_html: str, out: Path, tmp: Path) -> tuple[Path, str]:
    """Print HTML to PDF with Chromium (running header and page-number footer on every page);
    returns (pdf path, the page's visible text as the browser renders it)."""
    from playwright.sync_api import sync_playwright

    src = Path(tmp) / (Path(out).stem + ".src.html")
    src.write_text(page_html, encoding="utf-8")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--headless"])
        try:
            page = browser.new_page()
            page.goto(src.as_uri())
            text = page.inner_text("body")
            page.pdf(path=str(out), format="A4", display_header_footer=True, header_template=_HEADER,
                     footer_template=_FOOTER, margin={"top": "60px", "bottom": "60px", "left": "50px", "right": "50px"})
        finally:
            browser.close()
    return Path(out), text


def encrypt_pdf(raw: bytes, password: str = "secret") -> bytes:
    import pypdf

    writer = pypdf.PdfWriter(clone_from=io.BytesIO(raw))
    writer.encrypt(user_password=password, owner_password=password + "-owner", algorithm="AES-256")
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def blank_pdf() -> bytes:
    """A PDF with a page and no text layer (what a scanned document looks like to a reader)."""
    import pypdf

    writer = pypdf.PdfWriter()
    writer.add_blank_page(595, 842)
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def make_docx(path: Path) -> Path:
    """A Word guide with a title, two heading levels and a table."""
    import docx

    d = docx.Document()
    d.core_properties.title = ""
    d.add_heading("某市职工基本医疗保险办事指南", 0)
    d.add_heading("第一部分 参保登记", 1)
    d.add_paragraph("用人单位应当自用工之日起三十日内为职工办理职工基本医疗保险参保登记，职工个人按本人工资的百分之二缴纳。")
    d.add_heading("第二部分 住院待遇", 1)
    d.add_paragraph("职工在定点医疗机构住院，起付标准和报销比例按医院等级确定：")
    table = d.add_table(rows=1, cols=3)
    for cell, text in zip(table.rows[0].cells, ("医院等级", "起付标准", "报销比例")):
        cell.text = text
    for row in (("一级", "200元", "85%"), ("二级", "500元", "75%"), ("三级", "1000元", "60%")):
        for cell, text in zip(table.add_row().cells, row):
            cell.text = text
    d.add_heading("（一）异地就医", 2)
    d.add_paragraph(f"职工异地就医需提前办理备案，异地就医备案咨询电话为{DOCX_FACT}，工作日八点半至五点半接听。")
    d.save(path)
    return Path(path)


def portal_html(txt: str, charset: str = "utf-8") -> str:
    """A seed .txt page (main answer, 相关推荐 items with 健康新闻 dates) as the saved web page it
    was scraped from: menus, breadcrumb, sidebar, footer and scripts around the content."""
    lines = [line.strip() for line in txt.splitlines()]
    at = lines.index("相关推荐")
    main = [line for line in lines[:at] if line and not line.startswith("提示:本内容")]
    items, block = [], []
    for line in lines[at + 1:]:
        if not line:
            continue
        m = re.match(r"健康新闻\s+(\d{4}-\d{2}-\d{2})", line)
        if m:
            items.append((block[0], " ".join(block[1:]), m.group(1)))
            block = []
        else:
            block.append(line)
    e = html.escape
    lis = "".join(f'<li class="rec-item"><a href="/a/{k}.html"><h3>{e(t)}</h3></a><p class="summary">{e(s)}</p>'
                  f'<div class="meta"><span class="src">健康新闻</span> <span class="time">{d}</span></div></li>'
                  for k, (t, s, d) in enumerate(items))
    paras = "".join(f"<p>{e(p)}</p>" for p in main[1:])
    return f"""<!DOCTYPE html><html><head><meta charset="{charset}"><title>{e(main[0])}_健康问答_某健康网</title>
<script>var _hmt=_hmt||[];document.write("<p>SCRIPT_TEXT_MUST_NOT_BE_INDEXED</p>");</script>
<style>.nav{{color:red}}</style></head><body>
<div class="header"><div class="logo">某健康网</div><ul class="nav"><li><a href="/">首页</a></li><li><a href="/yb">医保</a></li><li><a href="/sb">社保</a></li><li><a href="/login">登录</a></li></ul></div>
<div class="breadcrumb"><a href="/">首页</a> &gt; <a href="/wd">健康问答</a> &gt; 正文</div>
<div class="container"><div class="main-content"><div class="question"><h1>{e(main[0])}</h1></div>
<div class="answer">{paras}<p class="tip">提示:本内容不能代替面诊,如有不适请尽快就医。</p></div>
<div class="related"><div class="related-title">相关推荐</div><ul>{lis}</ul></div></div>
<div class="sidebar"><h3>大家都在搜</h3><ul><li><a href="/x">医保卡怎么激活</a></li></ul></div></div>
<div class="footer"><p>关于我们 | 联系我们 | 免责声明</p><p>Copyright © 2025 某健康网 京ICP备12345678号</p></div>
<script type="text/javascript">alert("SCRIPT_TEXT_MUST_NOT_BE_INDEXED");</script>
<noscript>请启用JavaScript</noscript></body></html>"""


def policy_in_portal_skin(charset: str = "gb2312") -> bytes:
    """The policy page inside a government-site skin (menus, location bar, sidebar, footer,
    scripts), encoded as declared."""
    body = re.search(r"<body>(.*)</body>", POLICY_HTML, re.S).group(1)
    page = f"""<!DOCTYPE html><html><head><meta http-equiv="Content-Type" content="text/html; charset={charset}">
<title>某市城乡居民基本医疗保险待遇政策 - 某市医疗保障局</title>
<script>for(var i=0;i<3;i++){{document.write("<div>SCRIPT_TEXT_MUST_NOT_BE_INDEXED</div>")}}</script></head><body>
<div id="top"><a href="/">网站首页</a> <a href="/zcfg">政策法规</a> <a href="/bsfw">办事服务</a> <a href="/hdjl">互动交流</a></div>
<div class="menu"><ul><li>机构概况</li><li>新闻动态</li><li>政务公开</li></ul></div>
<div class="location">当前位置：首页 &gt; 政策法规</div>
<div class="content">{body}<div class="share">分享到：微信 微博</div></div>
<div class="right-side"><h3>热点专题</h3><ul><li>医保电子凭证</li></ul></div>
<div id="footer">主办单位：某市医疗保障局　网站标识码 1301000001 冀ICP备00000000号</div>
<script>var a = "SCRIPT_TEXT_MUST_NOT_BE_INDEXED";</script></body></html>"""
    return page.encode("gb18030" if charset.lower() in ("gb2312", "gbk", "gb18030") else charset)
