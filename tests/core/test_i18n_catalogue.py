"""Every translatable string has a Chinese translation, and the compiled catalogue matches it."""
from __future__ import annotations

import gettext
import re

from ..helpers import BACKEND

PO = BACKEND / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")


def entries() -> list[tuple[str, str]]:
    text = PO.read_text(encoding="utf-8")
    pairs = []
    for block in text.split("\n\n"):
        if block.lstrip().startswith("#~"):
            continue
        match = re.search(r'^msgid ((?:".*"\n)+)msgstr ((?:".*"\n?)+)', block, re.M)
        if match:
            msgid = "".join(re.findall(r'"(.*)"', match.group(1)))
            msgstr = "".join(re.findall(r'"(.*)"', match.group(2)))
            if msgid:
                pairs.append((msgid.replace('\\"', '"'), msgstr.replace('\\"', '"')))
    return pairs


def test_every_message_is_translated():
    untranslated = [msgid for msgid, msgstr in entries() if not msgstr]
    assert untranslated == []
    assert "#, fuzzy\nmsgid \"" not in PO.read_text(encoding="utf-8")


def test_compiled_catalogue_is_up_to_date():
    with MO.open("rb") as handle:
        catalogue = gettext.GNUTranslations(handle)
    for msgid, msgstr in entries():
        assert catalogue.gettext(msgid) == msgstr, msgid
