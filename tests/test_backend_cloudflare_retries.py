"""Retries and bounded waits of the HTTP backends (RELIABILITY items 18-20), timed through
the real CLI against the fake Cloudflare service.

Backoff starts at 0.5 s (75-100 % jitter) and doubles; each test keeps ``max_retries``
small so the whole file stays fast.
"""

from __future__ import annotations

import time
from typing import Any

from fixtures.backends import assert_clean_error
from support.fake_http import Drop, Hang, HttpError, StallAfterFirstChunk, Trickle


def timed(cli: Any, *args: str, env: dict[str, str]) -> tuple[Any, float]:
    started = time.monotonic()
    result = cli(*args, env=env)
    return result, time.monotonic() - started


def test_retry_after_2_waits_about_2_s_then_succeeds(cli, cf_env, fake_cloudflare):
    fake_cloudflare.queue(HttpError(429, 3040, "Capacity temporarily exceeded",
                                    retry_after="2"), "finally")
    result, elapsed = timed(cli, "ask", "hi", "--backend", "cloudflare", env=cf_env)
    assert result.returncode == 0, str(result)
    assert result.stdout == "finally\n"
    gap = fake_cloudflare.requests[1].at - fake_cloudflare.requests[0].at
    assert 1.9 <= gap < 3.0, gap
    assert elapsed < 5


def test_huge_retry_after_fails_at_once_with_a_rate_limit_error(cli, cf_env, fake_cloudflare):
    fake_cloudflare.queue(HttpError(429, 3021, "Rate limited", retry_after="3600"))
    result, elapsed = timed(cli, "ask", "hi", "--backend", "cloudflare", env=cf_env)
    assert_clean_error(result, 4, fake_cloudflare.token, "rate limit", "3600",
                       "retry_after_cap=60")
    assert len(fake_cloudflare.requests) == 1
    assert elapsed < 3


def test_retry_after_cap_is_a_setting(cli, cf_env, fake_cloudflare):
    fake_cloudflare.queue(HttpError(429, 3040, "busy", retry_after="2"))
    result, elapsed = timed(cli, "ask", "hi", "--backend", "cloudflare",
                            env={**cf_env, "AUTOAGENT_RETRY_AFTER_CAP": "1"})
    assert_clean_error(result, 4, fake_cloudflare.token, "retry_after_cap=1")
    assert elapsed < 3


def test_500_500_200_succeeds_on_the_third_try(cli, cf_env, fake_cloudflare):
    fake_cloudflare.queue(HttpError(500, None, "Internal error"),
                          HttpError(502, None, "Bad gateway"), "third time lucky")
    result, _ = timed(cli, "ask", "hi", "--backend", "cloudflare", env=cf_env)
    assert result.returncode == 0, str(result)
    assert result.stdout == "third time lucky\n"
    at = [r.at for r in fake_cloudflare.requests]
    assert len(at) == 3
    assert 0.35 <= at[1] - at[0] < 1.5  # first backoff: 0.5 s with jitter
    assert 0.7 <= at[2] - at[1] < 2.5  # second: 1 s with jitter


def test_capacity_and_timeout_codes_are_retried(cli, cf_env, fake_cloudflare):
    fake_cloudflare.queue(HttpError(429, 3040, "Capacity temporarily exceeded"),
                          HttpError(408, 3007, "Request timeout"),
                          HttpError(409, None, "conflict"), "ok")
    result, _ = timed(cli, "ask", "hi", "--backend", "cloudflare", "--no-stream",
                      env={**cf_env, "AUTOAGENT_MAX_RETRIES": "3"})
    assert result.returncode == 0, str(result)
    assert len(fake_cloudflare.requests) == 4


def test_retries_are_bounded_and_the_last_error_is_reported(cli, cf_env, fake_cloudflare):
    fake_cloudflare.queue(*[HttpError(503, None, "unavailable")] * 5)
    result, _ = timed(cli, "ask", "hi", "--backend", "cloudflare",
                      env={**cf_env, "AUTOAGENT_MAX_RETRIES": "2"})
    assert_clean_error(result, 4, fake_cloudflare.token, "server error", "503",
                       "gave up after 3 attempts")
    assert len(fake_cloudflare.requests) == 3


