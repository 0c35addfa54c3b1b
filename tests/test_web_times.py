"""Times and durations as the pages show them."""

from appliance.web.i18n import duration


def test_durations_are_exact_to_the_second():
    assert (duration(74), duration(77)) == ("1:14", "1:17")
    assert duration(3725.4) == "1:02:05"
    assert duration(None) == ""
