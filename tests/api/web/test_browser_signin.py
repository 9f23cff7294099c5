"""Sign-in in a real browser: the demo user list, the session, sign-out, and the error page."""

from __future__ import annotations


def test_an_agent_signs_in_from_the_demo_list_and_out_again(web):
    web.open("/")
    assert web.driver.current_url.endswith("/signin")
    assert "Maya Okafor" in web.text and "admin" in web.text
    web.screenshot("signin")
    web.sign_in("kenji.watanabe@flowdesk.io", next="/app/no-such-page")
    assert "Not found" in web.wait_for("h1").text  # signed in: the unknown page is a 404 page
    assert "Kenji" in web.find(".who").text
    web.find(".signout button").click()
    web.wait_for("h1", text="Sign in")
    web.open("/app/no-such-page")
    assert "/signin?next=" in web.driver.current_url