def test_connection_refused_is_retried_a_bounded_number_of_times(cli, cf_env, refused_url,
                                                                 fake_cloudflare):
    env = {**cf_env, "CLOUDFLARE_API_BASE": refused_url + "/client/v4",
           "AUTOAGENT_MAX_RETRIES": "2"}
    result, elapsed = timed(cli, "ask", "hi", "--backend", "cloudflare", env=env)
    assert_clean_error(result, 4, fake_cloudflare.token, "cannot connect",
                       "gave up after 3 attempts")
    assert 1.0 <= elapsed < 6  # two backoffs (0.5 s + 1 s, with jitter), then give up


def test_dropped_connection_is_retried(cli, cf_env, fake_cloudflare):
    fake_cloudflare.queue(Drop(), "after a drop")
    result, _ = timed(cli, "ask", "hi", "--backend", "cloudflare", "--no-stream", env=cf_env)
    assert result.returncode == 0, str(result)
    assert result.stdout == "after a drop\n"


def test_server_that_never_answers_fails_within_the_read_timeout(cli, cf_env,
                                                                 fake_cloudflare):
    fake_cloudflare.queue(Hang(), Hang())
    env = {**cf_env, "AUTOAGENT_READ_TIMEOUT": "1", "AUTOAGENT_MAX_RETRIES": "1"}
    result, elapsed = timed(cli, "ask", "hi", "--backend", "cloudflare", "--no-stream",
                            env=env)
    assert_clean_error(result, 4, fake_cloudflare.token, "read_timeout=1",
                       "gave up after 2 attempts")
    assert 2.0 <= elapsed < 6  # two 1 s waits and one backoff
    assert len(fake_cloudflare.requests) == 2


def test_stream_that_stalls_after_the_first_chunk_fails_within_the_read_timeout(
        cli, cf_env, fake_cloudflare):
    fake_cloudflare.queue(StallAfterFirstChunk("first words then silence"))
    env = {**cf_env, "AUTOAGENT_READ_TIMEOUT": "1"}
    result, elapsed = timed(cli, "ask", "hi", "--backend", "cloudflare", env=env)
    assert_clean_error(result, 4, fake_cloudflare.token, "read_timeout=1", "partial output")
    assert result.stdout == "first \n"  # what arrived was shown, then the error
    assert elapsed < 4
    assert len(fake_cloudflare.requests) == 1  # not retried: the text would repeat


def test_body_that_stalls_fails_within_the_read_timeout(cli, cf_env, fake_cloudflare):
    fake_cloudflare.queue(StallAfterFirstChunk())
    env = {**cf_env, "AUTOAGENT_READ_TIMEOUT": "1", "AUTOAGENT_MAX_RETRIES": "0"}
    result, elapsed = timed(cli, "ask", "hi", "--backend", "cloudflare", "--no-stream",
                            env=env)
    assert_clean_error(result, 4, fake_cloudflare.token, "read_timeout=1")
    assert elapsed < 4


def test_trickling_stream_is_cut_at_the_total_timeout(cli, cf_env, fake_cloudflare):
    fake_cloudflare.queue(Trickle(interval=0.2))
    env = {**cf_env, "AUTOAGENT_READ_TIMEOUT": "1", "AUTOAGENT_TOTAL_TIMEOUT": "2"}
    result, elapsed = timed(cli, "ask", "hi", "--backend", "cloudflare", env=env)
    assert_clean_error(result, 4, fake_cloudflare.token, "total_timeout=2")
    assert 1.8 <= elapsed < 4.5
    assert len(fake_cloudflare.requests) == 1


def test_retry_wait_never_passes_the_total_timeout(cli, cf_env, fake_cloudflare):
    fake_cloudflare.queue(HttpError(429, 3040, "busy", retry_after="5"))
    env = {**cf_env, "AUTOAGENT_TOTAL_TIMEOUT": "2"}
    result, elapsed = timed(cli, "ask", "hi", "--backend", "cloudflare", env=env)
    assert_clean_error(result, 4, fake_cloudflare.token, "no time left", "total_timeout=2")
    assert elapsed < 3
