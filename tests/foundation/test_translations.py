"""The English catalogs (one per feature area) agree: one French term, one English word."""
import glob
import os

import pytest
from babel.messages.pofile import read_po

pytestmark = pytest.mark.no_db

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_a_french_msgid_gets_the_same_english_in_every_catalog():
    seen, clashes = {}, []
    for path in sorted(glob.glob(os.path.join(ROOT, "translations/en/LC_MESSAGES/*.po"))):
        with open(path, "rb") as f:
            for message in read_po(f):
                if not message.id or not message.string or not isinstance(message.id, str):
                    continue
                first = seen.setdefault(message.id, (os.path.basename(path), message.string))
                if first[1] != message.string:
                    clashes.append((message.id, first, (os.path.basename(path), message.string)))
    assert not clashes, clashes[:5]
