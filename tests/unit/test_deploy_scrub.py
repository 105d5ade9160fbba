"""Secrets out of everything a deploy shows."""

from __future__ import annotations

from shipline.deploy.scrub import MIN_LENGTH, Scrubber, env_values

ENV = b"""# database
DB_PASSWORD="hunter2secret
API_KEY='single-quoted-key'
TOKEN="double quoted token"
PLAIN=plain-value-123
 SPACED = spaced-value
URL=postgres://app:pw-in-url@db:5432/app?sslmode=require
# COMMENTED=commented-out-value
DEBUG=1
MODE=on
ABC=abc
no equals sign here

EMPTY=
"""


def test_values_are_found_as_written_and_unquoted() -> None:
    values = env_values(ENV)
    for expected in (
        '"hunter2secret',  # the missing closing quote: as compose quotes it back
        "hunter2secret",
        "'single-quoted-key'",
        "single-quoted-key",
        "double quoted token",
        "plain-value-123",
        "spaced-value",
        "postgres://app:pw-in-url@db:5432/app?sslmode=require",
    ):
        assert expected in values, expected


def test_comments_and_short_values_are_left_alone() -> None:
    values = env_values(ENV)
    assert not any("commented-out-value" in v for v in values)
    assert not any("no equals" in v for v in values)
    for short in ("1", "on", "abc", ""):
        assert short not in values
    assert all(len(v) >= MIN_LENGTH for v in values)


def test_no_file_no_values() -> None:
    assert env_values(None) == []
    assert env_values(b"") == []
    assert env_values(b"\n# only a comment\n") == []


def test_undecodable_bytes_do_not_fail() -> None:
    assert "secret-\ufffd-value" in env_values(b"KEY=secret-\xff-value\n")


def test_every_occurrence_is_replaced() -> None:
    scrub = Scrubber.of(env_values(ENV))
    text = (
        'failed to read app.env: line 2: unterminated quote in "hunter2secret\n'
        "DB_PASSWORD=hunter2secret again hunter2secret, and plain-value-123 and "
        "'single-quoted-key' and postgres://app:pw-in-url@db:5432/app?sslmode=require"
    )
    shown = scrub.text(text)
    for secret in ("hunter2secret", "plain-value-123", "single-quoted-key", "pw-in-url"):
        assert secret not in shown
    assert shown.count("***") >= 6
    assert shown.startswith("failed to read app.env: line 2: unterminated quote in ")


def test_the_longest_secret_is_replaced_first() -> None:
    scrub = Scrubber.of(["abcd", "abcdefgh", "efgh"])
    assert scrub.secrets[0] == "abcdefgh"
    assert sorted(scrub.secrets) == ["abcd", "abcdefgh", "efgh"]
    lengths = [len(s) for s in scrub.secrets]
    assert lengths == sorted(lengths, reverse=True)
    # Shorter first would leave "***efgh" / "abcd***": half a secret on screen.
    assert scrub.text("x abcdefgh y abcd z") == "x *** y *** z"
    quoted = Scrubber.of(env_values(b'PASSWORD="hunter2secret"\n'))
    assert quoted.text('got "hunter2secret"') == "got ***"
    assert quoted.text("got hunter2secret.") == "got ***."


def test_short_and_empty_values_are_never_secrets() -> None:
    # An empty token (none set) must not put *** between every character.
    scrub = Scrubber.of(["", "on", "1", "tok-123456"])
    assert scrub.secrets == ("tok-123456",)
    assert scrub.text("version 1 is on, token tok-123456") == "version 1 is on, token ***"
    assert Scrubber().text("nothing to hide") == "nothing to hide"


def test_duplicates_are_kept_once() -> None:
    assert Scrubber.of(["secret-one", "secret-one"]).secrets == ("secret-one",)
