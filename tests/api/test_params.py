"""api/params.py: the JSON-body id lists of /api/recommend (liked, disliked) at their limits."""

from __future__ import annotations

import pytest

from api.errors import ApiError
from api.params import MAX_ID_CHARS, MAX_LIKED, id_list


def _ids(n: int) -> list[str]:
    return [f"2401.{i:05d}" for i in range(n)]


def test_exactly_the_limit_of_liked_ids_is_accepted_one_more_is_refused() -> None:
    assert MAX_LIKED == 200  # the maxItems the OpenAPI document declares for liked and disliked
    assert id_list({"liked": _ids(MAX_LIKED)}, "liked", required=True) == _ids(MAX_LIKED)
    with pytest.raises(ApiError) as refused:
        id_list({"liked": _ids(MAX_LIKED + 1)}, "liked", required=True)
    assert (refused.value.status, refused.value.code) == (400, "bad_parameter")
    assert refused.value.message == "parameter 'liked': at most 200 ids allowed (got 201)"


@pytest.mark.parametrize("bad", ["", "x" * (MAX_ID_CHARS + 1)])
def test_an_empty_or_over_long_id_is_refused(bad: str) -> None:
    with pytest.raises(ApiError) as refused:
        id_list({"disliked": ["2211.00593", bad]}, "disliked", required=False)
    assert refused.value.status == 400
    assert refused.value.message == (f"parameter 'disliked': ids must be non-empty strings of at most "
                                     f"{MAX_ID_CHARS} characters")


def test_ids_of_one_and_of_the_limit_length_are_kept_once_each_in_order() -> None:
    longest = "x" * MAX_ID_CHARS
    assert id_list({"liked": ["b", longest, "b", "a"]}, "liked", required=True) == ["b", longest, "a"]
    assert id_list({}, "disliked", required=False) == []
    with pytest.raises(ApiError, match="parameter 'liked': is required"):
        id_list({}, "liked", required=True)
