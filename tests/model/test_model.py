import pytest

from regie.model import DeliveryPoint, Series, SeriesKind, Step, Transformer, mask_prm


def test_prm_is_fourteen_digits() -> None:
    DeliveryPoint("30001234567890", "site")
    for bad in ("3000123456789", "300012345678901", "3000123456789A"):
        with pytest.raises(ValueError, match="14 digits"):
            DeliveryPoint(bad, "site")


def test_prm_never_printed_in_full() -> None:
    assert mask_prm("30001234567890") == "**********7890"
    with pytest.raises(ValueError) as err:
        DeliveryPoint("300012345678901", "site")
    assert "300012345678901" not in str(err.value)


@pytest.mark.parametrize(("text", "iso"), [("PT30M", "PT30M"), ("pt10s", "PT10S"), ("PT1H", "PT1H"), ("P1D", "P1D"),
                                           ("P1M", "P1M"), ("PT1H30M", "PT1H30M")])
def test_steps_parse_iso_8601(text: str, iso: str) -> None:
    assert Step.parse(text).iso == iso


@pytest.mark.parametrize("bad", ["30M", "P", "PT", "P1DT1H", "P-1D", ""])
def test_bad_steps_say_why(bad: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        Step.parse(bad)


def test_series_checks_unit_and_step() -> None:
    with pytest.raises(ValueError, match="unknown unit"):
        Series("s", SeriesKind.CONSUMPTION, "kW")
    with pytest.raises(ValueError, match="fixed step"):
        Series("s", SeriesKind.CONSUMPTION, "W", Step.parse("P1D"))
    assert Series("e", SeriesKind.CONSUMPTION, "Wh", Step.parse("P1D")).is_additive


def test_transformer_rejects_double_feed() -> None:
    with pytest.raises(ValueError, match="twice"):
        Transformer("t1", "T1", 400, prms=("30001234567890", "30001234567890"))
