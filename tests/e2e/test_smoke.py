def test_error_page_renders_in_a_real_browser(live_server, page):
    """Does a real browser get Portico's own, accessible 404 page?"""
    page.goto(f"{live_server}/no-such-page")
    assert page.locator("h1").inner_text() == "404"
    assert page.get_by_role("alert").is_visible()
