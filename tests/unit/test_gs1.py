"""Reading vial codes as a keyboard-wedge scanner types them.

The GTINs are examples under GS1's prefix 950 (GS1 Global Office, used in
GS1's own documentation), not any manufacturer's real product.
"""

from datetime import date

import pytest

from fridge_monitor.core.gs1 import Scan, ScanError, normalise_gtin, parse_scan

GTIN = "09506000134352"  # example GTIN from GS1's documentation (valid check digit 2)
GS = "\x1d"


def test_example_gtins_have_valid_check_digits():
    assert normalise_gtin(GTIN) == GTIN
    assert normalise_gtin("09506000134376") == "09506000134376"


def test_datamatrix_with_symbology_prefix_and_gs():
    assert parse_scan(f"]d201{GTIN}17270131" f"10C3709C3{GS}21SN000123") == Scan(
        gtin=GTIN, lot="C3709C3", expiry=date(2027, 1, 31), serial="SN000123")


def test_without_prefix_and_with_the_enter_key_the_scanner_appends():
    assert parse_scan(f"01{GTIN}1727013110C3709C3{GS}21SN000123\r\n") == Scan(
        gtin=GTIN, lot="C3709C3", expiry=date(2027, 1, 31), serial="SN000123")


def test_fields_in_any_order():
    assert parse_scan(f"]d221SN1{GS}10AB-12{GS}01{GTIN}17261115") == Scan(
        gtin=GTIN, lot="AB-12", expiry=date(2026, 11, 15), serial="SN1")


def test_human_readable_form():
    assert parse_scan(f"(01){GTIN}(17)270131(10)C3709C3(21)SN000123") == Scan(
        gtin=GTIN, lot="C3709C3", expiry=date(2027, 1, 31), serial="SN000123")
    assert parse_scan(f" (01) {GTIN} (17) 270131 (10) C3709C3 ") == Scan(
        gtin=GTIN, lot="C3709C3", expiry=date(2027, 1, 31))


def test_gs_picture_character_counts_as_gs():
    assert parse_scan(f"01{GTIN}10LOT1\u241d17270131") == Scan(gtin=GTIN, lot="LOT1", expiry=date(2027, 1, 31))


def test_leading_fnc1_and_other_symbologies_of_gs1_codes():
    assert parse_scan(f"{GS}01{GTIN}17270131").gtin == GTIN
    assert parse_scan(f"]C101{GTIN}17270131").expiry == date(2027, 1, 31)  # GS1-128
    assert parse_scan(f"]Q301{GTIN}17270131").expiry == date(2027, 1, 31)  # GS1 QR Code


@pytest.mark.parametrize(("yymmdd", "expected"), [
    ("240200", date(2024, 2, 29)),  # leap year
    ("250200", date(2025, 2, 28)),
    ("280200", date(2028, 2, 29)),
    ("260400", date(2026, 4, 30)),
    ("251200", date(2025, 12, 31)),
    ("270100", date(2027, 1, 31)),
    ("270215", date(2027, 2, 15)),
])
def test_expiry_day_00_is_the_last_day_of_the_month(yymmdd, expected):
    assert parse_scan(f"01{GTIN}17{yymmdd}10L1").expiry == expected
    assert parse_scan(f"(01){GTIN}(17){yymmdd}(10)L1").expiry == expected


def test_lot_glued_to_an_expiry_without_gs_is_refused():
    # The lot is LOT123, then (17) 2027-01-31 — but without GS it reads as lot LOT12317270131.
    with pytest.raises(ScanError) as caught:
        parse_scan(f"01{GTIN}10LOT12317270131")
    message = str(caught.value)
    assert "ambiguous" in message and "'LOT12317270131'" in message
    assert "'LOT123' followed by expiry date (17) 2027-01-31" in message
    assert "GS" in message


def test_glued_expiry_is_refused_even_when_the_scan_has_another_expiry():
    with pytest.raises(ScanError, match="'LOT123' followed by expiry date"):
        parse_scan(f"01{GTIN}1725020010LOT12317270131")


def test_lot_glued_to_a_serial_in_a_scan_without_any_gs_is_refused():
    with pytest.raises(ScanError, match=r"'LOT1' followed by serial \(21\) 'SN000123'"):
        parse_scan(f"01{GTIN}1727013110LOT121SN000123")


def test_lot_and_serial_glued_with_an_expiry_between_are_refused():
    with pytest.raises(ScanError, match="'LOT123' followed by expiry date .* serial"):
        parse_scan(f"01{GTIN}10LOT1231727013121SN9")


def test_a_lot_that_overflows_its_20_characters_is_a_missing_separator():
    with pytest.raises(ScanError, match=r"lot \(10\) field runs into the next field without a GS separator"):
        parse_scan(f"01{GTIN}10ABCDEFGHIJKLMNOPQRST21SERIAL")


def test_scanner_that_sends_gs_is_trusted_for_a_lot_containing_21():
    # GS elsewhere in the scan shows the scanner sends separators, so the last field really ends there.
    assert parse_scan(f"01{GTIN}21SN9{GS}17270131" f"10C2112").lot == "C2112"
    assert parse_scan(f"(01){GTIN}(17)270131(10)C2112").lot == "C2112"


def test_lot_last_without_any_gs_reads_plainly_when_nothing_could_hide_in_it():
    assert parse_scan(f"01{GTIN}1727013110C3709C3") == Scan(gtin=GTIN, lot="C3709C3", expiry=date(2027, 1, 31))
    assert parse_scan(f"01{GTIN}1727013110C3710C3").lot == "C3710C3"  # '10C3' inside: the scan holds a lot already


