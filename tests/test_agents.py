from idp.account.agents import describe


def test_common_agents_get_readable_names():
    assert (
        describe("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:131.0) Gecko/20100101 Firefox/131.0")
        == "Firefox, Windows"
    )
    assert describe(
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1"
        " (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
    ) == ("Safari, iOS")
    assert (
        describe(
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/156.0 Safari/537.36"
        )
        == "Chrome, Linux"
    )
    assert (
        describe(
            "Mozilla/5.0 (Windows NT 10.0) AppleWebKit/537.36 Chrome/120 Safari/537.36 Edg/120.0"
        )
        == "Edge, Windows"
    )
    assert describe(None) == "?"
    assert describe("curl/8.0") == "curl/8.0"
