"""Compiling the translation catalogs (translations/<lang>/LC_MESSAGES/<domain>.po)."""
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from .config import TRANSLATIONS_DIR


def compile_catalogs(directory: Path = TRANSLATIONS_DIR) -> list[Path]:
    """Compile each .po whose .mo is missing or older; returns what was compiled."""
    compiled = []
    for po in sorted(directory.glob("**/LC_MESSAGES/*.po")):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as f:
            catalog = read_po(f)
        with mo.open("wb") as f:
            write_mo(f, catalog, use_fuzzy=False)
        compiled.append(mo)
    return compiled
