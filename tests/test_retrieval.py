"""Retrieval keeps the prompt bounded: with a large library only the tools relevant to the
task are listed, and the right ones are among them."""

from __future__ import annotations

from autoagent_core.loop.prompts import relevant_tools, render_tools
from autoagent_core.retrieval import rank, tokenize
from autoagent_core.types import ToolSpec


def _library(n: int) -> list[ToolSpec]:
    topics = ["weather", "invoice", "matrix", "calendar", "email", "image", "audio", "graph"]
    tools = [ToolSpec(name=f"{topics[i % len(topics)]}_helper_{i}",
                      description=f"Helper number {i} for {topics[i % len(topics)]} data")
             for i in range(n)]
    tools.append(ToolSpec(name="parseCsvFile", description="Parse a CSV file into rows"))
    tools.append(ToolSpec(name="sum_list", description="Sum a list of numbers"))
    return tools


def test_tokenize_splits_identifiers_and_stems_plurals() -> None:
    assert tokenize("parseCsvFile") == ["parse", "csv", "file"]
    assert tokenize("sum_list of the numbers") == ["sum", "list", "number"]
    assert tokenize("HTTPServer") == ["http", "server"]


def test_relevant_tools_rank_first() -> None:
    tools = _library(500)
    picked = rank(tools, "Parse the CSV files and sum the numbers", 5,
                  lambda t: (t.name, t.description))
    assert {t.name for t in picked[:2]} == {"parseCsvFile", "sum_list"}
    assert len(picked) <= 5


def test_small_libraries_are_listed_whole_in_order() -> None:
    tools = _library(3)
    assert rank(tools, "anything", 15, lambda t: (t.name, t.description)) == tools


def test_unrelated_tools_never_fill_the_prompt() -> None:
    picked = rank(_library(100), "translate a poem into French", 15,
                  lambda t: (t.name, t.description))
    assert picked == []


def test_prompt_listing_is_bounded_and_says_what_is_left_out() -> None:
    tools = _library(1000)
    listed = relevant_tools(tools, "sum these numbers", 15, preferred={"weather_helper_0"})
    assert listed[0].name == "weather_helper_0"  # used in this session: always listed
    assert "sum_list" in [t.name for t in listed]
    assert len(listed) <= 15
    text = render_tools(listed, len(tools))
    assert "more tools not listed" in text
    assert "- sum_list(): Sum a list of numbers" in text
    assert len(text) < 3000


def test_empty_library() -> None:
    assert "none yet" in render_tools([], 0)
