"""The log scan used by the fault-injection and bad-input suites finds what it is meant to find."""

from __future__ import annotations

from goshops_adapter.observability import logger
from log_scan import captured_output, find_leaks


def test_it_finds_secrets_names_emails_and_phones_and_passes_clean_lines():
    lines = [
        '{"message":"webhook accepted","tenant":"acme","ref":"order:6120457731212","queued":2}',
        '{"message":"oops","key":"acme-key-1"}',
        '{"message":"customer Marisol Okonkwo"}',
        '{"message":"contact marisol@example.com"}',
        '{"message":"call +1 555-555-0123"}',
        '{"timestamp":"2026-11-26 17:41:09,933+0000","interaction":"5f0c3b"}',
    ]
    leaks = find_leaks(lines, secrets=["acme-key-1"], personal=["Marisol", "Okonkwo"])
    assert sorted((leak.kind, leak.value) for leak in leaks) == [
        ("e-mail", "marisol@example.com"),
        ("personal", "Marisol"),
        ("personal", "Okonkwo"),
        ("phone", "+1 555-555-0123"),
        ("secret", "acme-key-1"),
    ]


def test_a_name_is_matched_as_a_word_not_inside_another():
    assert find_leaks(['{"message":"Annabel"}'], secrets=[], personal=["Anna"]) == []


def test_capture_takes_log_lines_and_prints_from_any_thread():
    import threading

    with captured_output() as captured:
        logger.info("from the test", extra={"tenant": "acme"})
        thread = threading.Thread(target=print, args=('{"metric": 1}',))
        thread.start()
        thread.join()
    assert any('"message":"from the test"' in line for line in captured.lines)
    assert '{"metric": 1}' in captured.lines
