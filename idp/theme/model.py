"""The deployment's brand: product name, logo, colours, favicon, support contact, legal links.

A company runs Avain under its own name by pointing ``theme_file`` (``IDP_THEME_FILE``) at
a TOML file with a ``[theme]`` table (``config/themes/rengasverkkokauppa/theme.toml`` is
the demo's); without one, the neutral Avain theme below is used. The colours are checked
at start-up against WCAG 2.2: text and links need 4.5:1 against the backgrounds they are
drawn on (SC 1.4.3), the focus ring 3:1 (SC 1.4.11, 2.4.13), so a theme that would make a
page unreadable never serves one.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

from idp.config import ConfigError

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_ASSETS = ROOT / "static" / "theme"
# Every page must stay under 100 KB with its stylesheet and scripts; a logo or favicon
# larger than this would take a third of that on its own.
MAX_IMAGE_BYTES = 30 * 1024
IMAGE_TYPES = {
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".webp": "image/webp",
    ".ico": "image/x-icon",
}
TEXT_CONTRAST = 4.5  # WCAG 2.2 SC 1.4.3, normal-size text
NON_TEXT_CONTRAST = 3.0  # WCAG 2.2 SC 1.4.11 and 2.4.13, the focus indicator
_HEX = re.compile(r"#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})")


@dataclass(frozen=True)
class Colours:
    """Hex colours (``#rrggbb``). ``primary`` is the brand colour of buttons and the
    product name, ``on_primary`` the text on a primary button, ``background`` the page
    behind the content and ``surface`` the content's own panel, header and footer."""

    primary: str = "#0b5c7a"
    on_primary: str = "#ffffff"
    text: str = "#1d2330"
    background: str = "#f6f7f9"
    surface: str = "#ffffff"
    link: str = "#0b5c7a"
    focus: str = "#1b5fd1"


@dataclass(frozen=True)
class Image:
    """A logo or favicon, read once at start-up and served from Avain's own origin."""

    data: bytes
    mimetype: str
    suffix: str


@dataclass(frozen=True)
class Theme:
    product_name: str = "Avain"
    colours: Colours = field(default_factory=Colours)
    logo: Image | None = None
    favicon: Image | None = None
    support_email: str = ""
    support_phone: str = ""
    support_url: str = ""
    privacy_url: str = ""  # empty: Avain's own page for the catalogue's privacy notice
    terms_url: str = ""  # empty: no terms link

    @property
    def has_support(self) -> bool:
        return bool(self.support_email or self.support_phone or self.support_url)


def relative_luminance(colour: str) -> float:
    """WCAG 2.2 "relative luminance" of an sRGB hex colour."""
    hex_digits = expand(colour)[1:]
    channels = [int(hex_digits[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    """WCAG 2.2 contrast ratio, 1 to 21."""
    la, lb = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def expand(colour: str) -> str:
    """``#abc`` -> ``#aabbcc``, lower case."""
    digits = colour[1:]
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    return "#" + digits.lower()


# (foreground, background, minimum, what it is): every pair a page draws.
CONTRAST_RULES: tuple[tuple[str, str, float, str], ...] = (
    ("text", "surface", TEXT_CONTRAST, "text on the content panel"),
    ("text", "background", TEXT_CONTRAST, "text on the page background"),
    ("link", "surface", TEXT_CONTRAST, "links on the content panel"),
    ("link", "background", TEXT_CONTRAST, "links on the page background"),
    ("primary", "surface", TEXT_CONTRAST, "the product name and secondary buttons' text"),
    ("on_primary", "primary", TEXT_CONTRAST, "text on primary buttons"),
    ("focus", "surface", NON_TEXT_CONTRAST, "the focus ring on the content panel"),
    ("focus", "background", NON_TEXT_CONTRAST, "the focus ring on the page background"),
)


def default_theme() -> Theme:
    """The neutral Avain theme of a plain install."""
    return Theme(
        logo=_read_image(DEFAULT_ASSETS / "avain-logo.svg", "logo", _Loader(DEFAULT_ASSETS)),
        favicon=_read_image(
            DEFAULT_ASSETS / "avain-favicon.svg", "favicon", _Loader(DEFAULT_ASSETS)
        ),
    )


def load_theme(path_text: str) -> Theme:
    """The theme in ``path_text`` (a TOML file), or the default one for an empty path."""
    if not path_text:
        return default_theme()
    path = Path(path_text)
    if not path.is_absolute() and not path.is_file():
        path = ROOT / path  # the project's own config/, as for purposes_file
    loader = _Loader(path)
    if not path.is_file():
        raise ConfigError(
            f"theme_file: {path} does not exist; point IDP_THEME_FILE at a theme "
            "(see config/themes/rengasverkkokauppa/theme.toml) or leave it empty for Avain's own"
        )
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        loader.fail("the file", f"is not valid TOML ({exc})", "fix the syntax")
    return loader.theme(data)


@dataclass
class _Loader:
    path: Path

    def fail(self, where: str, problem: str, fix: str) -> NoReturn:
        raise ConfigError(f"{self.path}: {where}: {problem}; {fix}")

    def table(self, data: Mapping[str, object], key: str, where: str) -> Mapping[str, object]:
        name = f"{where}.{key}" if where else key
        value = data.get(key, {})
        if not isinstance(value, dict):
            self.fail(name, "must be a table", f"write it as [{name}]")
        return value

    def check_keys(self, where: str, table: Mapping[str, object], allowed: Sequence[str]) -> None:
        for key in table:
            if key not in allowed:
                close = difflib.get_close_matches(key, allowed, n=1)
                hint = f"did you mean {close[0]}?" if close else f"use one of {', '.join(allowed)}"
                self.fail(f"{where}.{key}" if where else key, "is not a theme setting", hint)

    def text(self, table: Mapping[str, object], key: str, where: str) -> str:
        value = table.get(key, "")
        if not isinstance(value, str):
            self.fail(f"{where}.{key}", "must be a string", f'write it as {key} = "..."')
        return value.strip()

    def url(self, table: Mapping[str, object], key: str, where: str) -> str:
        value = self.text(table, key, where)
        local = value.startswith("/") and not value.startswith("//")
        if value and not (value.startswith(("https://", "http://")) or local):
            self.fail(
                f"{where}.{key}",
                f"{value!r} is not a link",
                "give an https:// URL or a path on Avain starting with /",
            )
        return value

    def theme(self, data: Mapping[str, object]) -> Theme:
        self.check_keys("", data, ["theme"])
        root = self.table(data, "theme", "")
        where = "theme"
        self.check_keys(
            where, root, ["product_name", "logo", "favicon", "colours", "support", "legal"]
        )
        name = self.text(root, "product_name", where)
        if not name:
            self.fail("theme.product_name", "is missing", 'name the service, e.g. "Avain"')
        colours = self.colours(self.table(root, "colours", where))
        support = self.table(root, "support", where)
        self.check_keys("theme.support", support, ["email", "phone", "url"])
        legal = self.table(root, "legal", where)
        self.check_keys("theme.legal", legal, ["privacy", "terms"])
        email = self.text(support, "email", "theme.support")
        if email and "@" not in email:
            self.fail("theme.support.email", f"{email!r} is not an email address", "fix it")
        return Theme(
            product_name=name,
            colours=colours,
            logo=self.image(root, "logo"),
            favicon=self.image(root, "favicon"),
            support_email=email,
            support_phone=self.text(support, "phone", "theme.support"),
            support_url=self.url(support, "url", "theme.support"),
            privacy_url=self.url(legal, "privacy", "theme.legal"),
            terms_url=self.url(legal, "terms", "theme.legal"),
        )

    def colours(self, table: Mapping[str, object]) -> Colours:
        where = "theme.colours"
        names = list(Colours.__dataclass_fields__)
        self.check_keys(where, table, names)
        values: dict[str, str] = {}
        for name in names:
            raw = table.get(name)
            if raw is None:
                continue
            if not isinstance(raw, str) or not _HEX.fullmatch(raw):
                self.fail(f"{where}.{name}", f"{raw!r} is not a colour", 'write it as "#rrggbb"')
            values[name] = expand(raw)
        colours = Colours(**values)
        for fg, bg, minimum, what in CONTRAST_RULES:
            a, b = getattr(colours, fg), getattr(colours, bg)
            ratio = contrast(a, b)
            if ratio < minimum:
                self.fail(
                    f"{where}.{fg}",
                    f"{fg} {a} on {bg} {b} ({what}) has a contrast of {ratio:.2f}:1, "
                    f"below the {minimum:g}:1 that WCAG 2.2 asks for",
                    f"choose a {fg} or {bg} further apart in lightness "
                    "(a contrast checker shows the ratio)",
                )
        return colours

    def image(self, root: Mapping[str, object], key: str) -> Image | None:
        name = self.text(root, key, "theme")
        if not name:
            return None
        return _read_image(self.path.parent / name, key, self)


def _read_image(path: Path, key: str, loader: _Loader) -> Image:
    where = f"theme.{key}"
    suffix = path.suffix.lower()
    if suffix not in IMAGE_TYPES:
        loader.fail(where, f"{path.name} is not an image Avain serves", "use .svg, .png or .webp")
    if not path.is_file():
        loader.fail(where, f"{path} does not exist", "give a path relative to the theme file")
    data = path.read_bytes()
    if len(data) > MAX_IMAGE_BYTES:
        loader.fail(
            where,
            f"{path.name} is {len(data) // 1024} KB",
            f"keep it under {MAX_IMAGE_BYTES // 1024} KB so every page stays under 100 KB "
            "(an SVG is usually a few KB)",
        )
    return Image(data, IMAGE_TYPES[suffix], suffix)