def test_wrong_check_digit_is_refused():
    with pytest.raises(ScanError, match=r"GTIN 09506000134353 has a wrong check digit \(expected 2, got 3\)"):
        parse_scan(f"01{GTIN[:-1]}31727013110L1")
    with pytest.raises(ScanError, match="wrong check digit"):
        parse_scan(f"(01){GTIN[:-1]}3(17)270131")


@pytest.mark.parametrize("junk", [
    "hello",
    "C3709C3",
    f"01{GTIN}{GS}7777",
    f"01{GTIN}XX",
    "]d2ABC",
])
def test_junk_is_refused_with_a_message_naming_the_problem(junk):
    with pytest.raises(ScanError, match="does not start with a GS1 application identifier"):
        parse_scan(junk)


def test_malformed_fields_are_named():
    with pytest.raises(ScanError, match=r"expiry date \(17\) field '240231' is not a valid date"):
        parse_scan(f"01{GTIN}17240231")
    with pytest.raises(ScanError, match=r"expiry date \(17\) field '241301' is not a valid date"):
        parse_scan(f"01{GTIN}17241301")
    with pytest.raises(ScanError, match=r"GTIN \(01\) field '0950600' does not fit its format N2\+N14"):
        parse_scan("010950600")
    with pytest.raises(ScanError, match="as \\(AI\\)value pairs"):
        parse_scan("(01)0950600(17)270131")


def test_other_symbologies_and_codes_without_gtin_are_refused():
    with pytest.raises(ScanError, match=r"symbology \]E0 \(EAN UPC\), not a GS1 code"):
        parse_scan("]E05901234123457")
    with pytest.raises(ScanError, match=r"no GTIN \(01\)"):
        parse_scan(f"17270131" f"10LOT1{GS}21S1")
    with pytest.raises(ScanError, match="empty"):
        parse_scan(" \r\n")


def test_two_different_values_for_one_field_are_refused():
    with pytest.raises(ScanError, match=r"two different lot \(10\) values, 'A' and 'B'"):
        parse_scan(f"01{GTIN}10A{GS}10B")


def test_other_application_identifiers_are_kept_apart():
    scan = parse_scan(f"01{GTIN}17270131" f"240ABC{GS}10L1")
    assert scan.lot == "L1" and scan.others == (("240", "ABC"),)


def test_normalise_gtin():
    assert normalise_gtin("9506000134352") == GTIN
    assert normalise_gtin(f" {GTIN} ") == GTIN
    with pytest.raises(ScanError, match="wrong check digit"):
        normalise_gtin("9506000134353")
    with pytest.raises(ScanError, match="is not a GTIN"):
        normalise_gtin("95060001343")
    with pytest.raises(ScanError, match="is not a GTIN"):
        normalise_gtin("ABC")


ALLOWED = "letters A–Z a–z, digits and ! \" % & ' ( ) * + , - . / : ; < = > ? _"


@pytest.mark.parametrize(("scan", "message"), [
    (f"01{GTIN}10AB C{GS}17270131",
     f"the lot (10) 'AB C' contains \" \" (a space), which GS1 does not allow in a lot; "
     f"the allowed characters are {ALLOWED} — scan again (if it recurs, check the scanner's keyboard layout), "
     "or type the lot by hand as printed on the pack"),
    (f"01{GTIN}10AB C", "the lot (10) 'AB C' contains \" \" (a space), which GS1 does not allow in a lot; "),
    (f"]d201{GTIN}1727013110abé", "the lot (10) 'abé' contains \"é\", which GS1 does not allow in a lot; "),
    (f"01{GTIN}10abé{GS}21SN1", "the lot (10) 'abé' contains \"é\", which GS1 does not allow in a lot; "),
    (f"01{GTIN}10 AB", "the lot (10) ' AB' contains \" \" (a space), which GS1 does not allow in a lot; "),
    (f"01{GTIN}10AB\tC", "the lot (10) 'AB\\tC' contains a tab, which GS1 does not allow in a lot; "),
    (f"01{GTIN}10L1{GS}21S N1",
     "the serial (21) 'S N1' contains \" \" (a space), which GS1 does not allow in a serial; "),
    # The human-readable form: spaces around a value are layout, inside a lot they are not (biip alone would
    # read 'AB C' as lot 'ABC').
    (f"(01){GTIN}(17)270131(10)AB C", "the lot (10) 'AB C' contains \" \" (a space), which GS1 does not allow"),
    (f"(01){GTIN}(10)abé(17)270131", "the lot (10) 'abé' contains \"é\", which GS1 does not allow in a lot; "),
])
def test_a_character_gs1_does_not_allow_is_named_not_taken_for_a_missing_separator(scan, message):
    with pytest.raises(ScanError) as caught:
        parse_scan(scan)
    assert str(caught.value).startswith(message)
    assert "maximum length" not in str(caught.value) and ALLOWED in str(caught.value)


def test_every_character_gs1_allows_in_a_lot_reads():
    assert parse_scan(f"01{GTIN}10az!\"%&'()*+,-./{GS}21AZ09:;<=>?_{GS}17270131") == Scan(
        gtin=GTIN, lot="az!\"%&'()*+,-./", serial="AZ09:;<=>?_", expiry=date(2027, 1, 31))


def test_a_field_past_its_maximum_length_is_still_a_missing_separator_whatever_follows():
    with pytest.raises(ScanError, match=r"runs into the next field without a GS separator .*'é' left over"):
        parse_scan(f"01{GTIN}10ABCDEFGHIJKLMNOPQRSTé")
