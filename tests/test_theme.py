"""The deployment's brand (idp/theme): on every page and in the one stylesheet, and refused
at start-up when it would make a page unreadable (WCAG 2.2 contrast)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from idp import create_app
from idp.config import ConfigError
from idp.theme import contrast

DEMO = "config/themes/rengasverkkokauppa/theme.toml"


def stylesheet_of(html: str) -> str:
    (href,) = re.findall(r'<link rel="stylesheet" href="([^"]+)"', html)
    return href


def write_theme(tmp_path: Path, colours: str = "", extra: str = "") -> str:
    path = tmp_path / "theme" / "theme.toml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(
        f'[theme]\nproduct_name = "Testikauppa"\n{extra}\n[theme.colours]\n{colours}\n',
        encoding="utf-8",
    )
    return str(path)


def start(app_config, theme_file: str):
    app = create_app({**app_config, "theme_file": theme_file})
    app.extensions["avain.engine"].dispose()
    return app


def test_contrast_ratios_follow_wcag():
    assert contrast("#000000", "#ffffff") == pytest.approx(21)
    assert contrast("#fff", "#fff") == pytest.approx(1)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)
    # the focus ring Avain had: amber on white, about 1.8:1
    assert contrast("#f2b705", "#ffffff") == pytest.approx(1.82, abs=0.01)


def test_a_plain_install_is_avain_with_one_cached_stylesheet(client):
    page = client.get("/login").get_data(as_text=True)
    assert "<title>Sign in · Avain</title>" in page
    assert "<span>Avain</span>" in page
    assert page.count('rel="stylesheet"') == 1
    assert re.search(r'<link rel="icon" href="/theme/favicon-[0-9a-f]{16}\.svg"', page)
    assert "<style" not in page and " style=" not in page  # nothing the CSP would refuse
    assert 'href="/privacy/' in page  # the catalogue's notice, when the theme names none
    assert "Customer service" not in page  # no support contact configured

    href = stylesheet_of(page)
    css = client.get(href)
    assert css.status_code == 200 and css.mimetype == "text/css"
    assert css.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    body = css.get_data(as_text=True)
    assert body.rstrip().endswith("--focus: #1b5fd1; }")  # the theme's rule comes last
    assert ":focus-visible { outline: 3px solid var(--focus)" in body
    again = client.get(href, headers={"If-None-Match": css.headers["ETag"]})
    assert again.status_code == 304
    # a page from before the theme changed still gets the stylesheet, not to be kept
    stale = client.get("/theme/avain-0000000000000000.css")
    assert stale.status_code == 200 and stale.headers["Cache-Control"] == "no-cache"
    assert client.get("/favicon.ico").mimetype == "image/svg+xml"


def test_the_demo_theme_is_on_customer_pages_admin_console_and_errors(app_config):
    app = start(app_config, DEMO)
    client = app.test_client()
    for path, status in (("/login", 200), ("/admin/sign-in", 200), ("/no-such-page", 404)):
        resp = client.get(path)
        page = resp.get_data(as_text=True)
        assert resp.status_code == status, path
        assert "· Rengasverkkokauppa</title>" in page, path
        assert re.search(r'<img src="/theme/logo-[0-9a-f]{16}\.svg" alt=""', page), path
        assert '<a href="mailto:asiakaspalvelu@rengasverkkokauppa.example">' in page, path
        assert '<a href="tel:+358942431000">+358 9 4243 1000</a>' in page, path
        assert 'href="https://rengasverkkokauppa.example/toimitusehdot"' in page, path
    css = client.get(stylesheet_of(page)).get_data(as_text=True)
    assert "--accent: #b3261e;" in css and "--link: #8c1d18;" in css


@pytest.mark.parametrize(
    ("colours", "words"),
    [
        ('text = "#999999"', ["theme.colours.text", "#999999 on surface #ffffff", "4.5:1"]),
        ('focus = "#f2b705"', ["theme.colours.focus", "1.82:1", "below the 3:1"]),
        ('link = "#3399ff"', ["theme.colours.link", "links on the content panel"]),
        ('primary = "#ffcc00"', ["theme.colours.primary"]),
        ('background = "#333333"', ["theme.colours.text", "on background #333333"]),
        ('link = "blue"', ["theme.colours.link", "'blue' is not a colour", "#rrggbb"]),
        ('accent = "#000000"', ["theme.colours.accent", "not a theme setting"]),
    ],
)
def test_a_theme_that_fails_wcag_contrast_stops_the_start(app_config, tmp_path, colours, words):
    with pytest.raises(ConfigError) as exc:
        start(app_config, write_theme(tmp_path, colours))
    for word in words:
        assert word in str(exc.value)


def test_other_theme_mistakes_say_what_to_fix(app_config, tmp_path):
    with pytest.raises(ConfigError, match="does not exist; point IDP_THEME_FILE"):
        start(app_config, str(tmp_path / "missing.toml"))
    with pytest.raises(ConfigError, match=r"theme\.product_nam: .*did you mean product_name"):
        start(app_config, write_theme(tmp_path, extra='product_nam = "x"'))
    big = tmp_path / "theme" / "big.svg"
    big.parent.mkdir(exist_ok=True)
    big.write_text("<svg>" + " " * 40_000 + "</svg>", encoding="utf-8")
    with pytest.raises(ConfigError, match="theme.logo: big.svg is 39 KB; keep it under 30 KB"):
        start(app_config, write_theme(tmp_path, extra='logo = "big.svg"'))
    for link in ("javascript:x", "//elsewhere.example/terms"):
        with pytest.raises(ConfigError, match=f"theme.legal.terms: '{link}' is not a link"):
            start(app_config, write_theme(tmp_path, extra=f'[theme.legal]\nterms = "{link}"'))
    with pytest.raises(ConfigError, match=r": colour: is not a theme setting; use one of theme"):
        start(app_config, write_theme(tmp_path, extra='[colour]\nx = "y"'))
