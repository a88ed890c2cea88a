"""Is a text from a model (or the data) safe to show as it is? Links, contact details, markup
and instructions to the reader are not (issue 18).

A finding a model writes (``CHATBI_LLM_TEXT=1``) must restate the data; the number check
(``findings.check_finding``) cannot see a finding without numbers that says "visit
http://…", "call 13800138000", "<script>" or "send me your API key". ``unsafe_reason`` names
the first such problem (or None); a text with one is replaced by the product's own template.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["unsafe_reason"]

_CHECKS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("link", re.compile(
        r"(?i)\b(?:https?|ftp|file|javascript|data)\s*:|\bwww\s*\.|"
        r"\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\s*\.\s*(?:com|net|org|cn|io|co|me|xyz|top|info|link|ly|app|ai|site|"
        r"online|shop|vip|cc|tk|ru)\b(?!\s*[\u4e00-\u9fff%])|"
        r"\[[^\]]*\]\([^)]*\)|点击链接|访问网[站址]|扫码|二维码")),
    ("email", re.compile(r"(?i)[a-z0-9._%+-]+\s*(?:@|＠|\(at\)|\[at\])\s*[a-z0-9-]+(?:\.[a-z0-9-]+)+")),
    ("phone number", re.compile(
        r"(?<!\d)(?:\+?86[\s-]?)?1[3-9]\d(?:[\s-]?\d){8}(?!\d)|"
        r"(?<![\d.])\+\d{1,3}[\s-]?\d{2,4}(?:[\s-]?\d{2,4}){2,}|"
        r"(?<![\d.])0\d{2,3}-\d{7,8}(?!\d)|"
        r"\b(?i:wechat|weixin|whatsapp|telegram|qq)\s*[:：]?\s*[\w-]{5,}|(?:微信|微信号|QQ号?|电话|手机)\s*[:：]\s*\S+")),
    ("markup", re.compile(r"<\s*/?\s*[A-Za-z!][^<>]*>|&lt;|&#\d+;|```")),
    ("instruction", re.compile(
        r"(?i)ignore (?:all |the )?(?:previous|prior|above)|disregard (?:all |the )?(?:previous|prior|above)|"
        r"system prompt|api[\s_-]*key|password|passcode|token|secret|credentials?|"
        r"send (?:me|us)|contact (?:me|us)|e-?mail (?:me|us)|call (?:me|us)|reply with|click (?:here|the)|"
        r"log ?in (?:at|to)|sign ?in (?:at|to)|download|install|transfer (?:money|funds)|bitcoin|"
        r"忽略(?:之前|以上|上面|前面)|系统提示|提示词|密钥|密码|口令|令牌|验证码|"
        r"发给我|发送给我|告诉我你的|联系我|加我|私信|转账|汇款|下载|安装|登录|登陆")),
)


def unsafe_reason(text: str | None) -> str | None:
    """The first unsafe thing in ``text`` ("link", "email", "phone number", "markup",
    "instruction"), or None when it may be shown."""
    if not text:
        return None
    folded = unicodedata.normalize("NFKC", str(text))
    folded = "".join(ch for ch in folded if unicodedata.category(ch) != "Cf")  # zero-width tricks
    for name, pattern in _CHECKS:
        if pattern.search(folded):
            return name
    return None
