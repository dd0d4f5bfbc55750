"""The mail settings a fresh installation starts with."""

import runpy


def test_email_goes_to_the_console_until_a_server_is_configured(monkeypatch):
    for name in ("EMAIL_BACKEND", "EMAIL_HOST", "EMAIL_USE_TLS"):
        monkeypatch.delenv(name, raising=False)
    fresh = runpy.run_module("taocun.settings")
    assert fresh["EMAIL_BACKEND"] == "django.core.mail.backends.console.EmailBackend"
    monkeypatch.setenv("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
    monkeypatch.setenv("EMAIL_HOST", "smtp.example.cn")
    monkeypatch.setenv("EMAIL_USE_TLS", "1")
    configured = runpy.run_module("taocun.settings")
    assert configured["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert (configured["EMAIL_HOST"], configured["EMAIL_USE_TLS"]) == ("smtp.example.cn", True)
