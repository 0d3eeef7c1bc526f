"""The deployment's brand (see :mod:`idp.theme.model`) and how pages and mail get it."""

from idp.theme.assets import Brand, build
from idp.theme.model import Colours, Theme, contrast, default_theme, load_theme
from idp.theme.views import brand, init_app

__all__ = [
    "Brand",
    "Colours",
    "Theme",
    "brand",
    "build",
    "contrast",
    "default_theme",
    "init_app",
    "load_theme",
]
