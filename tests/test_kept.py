"""grants.core.kept: answers kept per process while their fingerprint stays the same."""

from __future__ import annotations

from dataclasses import dataclass

from grants.core.kept import Kept


@dataclass
class Box:
    values: list[int]


def test_an_answer_is_kept_under_its_fingerprint_and_made_again_on_a_new_one(app):
    kept = Kept(4)
    made = []

    def compute(value):
        def make():
            made.append(value)
            return Box([value])
        return make

    with app.app_context():
        assert kept.get("a", ("v", 1), compute(1)).values == [1]
        assert kept.get("a", ("v", 1), compute(2)).values == [1]  # kept
        assert made == [1]
        assert kept.get("a", ("v", 2), compute(3)).values == [3]  # the data changed
        assert kept.get("a", ("v", 2), compute(4)).values == [3]
        assert kept.get("a", ("v", 1), compute(5)).values == [5]  # an older fingerprint is not trusted either
        assert made == [1, 3, 5]


def test_no_fingerprint_keeps_nothing_and_none_is_an_answer(app):
    kept = Kept(4)
    calls = []

    def make():
        calls.append(1)
        return None

    with app.app_context():
        assert kept.get("a", None, make) is None
        assert kept.get("a", None, make) is None
        assert len(calls) == 2 and len(kept) == 0
        assert kept.get("b", 1, make) is None
        assert kept.get("b", 1, make) is None
        assert len(calls) == 3


def test_readers_get_copies_unless_told_to_share(app):
    with app.app_context():
        copied = Kept(4)
        first = copied.get("a", 1, lambda: Box([1]))
        first.values.append(2)
        assert copied.get("a", 1, lambda: Box([9])).values == [1]
        shared = Kept(4, share=lambda answer: answer)
        one = shared.get("a", 1, lambda: Box([1]))
        assert shared.get("a", 1, lambda: Box([9])) is one


def test_the_least_recently_used_answers_go_first(app):
    kept = Kept(2)
    with app.app_context():
        kept.get("a", 1, lambda: "A")
        kept.get("b", 1, lambda: "B")
        kept.get("a", 1, lambda: "A2")  # a used: b is now the oldest
        kept.get("c", 1, lambda: "C")
        assert len(kept) == 2
        assert kept.get("a", 1, lambda: "A3") == "A"
        assert kept.get("b", 1, lambda: "B2") == "B2"
