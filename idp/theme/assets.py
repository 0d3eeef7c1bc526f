"""The one stylesheet, the logo and the favicon, built from the theme at start-up.

Why one generated stylesheet and not an inline ``<style>`` or a second ``theme.css``:
``static/avain.css`` declares the colours as CSS custom properties on ``:root``; the
theme's values are appended as one more ``:root`` rule (the later rule wins), so the
pages load exactly one stylesheet. Its URL carries the hash of its content, so browsers
keep it for a year (``immutable``) and fetch it again only when the theme or the CSS
changes; an ETag answers the rare revalidation with 304. An inline ``<style>`` would need
``style-src 'unsafe-inline'`` or a CSP hash per theme in every response header, and its
bytes would travel with every page instead of once.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, fields

from idp.theme.model import Colours, Image, Theme

# CSS custom property set from each colour of the theme (static/avain.css uses these)
PROPERTIES = {
    "primary": "--accent",
    "on_primary": "--on-accent",
    "text": "--ink",
    "background": "--bg",
    "surface": "--surface",
    "link": "--link",
    "focus": "--focus",
}


@dataclass(frozen=True)
class Asset:
    """Bytes served under a name that changes with them."""

    data: bytes
    mimetype: str
    digest: str  # also the ETag

    @classmethod
    def of(cls, data: bytes, mimetype: str) -> Asset:
        return cls(data, mimetype, hashlib.sha256(data).hexdigest()[:16])


@dataclass(frozen=True)
class Brand:
    """The theme and what is served from it."""

    theme: Theme
    stylesheet: Asset
    logo: Asset | None
    favicon: Asset | None
    logo_suffix: str
    favicon_suffix: str


def theme_rule(colours: Colours) -> str:
    """``:root { --accent: #...; ... }`` for the theme's colours."""
    decls = " ".join(f"{PROPERTIES[f.name]}: {getattr(colours, f.name)};" for f in fields(Colours))
    return f":root {{ {decls} }}\n"


def build(theme: Theme, base_css: str) -> Brand:
    css = f"{base_css.rstrip()}\n\n/* the deployment's theme: {_comment(theme.product_name)} */\n"
    css += theme_rule(theme.colours)

    def asset(image: Image | None) -> Asset | None:
        return Asset.of(image.data, image.mimetype) if image else None

    return Brand(
        theme=theme,
        stylesheet=Asset.of(css.encode("utf-8"), "text/css"),
        logo=asset(theme.logo),
        favicon=asset(theme.favicon),
        logo_suffix=theme.logo.suffix if theme.logo else "",
        favicon_suffix=theme.favicon.suffix if theme.favicon else "",
    )


def _comment(text: str) -> str:
    """Text safe inside a CSS comment."""
    return text.replace("*/", "* /")
